package gate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

// gitCost runs one reconcile and returns what it cost the Git server.
func (w *world) gitCost() testenv.GitStats {
	w.t.Helper()
	before := w.git.Stats()
	w.mustReconcile()
	return w.git.Stats().Sub(before)
}

func (w *world) idleResult() string {
	w.t.Helper()
	ic := w.gate().Status.LastIdleCheck
	if ic == nil {
		w.t.Fatal("status.lastIdleCheck is not set")
	}
	return ic.Result
}

// expectIdle asserts a reconcile that made exactly one Git request, a ref
// advertisement (ls-remote), and cloned, fetched and pushed nothing.
func expectIdle(t *testing.T, step string, c testenv.GitStats) {
	t.Helper()
	if c.Requests != 1 || c.InfoRefs != 1 || c.UploadPack != 0 || c.ReceivePack != 0 {
		t.Fatalf("%s: Git requests %+v, want exactly one info/refs and no upload-pack or receive-pack", step, c)
	}
}

// expectFull asserts a reconcile that cloned (an upload-pack request).
func expectFull(t *testing.T, step string, c testenv.GitStats) {
	t.Helper()
	if c.UploadPack == 0 {
		t.Fatalf("%s: Git requests %+v, want a clone (upload-pack)", step, c)
	}
}

// TestIdleReconcileMakesOneGitRequest: after the run that committed, a
// reconcile with nothing changed costs one ls-remote (counted at the Git
// server: one info/refs, no upload-pack) and no commit, and says so in
// status; so does the next one. Registry requests stay as without the
// check (zero: the digest is reflected and the verdict cached).
func TestIdleReconcileMakesOneGitRequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	w.publishSigned("web", "v1")
	expectFull(t, "first run", w.gitCost())
	ic := w.gate().Status.LastIdleCheck
	log := w.log()
	if ic == nil || ic.Result != idleRanFirst || ic.CheckoutCommit != ic.PushCommit || !strings.HasPrefix(log[0], ic.PushCommit) || !strings.HasPrefix(ic.InputsHash, "sha256:") {
		t.Fatalf("status.lastIdleCheck after the first run: %+v, log head %s", ic, log[0])
	}
	w.reg.ResetRequests()
	for _, step := range []string{"second run", "third run"} {
		expectIdle(t, step, w.gitCost())
		if got := w.idleResult(); got != idleSkippedListed {
			t.Fatalf("%s: lastIdleCheck.result %q", step, got)
		}
	}
	if n := len(w.log()); n != len(log) {
		t.Fatalf("idle runs made %d commits", n-len(log))
	}
	if reqs := w.reg.Requests(); len(reqs) != 0 {
		t.Fatalf("idle runs sent %d registry requests, want 0 as without the check: %q", len(reqs), reqs)
	}
}

// TestIdleCheckRunsInFullWhenABranchMoves: another author's commit, a
// force-push back to the unpinned history, and a force-push that rewrites
// the tip to the same content under a new commit each make the next run
// clone; the revert is pinned again, the same-content rewrite needs no
// commit, and the run after each is idle again.
func TestIdleCheckRunsInFullWhenABranchMoves(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	d := w.publishSigned("web", "v1")
	w.mustReconcile()
	pinned := w.reg.Repo("web") + ":v1@" + d.DigestStr()
	initial := strings.Fields(w.log()[len(w.log())-1])[0]

	w.git.PushCommit(t, w.repo, "main", map[string]string{"README.md": "other author\n"}, "docs")
	expectFull(t, "after another author's commit", w.gitCost())
	if got := w.idleResult(); !strings.HasPrefix(got, "Ran: branch main moved from ") {
		t.Fatalf("lastIdleCheck.result %q", got)
	}
	expectIdle(t, "after the new tip was recorded", w.gitCost())

	w.git.SetBranch(t, w.repo, "main", initial)
	c := w.gitCost()
	expectFull(t, "after a force-push to the unpinned history", c)
	if c.ReceivePack != 1 || !strings.Contains(w.file("web"), pinned) {
		t.Fatalf("the reverted image was not pinned again: %+v\n%s", c, w.file("web"))
	}
	expectIdle(t, "after the re-pin", w.gitCost())

	commits := len(w.log())
	rewritten := w.git.RewriteTip(t, w.repo, "main")
	c = w.gitCost()
	expectFull(t, "after a same-content rewrite", c)
	if c.ReceivePack != 0 || len(w.log()) != commits {
		t.Fatalf("a same-content rewrite needs no commit: %+v, %d new commits", c, len(w.log())-commits)
	}
	if ic := w.gate().Status.LastIdleCheck; ic.CheckoutCommit != rewritten || ic.PushCommit != rewritten {
		t.Fatalf("the rewritten tip %s was not recorded: %+v", rewritten, ic)
	}
	expectIdle(t, "after the rewrite was recorded", w.gitCost())
}

// TestIdleCheckRunsInFullWhenInputsChange: a new selection, a spec change
// (a new generation) and a changed trust policy each run in full.
func TestIdleCheckRunsInFullWhenInputsChange(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	w.publishSigned("web", "v1")
	w.mustReconcile()
	expectIdle(t, "nothing changed", w.gitCost())

	w.publishSigned("web", "v2")
	c := w.gitCost()
	expectFull(t, "a new selection", c)
	if c.ReceivePack != 1 || w.idleResult() != idleRanInputs {
		t.Fatalf("a new selection: %+v, result %q", c, w.idleResult())
	}
	expectIdle(t, "after the new selection", w.gitCost())

	g := w.gate()
	g.Spec.Interval = metav1.Duration{Duration: 7 * time.Minute}
	if err := cp.Client.Update(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	expectFull(t, "a new generation", w.gitCost())
	expectIdle(t, "after the new generation", w.gitCost())

	var tp igv1.TrustPolicy
	if err := cp.Client.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "signed"}, &tp); err != nil {
		t.Fatal(err)
	}
	tp.Spec.Authorities = append(tp.Spec.Authorities, igv1.Authority{Name: "second", Key: &igv1.KeyAuthority{Data: string(w.key.PublicPEM)}})
	if err := cp.Client.Update(context.Background(), &tp); err != nil {
		t.Fatal(err)
	}
	expectFull(t, "a changed trust policy", w.gitCost())
	if got := w.idleResult(); got != idleRanInputs {
		t.Fatalf("a changed trust policy: result %q", got)
	}
}

// TestIdleCheckReadsTheArtifactRevision: when the GitRepository's
// status.artifact.revision shows the tip the last run left on its one
// branch, an idle run makes no Git request at all; when it shows another
// commit the run falls back to ls-remote.
func TestIdleCheckReadsTheArtifactRevision(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	w.publishSigned("web", "v1")
	w.mustReconcile()
	tip := w.gate().Status.LastIdleCheck.PushCommit

	w.setArtifact("main@sha1:" + tip)
	if c := w.gitCost(); c.Requests != 0 {
		t.Fatalf("with the artifact at the tip: %+v, want no Git request", c)
	}
	if got := w.idleResult(); got != idleSkippedArtifact {
		t.Fatalf("lastIdleCheck.result %q", got)
	}
	w.setArtifact("main@sha1:" + strings.Repeat("0", 40))
	expectIdle(t, "with the artifact at another commit", w.gitCost())
}

func (w *world) setArtifact(revision string) {
	w.t.Helper()
	ctx := context.Background()
	var repo sourcev1.GitRepository
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "fleet"}, &repo); err != nil {
		w.t.Fatal(err)
	}
	repo.Status.ObservedGeneration = repo.Generation
	repo.Status.Artifact = &meta.Artifact{Path: "gitrepository/fleet.tar.gz", URL: "http://source-controller.example/fleet.tar.gz",
		Revision: revision, Digest: "sha256:" + strings.Repeat("a", 64), LastUpdateTime: metav1.Now()}
	if err := cp.Client.Status().Update(ctx, &repo); err != nil {
		w.t.Fatal(err)
	}
}

// TestIdleCheckOffClonesEveryRun: with the check off every run clones, as
// before it existed.
func TestIdleCheckOffClonesEveryRun(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	w.rec.NoIdleCheck = true
	w.publishSigned("web", "v1")
	w.mustReconcile()
	expectFull(t, "second run with the check off", w.gitCost())
	if got := w.idleResult(); got != idleRanOff {
		t.Fatalf("lastIdleCheck.result %q", got)
	}
}
