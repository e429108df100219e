package testenv

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// LocalRepo is a repository on disk built commit by commit with the real
// git CLI, isolated from the user's and system's configuration. Commit
// times start at LocalRepoEpoch and advance one minute per commit, so
// histories are reproducible.
type LocalRepo struct {
	Dir  string
	home string
	tick int
}

// LocalRepoEpoch is the committer time of a LocalRepo's first commit.
var LocalRepoEpoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// NewLocalRepo runs `git init` on branch main in a temporary directory.
func NewLocalRepo(t testing.TB) *LocalRepo {
	t.Helper()
	r := &LocalRepo{Dir: t.TempDir(), home: t.TempDir()}
	r.Git(t, "init", "-q", "-b", "main")
	return r
}

// Git runs git in the repository as GitServerAuthorName and returns its
// stdout; a failure fails the test with git's stderr.
func (r *LocalRepo) Git(t testing.TB, args ...string) string {
	t.Helper()
	return r.GitAs(t, GitServerAuthorName, GitServerAuthorEmail, args...)
}

// GitAs runs git with the given author and committer identity.
func (r *LocalRepo) GitAs(t testing.TB, name, email string, args ...string) string {
	t.Helper()
	when := fmt.Sprintf("%d +0000", LocalRepoEpoch.Add(time.Duration(r.tick)*time.Minute).Unix())
	cmd := exec.Command("git", args...)
	cmd.Dir = r.Dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + r.home, "LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=gc.auto", "GIT_CONFIG_VALUE_0=0",
		"GIT_AUTHOR_NAME=" + name, "GIT_AUTHOR_EMAIL=" + email,
		"GIT_COMMITTER_NAME=" + name, "GIT_COMMITTER_EMAIL=" + email,
		"GIT_AUTHOR_DATE=" + when, "GIT_COMMITTER_DATE=" + when,
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("local repo: git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

// Write writes files (slash paths relative to the repository); an empty
// content removes the file.
func (r *LocalRepo) Write(t testing.TB, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(r.Dir, filepath.FromSlash(name))
		if content == "" {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// CommitOptions say who commits and how.
type CommitOptions struct {
	Name, Email string
	// Key signs the commit with `git commit -S` (gpg.format=ssh, so
	// `ssh-keygen -Y sign`, as a person or the gate configured to sign
	// with SSH would); nil leaves it unsigned.
	Key *SSHSigningKey
}

// Commit stages everything and commits it with message; it returns the
// commit's hash.
func (r *LocalRepo) Commit(t testing.TB, message string, o CommitOptions) string {
	t.Helper()
	r.Git(t, "add", "-A")
	// -F: a message may be larger than the argument list allows.
	msg := filepath.Join(r.home, "message")
	if err := os.WriteFile(msg, []byte(message), 0o600); err != nil {
		t.Fatal(err)
	}
	r.Run(t, o, "commit", "-q", "--allow-empty", "--cleanup=verbatim", "-F", msg)
	return r.Head(t)
}

// Run runs a git command that makes a commit (commit, merge, revert) as
// o's identity, signed with o.Key when set.
func (r *LocalRepo) Run(t testing.TB, o CommitOptions, args ...string) {
	t.Helper()
	if o.Name == "" {
		o.Name, o.Email = GitServerAuthorName, GitServerAuthorEmail
	}
	pre := []string{"-c", "commit.gpgSign=false"}
	if o.Key != nil {
		pre = []string{"-c", "gpg.format=ssh", "-c", "user.signingKey=" + o.Key.PrivateFile, "-c", "commit.gpgSign=true"}
	}
	r.tick++
	r.GitAs(t, o.Name, o.Email, append(pre, args...)...)
}

// Head returns the commit HEAD names.
func (r *LocalRepo) Head(t testing.TB) string {
	t.Helper()
	return strings.TrimSpace(r.Git(t, "rev-parse", "HEAD"))
}

// SSHSigningKey is an ed25519 key in an OpenSSH private key file, for
// `git commit -S` with gpg.format=ssh.
type SSHSigningKey struct {
	PrivateFile string
	// Authorized is the "ssh-ed25519 AAAA..." public key line.
	Authorized string
}

// NewSSHSigningKey generates a key; it needs ssh-keygen on PATH to sign
// (git runs `ssh-keygen -Y sign`; .ci/run installs openssh-client), and
// fails the test without it rather than skip what it shows.
func NewSSHSigningKey(t testing.TB) *SSHSigningKey {
	t.Helper()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatal("ssh-keygen is needed by git to sign with SSH: install openssh-client (.ci/run does)")
	}
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(key, "imagegate test")
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "id_ed25519")
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return &SSHSigningKey{PrivateFile: file, Authorized: strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))}
}
