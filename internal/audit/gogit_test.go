package audit_test

import (
	"reflect"
	"testing"

	"github.com/imagegate/imagegate/internal/audit"
)

// TestGoGitReaderAgreesWithGitCLI: the in-process reader (for hosts
// without git) reports exactly what the git CLI reader does over the
// history with every finding, a merge, a revert, a rename and a delete.
func TestGoGitReaderAgreesWithGitCLI(t *testing.T) {
	t.Parallel()
	r, c, allowed := history(t)
	signers, err := audit.LoadSigners(allowed, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []audit.Options{
		{Path: "deploy"},
		{Path: ""},
		{Path: "deploy/app.yaml"},
		{Path: "deploy", Since: c["web2"]},
	} {
		o.Repo, o.Branch, o.Signers = r.Dir, "main", signers
		o.Reader = audit.ReaderGit
		want := runAudit(t, o)
		o.Reader = audit.ReaderGoGit
		got := runAudit(t, o)
		if !reflect.DeepEqual(rowsOf(got), rowsOf(want)) || got.Commits != want.Commits || got.Changed != want.Changed {
			t.Fatalf("path %q since %q: go-git reader:\n%s\ngit CLI reader:\n%s", o.Path, o.Since, fmtRows(rowsOf(got)), fmtRows(rowsOf(want)))
		}
		if len(want.Entries) == 0 {
			t.Fatalf("path %q: no entries to compare", o.Path)
		}
	}
}
