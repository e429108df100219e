package audit_test

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/audit"
	"github.com/imagegate/imagegate/internal/testenv"
)

const (
	app    = "ghcr.io/org/app"
	web    = "ghcr.io/org/web"
	worker = "ghcr.io/org/worker"
	api    = "ghcr.io/org/api"
)

// history builds the branch every finding comes from; it returns the
// commits by name and the gate's allowed-signers file.
func history(t *testing.T) (*testenv.LocalRepo, map[string]string, string) {
	t.Helper()
	gateKey, personKey := testenv.NewSSHSigningKey(t), testenv.NewSSHSigningKey(t)
	gate := testenv.CommitOptions{Name: "imagegate", Email: "imagegate@example.test", Key: gateKey}
	alice := testenv.CommitOptions{Name: "Alice", Email: "alice@example.test"}
	aliceSigned := testenv.CommitOptions{Name: "Alice", Email: "alice@example.test", Key: personKey}
	r := testenv.NewLocalRepo(t)
	c := map[string]string{}
	ref := func(name, tag string, d byte) string { return fmt.Sprintf("%s:%s@%s", name, tag, digest(d)) }

	r.Write(t, map[string]string{"deploy/app.yaml": manifest("apps:app", ref(app, "v1", 1)), "README.md": "fleet\n"})
	c["gate1"] = r.Commit(t, gateMessage(ref(app, "v1", 1)), gate)
	r.Write(t, map[string]string{"deploy/app.yaml": manifest("apps:app", ref(app, "v2", 2))})
	c["gate2"] = r.Commit(t, gateMessage(ref(app, "v2", 2)), gate)
	r.Write(t, map[string]string{"deploy/app.yaml": strings.Replace(manifest("apps:app", ref(app, "v2", 2)), "replicas: 1", "replicas: 3", 1)})
	c["signedHuman"] = r.Commit(t, "Scale app to 3", aliceSigned)
	r.Write(t, map[string]string{"deploy/app.yaml": manifest("apps:app", ref(app, "v3", 3))})
	c["unsignedPin"] = r.Commit(t, "Pin app v3 by hand", alice)
	r.Write(t, map[string]string{"deploy/app.yaml": manifest("apps:app", ref(app, "v4", 4))})
	c["otherDigest"] = r.Commit(t, gateMessage(ref(app, "v4", 5)), gate)
	r.Write(t, map[string]string{"deploy/app.yaml": manifest("apps:app", ref(app, "v5", 6))})
	c["wrongKey"] = r.Commit(t, gateMessage(ref(app, "v5", 6)), aliceSigned)

	r.Write(t, map[string]string{"deploy/web.yaml": manifest("apps:web", ref(web, "v1", 11))})
	c["web1"] = r.Commit(t, gateMessage(ref(web, "v1", 11)), gate)
	r.Write(t, map[string]string{"deploy/web.yaml": manifest("apps:web", ref(web, "v2", 12))})
	c["web2"] = r.Commit(t, gateMessage(ref(web, "v2", 12)), gate)
	r.Run(t, alice, "revert", "--no-edit", c["web2"])
	c["revert"] = r.Head(t)

	r.Git(t, "checkout", "-q", "-b", "side")
	r.Write(t, map[string]string{"deploy/worker.yaml": manifest("apps:worker", ref(worker, "v1", 21))})
	c["sideCommit"] = r.Commit(t, "Add worker", alice)
	r.Git(t, "checkout", "-q", "main")
	r.Run(t, alice, "merge", "--no-ff", "-m", "Merge side", "side")
	c["merge"] = r.Head(t)
	// The gate's commit on a push branch, merged by a person (a pull
	// request): the merge brings in what the gate verified.
	r.Git(t, "checkout", "-q", "-b", "updates")
	r.Write(t, map[string]string{"deploy/worker.yaml": manifest("apps:worker", ref(worker, "v2", 22))})
	c["gateOnPushBranch"] = r.Commit(t, gateMessage(ref(worker, "v2", 22)), gate)
	r.Git(t, "checkout", "-q", "main")
	r.Run(t, alice, "merge", "--no-ff", "-m", "Merge updates", "updates")
	c["mergeOfGate"] = r.Head(t)

	r.Run(t, alice, "mv", "deploy/web.yaml", "deploy/web-renamed.yaml")
	c["rename"] = r.Commit(t, "Rename web", alice)
	r.Write(t, map[string]string{"deploy/worker.yaml": ""})
	c["delete"] = r.Commit(t, "Remove worker", alice)

	r.Write(t, map[string]string{"deploy/api.yaml": manifest("apps:api", api+":v1")})
	c["tagOnly"] = r.Commit(t, "Add api", alice)
	r.Write(t, map[string]string{"deploy/api.yaml": manifest("apps:api", ref(api, "v2", 31))})
	c["expired"] = r.Commit(t, "Update images verified by imagegate\n\nVerified-Image: "+ref(api, "v2", 31)+
		"\nVerified-Policy: release-signed (sha256:5be0)\nVerified: false (exception: CVE triage; expires 2026-03-01T00:00:00Z)\n", gate)
	r.Write(t, map[string]string{"deploy/api.yaml": manifest("apps:api", ref(api, "v3", 32))})
	c["exception"] = r.Commit(t, "Update images verified by imagegate\n\nVerified-Image: "+ref(api, "v3", 32)+
		"\nVerified-Policy: release-signed (sha256:5be0)\nVerified: false (exception: CVE triage; expires 2027-01-01T00:00:00Z)\n", gate)
	r.Write(t, map[string]string{"other/app.yaml": manifest("apps:other", app+":outside")})
	c["outside"] = r.Commit(t, "Outside the audited path", alice)
	return r, c, allowedSigners(t, gateKey)
}

func TestRunReportsEachFindingOfAHistory(t *testing.T) {
	t.Parallel()
	r, c, allowed := history(t)
	signers, err := audit.LoadSigners(allowed, "")
	if err != nil {
		t.Fatal(err)
	}
	rep := runAudit(t, audit.Options{Repo: r.Dir, Branch: "main", Path: "deploy", Signers: signers})
	alice := "person"
	want := []row{
		{c["gate1"], "imagegate", "allowed", "deploy/app.yaml:4", app + ":v1@" + digest(1), ""},
		{c["gate2"], "imagegate", "allowed", "deploy/app.yaml:4", app + ":v2@" + digest(2), ""},
		{c["unsignedPin"], alice, "none", "deploy/app.yaml:4", app + ":v3@" + digest(3), "missing-trailer"},
		{c["otherDigest"], "imagegate", "allowed", "deploy/app.yaml:4", app + ":v4@" + digest(4), "trailer-mismatch"},
		{c["wrongKey"], alice, "not-allowed", "deploy/app.yaml:4", app + ":v5@" + digest(6), "unsigned-commit"},
		{c["web1"], "imagegate", "allowed", "deploy/web.yaml:4", web + ":v1@" + digest(11), ""},
		{c["web2"], "imagegate", "allowed", "deploy/web.yaml:4", web + ":v2@" + digest(12), ""},
		{c["revert"], alice, "none", "deploy/web.yaml:4", web + ":v1@" + digest(11), "settled"},
		{c["merge"], alice, "none", "deploy/worker.yaml:4", worker + ":v1@" + digest(21), "missing-trailer"},
		{c["mergeOfGate"], alice, "none", "deploy/worker.yaml:4", worker + ":v2@" + digest(22), "settled"},
		{c["tagOnly"], alice, "none", "deploy/api.yaml:4", api + ":v1", "missing-trailer,tag-only"},
		{c["expired"], "imagegate", "allowed", "deploy/api.yaml:4", api + ":v2@" + digest(31), "expired-exception"},
		{c["exception"], "imagegate", "allowed", "deploy/api.yaml:4", api + ":v3@" + digest(32), "exception"},
	}
	if got := rowsOf(rep); !reflect.DeepEqual(got, want) {
		t.Fatalf("entries:\n%s\nwant:\n%s", fmtRows(got), fmtRows(want))
	}
	wantCounts := map[audit.Kind]int{audit.MissingTrailer: 3, audit.TrailerMismatch: 1, audit.UnsignedCommit: 1,
		audit.TagOnly: 1, audit.ExpiredException: 1, audit.ExceptionUsed: 1}
	if !reflect.DeepEqual(rep.Findings, wantCounts) {
		t.Fatalf("finding counts = %v, want %v", rep.Findings, wantCounts)
	}
	// 17 first-parent commits; the side branches' commits are not among
	// them: they are read only to settle what their merges bring in.
	if rep.Commits != 17 || rep.Changed != 13 || len(rep.Skipped) != 0 {
		t.Fatalf("commits=%d changed=%d skipped=%v, want 17, 13, none", rep.Commits, rep.Changed, rep.Skipped)
	}
	if e := rep.Entries[3]; e.Trailer != app+":v4@"+digest(5) {
		t.Fatalf("trailer of the mismatched entry = %q, want the digest the trailer named", e.Trailer)
	}
	if e := rep.Entries[0]; !strings.HasPrefix(e.Signature.Signer, "imagegate@example.test SHA256:") {
		t.Fatalf("signer = %q, want the allowed principal and key fingerprint", e.Signature.Signer)
	}
}

func fmtRows(rs []row) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "  %+v\n", r)
	}
	return b.String()
}

func TestRunSinceSeedsSettledReferencesWithoutReportingThem(t *testing.T) {
	t.Parallel()
	r, c, allowed := history(t)
	signers, err := audit.LoadSigners(allowed, "")
	if err != nil {
		t.Fatal(err)
	}
	rep := runAudit(t, audit.Options{Repo: r.Dir, Branch: "main", Path: "deploy", Since: c["web2"], Signers: signers})
	got := rowsOf(rep)
	// web1's clean introduction is before --since: it settles the revert
	// without being listed itself.
	if len(got) != 6 || got[0].commit != c["revert"] || got[0].findings != "settled" {
		t.Fatalf("entries after --since:\n%s\nwant 6, the revert first and settled", fmtRows(got))
	}
	if rep.Commits != 9 || rep.Since != c["web2"] {
		t.Fatalf("commits=%d since=%s, want 9 after %s", rep.Commits, rep.Since, c["web2"])
	}
}

func TestRunRejectsBadOptions(t *testing.T) {
	t.Parallel()
	r, c, _ := history(t)
	for name, o := range map[string]audit.Options{
		"not a repository":           {Repo: t.TempDir()},
		"unknown branch":             {Repo: r.Dir, Branch: "nope"},
		"option as branch":           {Repo: r.Dir, Branch: "--all"},
		"since off the first-parent": {Repo: r.Dir, Branch: "main", Since: c["sideCommit"]},
		"unknown since":              {Repo: r.Dir, Branch: "main", Since: "nope"},
	} {
		for _, reader := range []string{audit.ReaderGit, audit.ReaderGoGit} {
			o.Reader = reader
			if _, err := audit.Run(t.Context(), o); !errors.Is(err, audit.ErrUsage) {
				t.Errorf("%s, %s reader: err = %v, want ErrUsage", name, reader, err)
			}
		}
	}
}

// TestRunPathIsLiteral: --path names a directory, never a glob, and is
// relative to the top of the repository.
func TestRunPathIsLiteral(t *testing.T) {
	t.Parallel()
	r, _, _ := history(t)
	for path, want := range map[string]int{"dep*": 0, "deploy": 13, "/deploy/": 13, "other": 1, "": 14} {
		if rep := runAudit(t, audit.Options{Repo: r.Dir, Path: path}); len(rep.Entries) != want {
			t.Errorf("--path %q: %d entries, want %d", path, len(rep.Entries), want)
		}
	}
}
