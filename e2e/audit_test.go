package e2e

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// The identity of the demo's hand-made commit: a person, not the gate.
const (
	personName  = "Alice"
	personEmail = "alice@example.com"
)

// gateSigningKey is the OpenPGP key the demo's gate signs its commits
// with: the armored private key goes into the ImageGate's signingKey
// Secret (`git.asc`), the public key into the keyring `imagegate audit`
// trusts. OpenPGP rather than SSH because both sides sign and verify in
// process, so the demo needs no gpg or ssh-keygen.
type gateSigningKey struct {
	private []byte // armored private key, the Secret's git.asc
	keyring string // file holding the armored public key
}

func newGateSigningKey(t *testing.T) gateSigningKey {
	t.Helper()
	entity, err := openpgp.NewEntity("imagegate", "demo", "imagegate@example.com", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	must(t, err)
	var pub, priv bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	must(t, err)
	must(t, entity.Serialize(w))
	must(t, w.Close())
	w, err = armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	must(t, err)
	must(t, entity.SerializePrivateWithoutSigning(w, nil))
	must(t, w.Close())
	keyring := filepath.Join(t.TempDir(), "imagegate.asc")
	must(t, os.WriteFile(keyring, pub.Bytes(), 0o600))
	return gateSigningKey{private: priv.Bytes(), keyring: keyring}
}

// gitCLI runs git in dir, isolated from the user's and system's
// configuration, as personName; it returns stdout and fails the test with
// git's stderr.
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_AUTHOR_NAME=" + personName, "GIT_AUTHOR_EMAIL=" + personEmail,
		"GIT_COMMITTER_NAME=" + personName, "GIT_COMMITTER_EMAIL=" + personEmail,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// handMadeCommit clones repoURL and commits, without pushing, what a
// person in a hurry would: file's image replaced by ref, no trailers, no
// signature. It returns the clone and the commit.
func handMadeCommit(t *testing.T, repoURL, file, from, ref string) (clone, commit string) {
	t.Helper()
	clone = filepath.Join(t.TempDir(), "fleet")
	gitCLI(t, filepath.Dir(clone), "clone", "-q", "--branch", "main", repoURL, clone)
	path := filepath.Join(clone, filepath.FromSlash(file))
	old, err := os.ReadFile(path)
	must(t, err)
	if !bytes.Contains(old, []byte(from)) {
		t.Fatalf("%s does not hold %s:\n%s", file, from, old)
	}
	must(t, os.WriteFile(path, bytes.ReplaceAll(old, []byte(from), []byte(ref)), 0o644))
	gitCLI(t, clone, "-c", "commit.gpgSign=false", "commit", "-q", "-a", "-m", "Pin web 1.1.0 by hand")
	return clone, strings.TrimSpace(gitCLI(t, clone, "rev-parse", "HEAD"))
}

// runAudit runs `imagegate audit` (the binary bin) with args and returns
// its exit status and output.
func runAudit(t *testing.T, bin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := exec.Command(bin, append([]string{"audit"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		code = exit.ExitCode()
	default:
		t.Fatalf("run imagegate audit: %v", err)
	}
	return code, out.String(), errOut.String()
}

// auditRow finds the audit table's line for commit and returns its BY
// column and its last column, FINDINGS.
func auditRow(table, commit string) (by, findings string, ok bool) {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == commit[:12] {
			return f[2], f[len(f)-1], true
		}
	}
	return "", "", false
}
