package gate

import (
	"context"
	"strings"
	"testing"

	iacv1 "github.com/fluxcd/image-automation-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// TestTagCheckoutNeedsAPushBranchAndThenBranchesOffTheTag: a GitRepository
// that checks out a tag cannot be committed to, so the gate is Stalled
// naming spec.git.push.branch and writes nothing; with a push branch, as
// image-automation-controller does, the commit goes to a branch created
// from the tag's commit.
func TestTagCheckoutNeedsAPushBranchAndThenBranchesOffTheTag(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	ctx := context.Background()
	tagged := w.git.Tag(t, w.repo, "release-1", "main", true)
	w.git.PushCommit(t, w.repo, "main", map[string]string{"later.txt": "l"}, "after the release")
	var repo sourcev1.GitRepository
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "fleet"}, &repo); err != nil {
		t.Fatal(err)
	}
	repo.Spec.Reference = &sourcev1.GitRepositoryRef{Tag: "release-1"}
	if err := cp.Client.Update(ctx, &repo); err != nil {
		t.Fatal(err)
	}
	d := w.publishSigned("web", "v1.0.0")
	mainBefore := w.log()

	if _, err := w.reconcile(); err != nil {
		t.Fatalf("a Stalled gate is not retried, so reconcile returns no error; got %v", err)
	}
	s := condition(w.gate(), igv1.StalledCondition)
	if s == nil || s.Status != metav1.ConditionTrue || s.Reason != igv1.ReasonInvalidSource ||
		!strings.Contains(s.Message, "tag release-1") || !strings.Contains(s.Message, "spec.git.push.branch") {
		t.Fatalf("Stalled = %+v, want True/InvalidSource naming the tag and spec.git.push.branch", s)
	}
	if got := w.log(); len(got) != len(mainBefore) {
		t.Fatalf("main gained commits while Stalled: %q", got)
	}

	g := w.gate()
	g.Spec.GitSpec.Push = &iacv1.PushSpec{Branch: "release-1-images"}
	if err := cp.Client.Update(ctx, g); err != nil {
		t.Fatal(err)
	}
	w.mustReconcile()

	log := w.git.Log(t, w.repo, "release-1-images")
	if len(log) < 2 || hashes(log)[1] != tagged {
		t.Fatalf("release-1-images = %q, want one commit on the tag's commit %s", log, tagged)
	}
	want := w.reg.Repo("web") + ":v1.0.0@" + d.DigestStr()
	if f := w.git.File(t, w.repo, "release-1-images", "deploy/web.yaml"); !strings.Contains(f, want) {
		t.Fatalf("deploy/web.yaml on release-1-images not pinned to %s:\n%s", want, f)
	}
	if got := w.log(); len(got) != len(mainBefore) {
		t.Fatalf("main gained commits: %q", got)
	}
	if s := condition(w.gate(), igv1.StalledCondition); s != nil && s.Status == metav1.ConditionTrue {
		t.Fatalf("still Stalled after the push branch was set: %+v", s)
	}
}

// TestCheckoutRefsAreReadAsSourceControllerReadsThem: precedence commit,
// name, semver, tag, branch; names other than refs/heads/ and refs/tags/
// and malformed references are Stalled before anything is cloned.
func TestCheckoutRefsAreReadAsSourceControllerReadsThem(t *testing.T) {
	t.Parallel()
	commit := strings.Repeat("0a", 20)
	for _, tc := range []struct {
		ref     *sourcev1.GitRepositoryRef
		want    string // the Ref's String, or the Stalled message's part
		stalled bool
	}{
		{nil, "branch master", false},
		{&sourcev1.GitRepositoryRef{}, "branch master", false},
		{&sourcev1.GitRepositoryRef{Branch: "main"}, "branch main", false},
		{&sourcev1.GitRepositoryRef{Branch: "main", Tag: "v1"}, "tag v1", false},
		{&sourcev1.GitRepositoryRef{Tag: "v1", SemVer: "1.x"}, "semver 1.x", false},
		{&sourcev1.GitRepositoryRef{SemVer: "1.x", Name: "refs/heads/dev"}, "branch dev", false},
		{&sourcev1.GitRepositoryRef{Name: "refs/tags/v2"}, "tag v2", false},
		{&sourcev1.GitRepositoryRef{Name: "refs/heads/dev", Commit: commit}, "commit " + commit, false},
		{&sourcev1.GitRepositoryRef{Name: "refs/pull/1/head"}, `names "refs/pull/1/head"`, true},
		{&sourcev1.GitRepositoryRef{Commit: "abc123"}, "full 40- or 64-character", true},
		{&sourcev1.GitRepositoryRef{SemVer: ">>1"}, `semver range ">>1"`, true},
	} {
		g := &igv1.ImageGate{Spec: igv1.ImageGateSpec{GitSpec: &iacv1.GitSpec{}}}
		repo := &sourcev1.GitRepository{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "fleet"}, Spec: sourcev1.GitRepositorySpec{Reference: tc.ref}}
		got, from, err := checkoutRef(g, repo)
		switch {
		case tc.stalled && (err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "GitRepository ns/fleet spec.ref")):
			t.Errorf("%+v: err = %v, want Stalled naming %q and the GitRepository", tc.ref, err, tc.want)
		case !tc.stalled && (err != nil || got.String() != tc.want):
			t.Errorf("%+v: = %s, %v; want %s", tc.ref, got, err, tc.want)
		case from != "GitRepository ns/fleet spec.ref":
			t.Errorf("%+v: from = %q", tc.ref, from)
		}
	}
	// The gate's own checkout outranks the GitRepository's.
	g := &igv1.ImageGate{Spec: igv1.ImageGateSpec{GitSpec: &iacv1.GitSpec{Checkout: &iacv1.GitCheckoutSpec{Reference: sourcev1.GitRepositoryRef{Tag: "v3"}}}}}
	repo := &sourcev1.GitRepository{Spec: sourcev1.GitRepositorySpec{Reference: &sourcev1.GitRepositoryRef{Branch: "main"}}}
	if got, from, err := checkoutRef(g, repo); err != nil || got.String() != "tag v3" || from != "spec.git.checkout.ref" {
		t.Errorf("gate checkout = %s from %q, %v; want tag v3 from spec.git.checkout.ref", got, from, err)
	}
}

func hashes(log []string) []string {
	out := make([]string, len(log))
	for i, l := range log {
		out[i], _, _ = strings.Cut(l, " ")
	}
	return out
}
