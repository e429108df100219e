package audit_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/imagegate/imagegate/internal/audit"
	"github.com/imagegate/imagegate/internal/testenv"
)

// gateCommit makes one gate-style commit signed with key and returns the
// repository.
func gateCommit(t *testing.T, key *testenv.SSHSigningKey) *testenv.LocalRepo {
	t.Helper()
	r := testenv.NewLocalRepo(t)
	ref := "ghcr.io/org/app:v1@" + digest(1)
	r.Write(t, map[string]string{"app.yaml": manifest("apps:app", ref)})
	r.Commit(t, gateMessage(ref), testenv.CommitOptions{Name: "imagegate", Email: "imagegate@example.test", Key: key})
	return r
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestSSHAllowedSignersOptions checks the allowed-signers lines the way
// `git verify-commit` with gpg.ssh.allowedSignersFile reads them: the key
// must be listed, its namespaces admit "git", and the commit time (2026-01-01)
// lie within valid-after and valid-before.
func TestSSHAllowedSignersOptions(t *testing.T) {
	t.Parallel()
	key, other := testenv.NewSSHSigningKey(t), testenv.NewSSHSigningKey(t)
	r := gateCommit(t, key)
	for _, tc := range []struct {
		line, want string
	}{
		{"gate " + key.Authorized, audit.SignatureAllowed},
		{"gate,ops namespaces=\"git,file\" " + key.Authorized + " comment", audit.SignatureAllowed},
		{"gate valid-after=\"20251231\",valid-before=\"20260102Z\" " + key.Authorized, audit.SignatureAllowed},
		{"gate " + other.Authorized, audit.SignatureNotAllowed},
		{"gate namespaces=\"file\" " + key.Authorized, audit.SignatureNotAllowed},
		{"gate valid-before=\"20251231Z\" " + key.Authorized, audit.SignatureNotAllowed},
		{"gate valid-after=\"20260102Z\" " + key.Authorized, audit.SignatureNotAllowed},
	} {
		signers, err := audit.LoadSigners(writeFile(t, "# gate keys\n\n"+tc.line+"\n"), "")
		if err != nil {
			t.Fatalf("%s: %v", tc.line, err)
		}
		rep := runAudit(t, audit.Options{Repo: r.Dir, Signers: signers})
		if len(rep.Entries) != 1 || rep.Entries[0].Signature.Status != tc.want {
			t.Errorf("%s: entries %+v, want one with signature %s", tc.line, rep.Entries, tc.want)
		}
	}
}

func TestLoadSignersRejectsBadFiles(t *testing.T) {
	t.Parallel()
	key := testenv.NewSSHSigningKey(t)
	for name, content := range map[string]string{
		"empty":          "# nothing\n",
		"cert-authority": "gate cert-authority " + key.Authorized,
		"unknown option": "gate frobnicate " + key.Authorized,
		"bad key":        "gate ssh-ed25519 AAAAnotbase64!",
		"bad time":       "gate valid-after=\"2026\" " + key.Authorized,
		"too big":        strings.Repeat("#", 4<<20+1),
	} {
		if _, err := audit.LoadSigners(writeFile(t, content), ""); err == nil || !strings.Contains(err.Error(), "allowed signers") {
			t.Errorf("%s: err = %v, want an error naming the allowed signers file", name, err)
		}
	}
	for name, content := range map[string]string{"not a key": "not a key", "too big": strings.Repeat("#", 4<<20+1)} {
		if _, err := audit.LoadSigners("", writeFile(t, content)); err == nil || !strings.Contains(err.Error(), "keyring") {
			t.Errorf("keyring %s: err = %v, want an error naming the keyring", name, err)
		}
	}
}

// TestOpenPGPSignedGateCommit signs the commit with go-git's OpenPGP
// signing, as the gate does with a gpg key, and checks it against a
// keyring holding the key, then one without it.
func TestOpenPGPSignedGateCommit(t *testing.T) {
	t.Parallel()
	entity, err := openpgp.NewEntity("imagegate", "", "imagegate@example.test", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	other, err := openpgp.NewEntity("other", "", "other@example.test", &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	r := testenv.NewLocalRepo(t)
	ref := "ghcr.io/org/app:v1@" + digest(1)
	r.Write(t, map[string]string{"app.yaml": manifest("apps:app", ref)})
	r.Git(t, "add", "-A")
	repo, err := git.PlainOpen(r.Dir)
	if err != nil {
		t.Fatal(err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		t.Fatal(err)
	}
	sig := &object.Signature{Name: "imagegate", Email: "imagegate@example.test", When: testenv.LocalRepoEpoch}
	if _, err := wt.Commit(gateMessage(ref), &git.CommitOptions{Author: sig, Committer: sig, SignKey: entity}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		key  *openpgp.Entity
		want string
	}{{entity, audit.SignatureAllowed}, {other, audit.SignatureNotAllowed}} {
		signers, err := audit.LoadSigners("", writeFile(t, armoredPublic(t, tc.key)))
		if err != nil {
			t.Fatal(err)
		}
		rep := runAudit(t, audit.Options{Repo: r.Dir, Signers: signers})
		if len(rep.Entries) != 1 || rep.Entries[0].Signature.Status != tc.want {
			t.Fatalf("entries %+v, want one with signature %s", rep.Entries, tc.want)
		}
		if tc.want == audit.SignatureAllowed && (rep.Entries[0].By != audit.ByGate || len(rep.Entries[0].Findings) != 0) {
			t.Fatalf("entry %+v, want the gate's and clean", rep.Entries[0])
		}
	}
}

func armoredPublic(t *testing.T, e *openpgp.Entity) string {
	t.Helper()
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	return b.String()
}
