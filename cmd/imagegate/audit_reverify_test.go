package main

import (
	"encoding/json"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/imagegate/internal/testenv"
)

// reverifyRepo: commits in the gate's format (unsigned here: every entry
// is also unsigned-commit) wrote old (signed with the key since rotated
// out) to two files in two commits, then fresh (signed with the current
// key): three entries, two distinct digests.
func reverifyRepo(t *testing.T, old, fresh name.Digest) *testenv.LocalRepo {
	t.Helper()
	r := testenv.NewLocalRepo(t)
	for i, c := range []struct {
		file string
		d    name.Digest
	}{{"a.yaml", old}, {"b.yaml", old}, {"a.yaml", fresh}} {
		ref := c.d.Context().String() + ":v" + string(rune('1'+i)) + "@" + c.d.DigestStr()
		r.Write(t, map[string]string{c.file: "image: " + ref + ` # {"$imagepolicy": "apps:app"}` + "\n"})
		r.Commit(t, "Update images verified by imagegate\n\nVerified-Image: "+ref+"\n", testenv.CommitOptions{})
	}
	return r
}

func TestAuditReverifyAfterKeyRotation(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	oldKey, newKey := testenv.NewCosignKey(t), testenv.NewCosignKey(t)
	old := reg.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, old, oldKey)
	fresh := reg.PushImage(t, "app", "v2")
	testenv.SignLegacy(t, fresh, newKey)
	r := reverifyRepo(t, old, fresh)
	policy := cliPolicy(t, reg.Host(), "", newKey)

	// What one verification per distinct digest costs: imagegate verify
	// of the two digests.
	reg.ResetRequests()
	if code := run(t.Context(), []string{"verify", "--allow-insecure-registry", "--policy", policy, old.String(), fresh.String()}, &strings.Builder{}, &strings.Builder{}); code != exitDenied {
		t.Fatalf("verify exit %d, want %d", code, exitDenied)
	}
	want := slices.Sorted(slices.Values(reg.Requests()))

	reg.ResetRequests()
	code, out, errOut := runAuditCLI(t, "--repo", r.Dir, "--output", "json", "--fail-on", "no-longer-verifies",
		"--reverify", "--policy", policy, "--allow-insecure-registry")
	if code != auditFinding {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, auditFinding, out, errOut)
	}
	if got := slices.Sorted(slices.Values(reg.Requests())); !slices.Equal(got, want) {
		t.Fatalf("registry requests of the audit (3 entries, 2 digests):\n%s\nwant those of verifying the 2 digests once:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var rep struct {
		Reverified int `json:"reverified"`
		Entries    []struct {
			Image    string   `json:"image"`
			Findings []string `json:"findings"`
			Reverify struct {
				Result, Reason, Policy string
			} `json:"reverify"`
		} `json:"entries"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Reverified != 2 || len(rep.Entries) != 3 {
		t.Fatalf("reverified %d digests, %d entries; want 2, 3", rep.Reverified, len(rep.Entries))
	}
	for i, want := range []struct{ result, finding string }{
		{"Denied", "unsigned-commit,no-longer-verifies"}, {"Denied", "unsigned-commit,no-longer-verifies"}, {"Verified", "unsigned-commit"},
	} {
		e := rep.Entries[i]
		if e.Reverify.Result != want.result || strings.Join(e.Findings, ",") != want.finding || e.Reverify.Policy != "release" {
			t.Errorf("entry %d %s: reverify %+v findings %v, want %s %q under release", i, e.Image, e.Reverify, e.Findings, want.result, want.finding)
		}
	}
	_, table, _ := runAuditCLI(t, "--repo", r.Dir, "--reverify", "--policy", policy, "--allow-insecure-registry")
	lines := strings.Split(strings.TrimSpace(table), "\n")
	if len(lines) != 5 || !strings.HasSuffix(lines[0], "NOW") || !strings.HasSuffix(lines[1], "Denied (NoMatchingSignature)") ||
		!strings.HasSuffix(lines[3], "Verified") || !strings.HasSuffix(lines[4], ", 2 digests verified again (0 entries unavailable)") {
		t.Fatalf("table:\n%s", table)
	}
}

func TestAuditReverifyUnavailableRegistry(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	reg := testenv.NewRegistry(t, testenv.WithOutage(&down))
	key := testenv.NewCosignKey(t)
	d := reg.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, d, key)
	r := reverifyRepo(t, d, d)
	down.Store(true)
	args := []string{"--repo", r.Dir, "--reverify", "--policy", cliPolicy(t, reg.Host(), "", key), "--allow-insecure-registry"}
	if code, out, _ := runAuditCLI(t, append(args, "--fail-on", "no-longer-verifies")...); code != auditUnavailable {
		t.Fatalf("exit %d, want %d\n%s", code, auditUnavailable, out)
	}
	// A finding outranks unavailable: the entries lack the gate's signature.
	if code, _, _ := runAuditCLI(t, args...); code != auditFinding {
		t.Fatalf("exit %d, want %d", code, auditFinding)
	}
	for _, bad := range [][]string{{"--repo", r.Dir, "--reverify"}, {"--repo", r.Dir, "--policy", "x.yaml"}} {
		if code, _, _ := runAuditCLI(t, bad...); code != auditUsage {
			t.Errorf("%v: exit %d, want %d", bad, code, auditUsage)
		}
	}
}
