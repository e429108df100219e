package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/testenv"
)

// auditRepo holds a gate commit signed with the allowed key, then a
// person's unsigned commit pinning a tag-only image: one missing-trailer
// and one tag-only finding. It returns the repository, the
// allowed-signers file and the two commits.
func auditRepo(t *testing.T) (repo *testenv.LocalRepo, allowed string, gate, person string) {
	t.Helper()
	key := testenv.NewSSHSigningKey(t)
	r := testenv.NewLocalRepo(t)
	ref := "ghcr.io/org/app:v1@sha256:" + strings.Repeat("ab", 32)
	r.Write(t, map[string]string{"deploy/app.yaml": "image: " + ref + ` # {"$imagepolicy": "apps:app"}` + "\n"})
	gate = r.Commit(t, "Update images verified by imagegate\n\nVerified-Image: "+ref+"\nVerified-Policy: release (sha256:1)\n",
		testenv.CommitOptions{Name: "imagegate", Email: "imagegate@example.test", Key: key})
	r.Write(t, map[string]string{"deploy/app.yaml": `image: ghcr.io/org/app:hotfix # {"$imagepolicy": "apps:app"}` + "\n"})
	person = r.Commit(t, "Hotfix", testenv.CommitOptions{Name: "Alice", Email: "alice@example.test"})
	allowed = filepath.Join(t.TempDir(), "allowed_signers")
	if err := os.WriteFile(allowed, []byte("imagegate@example.test "+key.Authorized+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return r, allowed, gate, person
}

func runAuditCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(t.Context(), append([]string{"audit"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestAuditExitStatuses(t *testing.T) {
	t.Parallel()
	r, allowed, gate, _ := auditRepo(t)
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"findings", []string{"--repo", r.Dir, "--allowed-signers", allowed}, auditFinding},
		{"findings not selected", []string{"--repo", r.Dir, "--allowed-signers", allowed, "--fail-on", "unsigned-commit,exception"}, auditClean},
		{"tag-only selected", []string{"--repo", r.Dir, "--allowed-signers", allowed, "--fail-on", "tag-only"}, auditFinding},
		{"clean history", []string{"--repo", r.Dir, "--allowed-signers", allowed, "--branch", gate}, auditClean},
		{"unknown finding", []string{"--repo", r.Dir, "--fail-on", "bogus"}, auditUsage},
		{"unknown output", []string{"--repo", r.Dir, "--output", "sarif"}, auditUsage},
		{"not a repository", []string{"--repo", t.TempDir()}, auditUsage},
		{"unknown branch", []string{"--repo", r.Dir, "--branch", "nope"}, auditUsage},
		{"missing allowed signers", []string{"--repo", r.Dir, "--allowed-signers", filepath.Join(t.TempDir(), "none")}, auditUsage},
		{"stray argument", []string{"--repo", r.Dir, "extra"}, auditUsage},
	} {
		if code, out, errOut := runAuditCLI(t, tc.args...); code != tc.want {
			t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.name, code, tc.want, out, errOut)
		}
	}
}

// TestAuditExitsUnavailableWhenHistoryCannotBeRead: a commit over the
// 1 MiB commit bound ends the walk: exit 3, never a partial "clean".
func TestAuditExitsUnavailableWhenHistoryCannotBeRead(t *testing.T) {
	t.Parallel()
	r := testenv.NewLocalRepo(t)
	r.Write(t, map[string]string{"app.yaml": `image: ghcr.io/org/app:v1 # {"$imagepolicy": "apps:app"}` + "\n"})
	r.Commit(t, "Pin\n\n"+strings.Repeat("x", 1<<20), testenv.CommitOptions{})
	if code, _, errOut := runAuditCLI(t, "--repo", r.Dir); code != auditUnavailable || !strings.Contains(errOut, "object too big") {
		t.Fatalf("exit %d, stderr %q; want %d and the commit named too big", code, errOut, auditUnavailable)
	}
}

func TestAuditTableOutput(t *testing.T) {
	t.Parallel()
	r, allowed, gate, person := auditRepo(t)
	_, out, _ := runAuditCLI(t, "--repo", r.Dir, "--allowed-signers", allowed)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("table has %d lines, want header, 2 entries, summary:\n%s", len(lines), out)
	}
	for i, want := range [][]string{
		{"COMMIT", "BY", "SIGNATURE", "FILE:LINE", "IMAGE", "FINDINGS"},
		{gate[:12], "imagegate", "imagegate@example.test SHA256:", "deploy/app.yaml:1", "ghcr.io/org/app:v1@sha256:abab", " -"},
		{person[:12], "person:Alice <alice@example.test>", "none", "ghcr.io/org/app:hotfix", "missing-trailer,tag-only"},
		{"2 commits audited, 2 changed images, 2 entries, 2 findings (missing-trailer=1 tag-only=1)"},
	} {
		for _, w := range want {
			if !strings.Contains(lines[i], w) {
				t.Errorf("line %d %q lacks %q", i, lines[i], w)
			}
		}
	}
}

func TestAuditJSONOutput(t *testing.T) {
	t.Parallel()
	r, allowed, gate, person := auditRepo(t)
	code, out, _ := runAuditCLI(t, "--repo", r.Dir, "--allowed-signers", allowed, "--output", "json")
	if code != auditFinding {
		t.Fatalf("exit %d, want %d", code, auditFinding)
	}
	var got struct {
		SchemaVersion int            `json:"schemaVersion"`
		Head          string         `json:"head"`
		Commits       int            `json:"commits"`
		Findings      map[string]int `json:"findings"`
		Skipped       []any          `json:"skipped"`
		Entries       []struct {
			Commit    string `json:"commit"`
			By        string `json:"by"`
			File      string `json:"file"`
			Line      int    `json:"line"`
			Image     string `json:"image"`
			Signature struct {
				Status string `json:"status"`
			} `json:"signature"`
			Findings []string `json:"findings"`
			Settled  bool     `json:"settled"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.SchemaVersion != 1 || got.Head != person || got.Commits != 2 || len(got.Entries) != 2 || got.Skipped == nil {
		t.Fatalf("report %+v, want schema 1, head %s, 2 commits, 2 entries, skipped []", got, person)
	}
	wantCounts := map[string]int{"unsigned-commit": 0, "missing-trailer": 1, "trailer-mismatch": 0, "tag-only": 1, "exception": 0, "expired-exception": 0, "no-longer-verifies": 0}
	if fmt.Sprint(got.Findings) != fmt.Sprint(wantCounts) {
		t.Fatalf("findings %v, want every kind counted: %v", got.Findings, wantCounts)
	}
	e0, e1 := got.Entries[0], got.Entries[1]
	if e0.Commit != gate || e0.By != "imagegate" || e0.Signature.Status != "allowed" || e0.Findings == nil || len(e0.Findings) != 0 || e0.File != "deploy/app.yaml" || e0.Line != 1 {
		t.Fatalf("gate entry %+v", e0)
	}
	if e1.Commit != person || e1.By != "person" || e1.Image != "ghcr.io/org/app:hotfix" || fmt.Sprint(e1.Findings) != "[missing-trailer tag-only]" {
		t.Fatalf("person entry %+v", e1)
	}
}

func TestAuditGitHubOutput(t *testing.T) {
	t.Parallel()
	r, allowed, _, person := auditRepo(t)
	_, out, _ := runAuditCLI(t, "--repo", r.Dir, "--allowed-signers", allowed, "--output", "github", "--fail-on", "tag-only")
	want := "::error file=deploy/app.yaml,line=1,title=imagegate audit%3A missing-trailer%2Ctag-only::commit " + person[:12] +
		" by Alice <alice@example.test> (person) introduced ghcr.io/org/app:hotfix; signature none\n" +
		"::notice title=imagegate audit::2 commits audited, 2 changed images, 2 entries, 2 findings (missing-trailer=1 tag-only=1)\n"
	if out != want {
		t.Fatalf("github output:\n%s\nwant:\n%s", out, want)
	}
	_, out, _ = runAuditCLI(t, "--repo", r.Dir, "--allowed-signers", allowed, "--output", "github", "--fail-on", "exception")
	if !strings.HasPrefix(out, "::warning file=deploy/app.yaml,") {
		t.Fatalf("findings outside --fail-on are not warnings:\n%s", out)
	}
}

// TestAuditAllImagesFlag: a person's unmarked Pod image is a finding
// only with --all-images.
func TestAuditAllImagesFlag(t *testing.T) {
	t.Parallel()
	r := testenv.NewLocalRepo(t)
	r.Write(t, map[string]string{"pod.yaml": "apiVersion: v1\nkind: Pod\nspec:\n  containers: [{name: c, image: ghcr.io/org/app:v1}]\n"})
	r.Commit(t, "Add a pod", testenv.CommitOptions{})
	if code, out, _ := runAuditCLI(t, "--repo", r.Dir); code != auditClean {
		t.Errorf("without --all-images: exit %d, want %d\n%s", code, auditClean, out)
	}
	code, out, _ := runAuditCLI(t, "--repo", r.Dir, "--all-images")
	if code != auditFinding || !strings.Contains(out, "pod.yaml:4") || !strings.Contains(out, "missing-trailer,tag-only") {
		t.Errorf("with --all-images: exit %d, want %d and pod.yaml:4 found\n%s", code, auditFinding, out)
	}
}
