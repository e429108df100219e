package trust

import (
	"errors"
	"strings"
	"testing"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
)

const namespacedPolicies = `apiVersion: imagegate.dev/v1alpha1
kind: ClusterTrustPolicy
metadata: {name: floor}
spec:
  images: [{glob: "ghcr.io/org/**"}]
  authorities: [{name: ok, static: {action: pass}}]
---
apiVersion: imagegate.dev/v1alpha1
kind: TrustPolicy
metadata: {name: team, namespace: tenant-a}
spec:
  images: [{glob: "ghcr.io/org/**"}]
  authorities: [{name: ok, static: {action: pass}}]
---
apiVersion: imagegate.dev/v1alpha1
kind: TrustPolicy
metadata: {name: team, namespace: tenant-b}
spec:
  images: [{glob: "ghcr.io/org/**"}]
  authorities: [{name: ok, static: {action: pass}}]
`

// TestInNamespaceJudgesAsMatch: the set Snapshot.InNamespace returns
// judges an image with MatchAny exactly as Set.Match does in that namespace: the
// floor and the namespace's own policy, never another namespace's; a
// broken policy denies only in its namespace; without a namespace only
// the floor judges.
func TestInNamespaceJudgesAsMatch(t *testing.T) {
	t.Parallel()
	ps, err := policy.Decode(t.Context(), "test", strings.NewReader(namespacedPolicies))
	if err != nil {
		t.Fatal(err)
	}
	broken, ok := policy.NewBroken(policy.Ref{Kind: "TrustPolicy", Namespace: "tenant-c", Name: "team"},
		&igv1.TrustPolicySpec{Images: []igv1.ImageGlob{{Glob: "ghcr.io/org/**"}}}, errors.New("secret missing"))
	if !ok {
		t.Fatal("NewBroken refused the glob")
	}
	// A snapshot as a load makes it: cluster policies first, then the
	// namespaces' own, the broken one among them.
	b := loader{entries: map[policy.Ref]entry{}}
	for _, p := range ps {
		b.order = append(b.order, p.Ref)
		b.entries[p.Ref] = entry{compiled: p}
	}
	b.order = append(b.order, broken.Ref)
	b.entries[broken.Ref] = entry{broken: &broken, err: errors.New("secret missing")}
	l := b.snapshot()
	img, err := policy.ParseImage("ghcr.io/org/app@sha256:" + strings.Repeat("a", 64))
	if err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{"tenant-a", "tenant-b", "tenant-c", "tenant-none"} {
		want, wantErr := l.Set.Match(img, ns)
		got, gotErr := l.InNamespace(ns).MatchAny(img)
		if refList(got) != refList(want) || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("namespace %q: InNamespace judges with %s (%v), Match with %s (%v)", ns, refList(got), gotErr, refList(want), wantErr)
		}
	}
	if got, _ := l.InNamespace("tenant-a").MatchAny(img); refList(got) != "floor,tenant-a/team" {
		t.Errorf("tenant-a: %s, want the floor and tenant-a/team", refList(got))
	}
	if _, err := l.InNamespace("tenant-c").MatchAny(img); err == nil {
		t.Error("tenant-c: its broken policy did not deny")
	}
	// Match has no "no namespace" (its "" selects the cluster tier
	// twice); InNamespace("") is the floor alone.
	if got, err := l.InNamespace("").MatchAny(img); refList(got) != "floor" || err != nil {
		t.Errorf("no namespace: %s (%v), want the floor alone", refList(got), err)
	}
}

func refList(ps []*policy.Policy) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Ref.String()
	}
	return strings.Join(s, ",")
}
