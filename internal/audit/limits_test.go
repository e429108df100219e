package audit_test

import (
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/audit"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestRunSkipsFilesOverMaxFileBytes: a marked file one byte over the
// limit is reported skipped, never parsed; at the limit it is read.
func TestRunSkipsFilesOverMaxFileBytes(t *testing.T) {
	t.Parallel()
	r := testenv.NewLocalRepo(t)
	content := manifest("apps:app", "ghcr.io/org/app:v1@"+digest(1))
	r.Write(t, map[string]string{"app.yaml": content})
	commit := r.Commit(t, "Pin app", testenv.CommitOptions{})
	over := runAudit(t, audit.Options{Repo: r.Dir, MaxFileBytes: int64(len(content) - 1)})
	if len(over.Entries) != 0 || len(over.Skipped) != 1 || over.Skipped[0].Commit != commit || over.Skipped[0].File != "app.yaml" ||
		!strings.Contains(over.Skipped[0].Reason, "object too big") {
		t.Fatalf("over the limit: entries %+v skipped %+v, want app.yaml skipped as too big", over.Entries, over.Skipped)
	}
	at := runAudit(t, audit.Options{Repo: r.Dir, MaxFileBytes: int64(len(content))})
	if len(at.Entries) != 1 || len(at.Skipped) != 0 {
		t.Fatalf("at the limit: entries %+v skipped %+v, want the one entry", at.Entries, at.Skipped)
	}
}

// TestRunReportsUnparsableFilesSkipped: a marked file that is not YAML
// cannot hide a reference silently.
func TestRunReportsUnparsableFilesSkipped(t *testing.T) {
	t.Parallel()
	r := testenv.NewLocalRepo(t)
	r.Write(t, map[string]string{"app.yaml": "a: [\nimage: x # {\"$imagepolicy\": \"apps:app\"}\n", "notes.txt": "{\"$imagepolicy\": \"a:b\"}"})
	r.Commit(t, "Broken", testenv.CommitOptions{})
	rep := runAudit(t, audit.Options{Repo: r.Dir})
	if len(rep.Entries) != 0 || len(rep.Skipped) != 1 || rep.Skipped[0].File != "app.yaml" || !strings.Contains(rep.Skipped[0].Reason, "not valid YAML") {
		t.Fatalf("entries %+v skipped %+v, want app.yaml skipped as invalid YAML and notes.txt ignored", rep.Entries, rep.Skipped)
	}
}

// TestRunFailsOnCommitOverMaxCommitBytes: a commit object over 1 MiB
// ends the audit with an error (exit 3) rather than being judged on part
// of its message.
func TestRunFailsOnCommitOverMaxCommitBytes(t *testing.T) {
	t.Parallel()
	r := testenv.NewLocalRepo(t)
	r.Write(t, map[string]string{"app.yaml": manifest("apps:app", "ghcr.io/org/app:v1@"+digest(1))})
	r.Commit(t, "Pin\n\n"+strings.Repeat("x", 1<<20), testenv.CommitOptions{})
	_, err := audit.Run(t.Context(), audit.Options{Repo: r.Dir})
	if err == nil || !strings.Contains(err.Error(), "object too big") {
		t.Fatalf("err = %v, want the commit reported too big", err)
	}
}
