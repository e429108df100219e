package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/testenv"
)

// remoteAuditRepo serves auditRepo's history on main of a real
// smart-HTTP Git server over TLS with basic auth, and returns the local
// repository, the allowed-signers file, the clone URL and the flags that
// authenticate (password and CA from files).
func remoteAuditRepo(t *testing.T) (local *testenv.LocalRepo, allowed, url string, auth []string) {
	t.Helper()
	local, allowed, _, _ = auditRepo(t)
	srv := testenv.NewGitServer(t, testenv.WithTLS(), testenv.WithBasicAuth("auditor", "pw-for-audit"))
	url = srv.CreateRepo(t, "fleet", nil)
	local.Git(t, "push", "--quiet", "--force", srv.RepoDir("fleet"), "main:main")
	dir := t.TempDir()
	pw, ca := filepath.Join(dir, "password"), filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(pw, []byte("pw-for-audit\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ca, srv.CACert(), 0o600); err != nil {
		t.Fatal(err)
	}
	return local, allowed, url, []string{"--username", "auditor", "--password-file", pw, "--ca-file", ca}
}

// TestAuditByURLMatchesLocalClone: the audit of a URL (cloned over HTTPS
// with basic auth and a CA from files) reports exactly what the audit of
// a local clone of the same branch reports, in every output format, and
// leaves no clone behind.
//
// Not parallel: it points TMPDIR at a directory it inspects.
func TestAuditByURLMatchesLocalClone(t *testing.T) {
	local, allowed, url, auth := remoteAuditRepo(t)
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, output := range []string{"json", "table", "github"} {
		wantCode, want, _ := runAuditCLI(t, "--repo", local.Dir, "--branch", "main", "--allowed-signers", allowed, "--output", output)
		for _, branch := range []string{"main", "HEAD"} {
			args := append([]string{"--repo", url, "--branch", branch, "--allowed-signers", allowed, "--output", output}, auth...)
			code, got, errOut := runAuditCLI(t, args...)
			if branch == "HEAD" {
				// The report names the branch asked for.
				got = strings.ReplaceAll(got, `"branch": "HEAD"`, `"branch": "main"`)
			}
			if code != wantCode || got != want {
				t.Errorf("--output %s --branch %s of the URL: exit %d\n%s\nstderr: %s\nwant exit %d and what the local clone gives:\n%s", output, branch, code, got, errOut, wantCode, want)
			}
		}
	}
	left, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Fatalf("%d entries left in TMPDIR after the audits, want the clones removed: %v", len(left), left)
	}
}

// TestAuditByURLExitStatuses: what the caller must fix (refused
// credentials, an untrusted server certificate, a missing branch or
// repository, a password on the command line) exits 2; a clone over
// --max-clone-bytes or a server that cannot be reached exits 3.
func TestAuditByURLExitStatuses(t *testing.T) {
	t.Parallel()
	_, allowed, url, auth := remoteAuditRepo(t)
	wrong := filepath.Join(t.TempDir(), "wrong")
	if err := os.WriteFile(wrong, []byte("not-the-password"), 0o600); err != nil {
		t.Fatal(err)
	}
	withPassword := strings.Replace(url, "https://", "https://auditor:pw-for-audit@", 1)
	pit := testenv.NewTarpit(t, "", nil)
	for _, tc := range []struct {
		name    string
		args    []string
		want    int
		stderrs string
	}{
		{"right credentials", append([]string{"--repo", url}, auth...), auditFinding, ""},
		{"wrong password", []string{"--repo", url, "--username", "auditor", "--password-file", wrong, "--ca-file", auth[5]}, auditUsage, "git authentication failed"},
		{"no credentials", []string{"--repo", url, "--ca-file", auth[5]}, auditUsage, "git authentication failed"},
		{"CA not trusted", []string{"--repo", url, "--username", "auditor", "--password-file", auth[3]}, auditUsage, "git authentication failed"},
		{"missing branch", append([]string{"--repo", url, "--branch", "nope"}, auth...), auditUsage, "git branch not found"},
		{"missing repository", append([]string{"--repo", strings.TrimSuffix(url, "fleet.git") + "none.git"}, auth...), auditUsage, "git repository not found"},
		{"password in the URL", []string{"--repo", withPassword, "--ca-file", auth[5]}, auditUsage, "--password-file"},
		{"credentials with a local path", append([]string{"--repo", t.TempDir()}, auth...), auditUsage, "only with a --repo URL"},
		{"missing credential file", []string{"--repo", url, "--password-file", filepath.Join(t.TempDir(), "none")}, auditUsage, "--password-file"},
		{"over --max-clone-bytes", append([]string{"--repo", url, "--max-clone-bytes", "100"}, auth...), auditUnavailable, "exceeds the size limit"},
		{"server never answers", []string{"--repo", "http://" + pit.Addr() + "/fleet.git", "--timeout", "1s"}, auditUnavailable, "timed out"},
	} {
		args := append([]string{"--allowed-signers", allowed}, tc.args...)
		code, out, errOut := runAuditCLI(t, args...)
		if code != tc.want || !strings.Contains(errOut, tc.stderrs) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q\n%s", tc.name, code, errOut, tc.want, tc.stderrs, out)
		}
		if strings.Contains(errOut, "pw-for-audit") {
			t.Errorf("%s: stderr quotes the password: %s", tc.name, errOut)
		}
	}
}
