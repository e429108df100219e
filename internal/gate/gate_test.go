package gate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

func TestSignedTagIsCommittedAsTagAtDigestWithTrailers(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	d := w.publishSigned("web", "v1.0.0")
	before := len(w.log())

	w.mustReconcile()

	log := w.log()
	if len(log) != before+1 {
		t.Fatalf("commits: %d new, want exactly 1\n%s", len(log)-before, strings.Join(log, "\n"))
	}
	want := w.reg.Repo("web") + ":v1.0.0@" + d.DigestStr()
	if f := w.file("web"); !strings.Contains(f, "image: "+want+` # {"$imagepolicy": "`+w.ns+`:web"}`) {
		t.Fatalf("manifest not pinned to %s:\n%s", want, f)
	}
	msg := w.git.CommitMessage(t, w.repo, "main")
	for _, trailer := range []string{
		"Verified-Image: " + want,
		"Verified-Policy: " + w.ns + "/signed (sha256:",
		"Verified-By: cosign key legacy sha256:",
	} {
		if !strings.Contains(msg, trailer) {
			t.Errorf("commit message lacks %q:\n%s", trailer, msg)
		}
	}
	row := w.row("web")
	if !row.Verified || row.LatestDigest != d.DigestStr() || row.LastVerifiedRef != want || row.Reason != "Verified" || len(row.Signers) != 1 {
		t.Fatalf("status row: %+v", row)
	}
	g := w.gate()
	if c := condition(g, igv1.ReadyCondition); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("Ready: %+v", c)
	}
	if c := condition(g, igv1.BlockedCondition); c == nil || c.Status != metav1.ConditionFalse {
		t.Fatalf("Blocked: %+v", c)
	}
	if g.Status.LastPushCommit == "" || !strings.HasPrefix(log[0], g.Status.LastPushCommit) {
		t.Fatalf("lastPushCommit %q, log head %q", g.Status.LastPushCommit, log[0])
	}
	var iv igv1.ImageVerification
	if err := cp.Client.Get(context.Background(), client.ObjectKey{Name: igv1.ImageVerificationName(d.DigestStr(), w.policyHash())}, &iv); err != nil {
		t.Fatalf("ImageVerification not written: %v", err)
	}
	if iv.Status.Result != igv1.ResultVerified || iv.Status.Signers[0].Format != "legacy" {
		t.Fatalf("ImageVerification status: %+v", iv.Status)
	}
}

func (w *world) policyHash() string {
	w.t.Helper()
	if err := w.policies.Load(context.Background()); err != nil {
		w.t.Fatal(err)
	}
	p := w.policies.Policies().Get(policy.Ref{Kind: "TrustPolicy", Namespace: w.ns, Name: "signed"})
	if p == nil {
		w.t.Fatalf("TrustPolicy %s/signed not compiled: %v", w.ns, w.policies.Invalid())
	}
	return p.Hash
}

func TestUnsignedIsBlockedThenSignedIsCommitted(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	d := w.push("web", "v2.0.0")
	w.selectTag("web", "v2.0.0", d)
	before := w.log()
	original := w.file("web")

	if _, err := w.reconcile(); err != nil {
		t.Fatalf("a blocked selection is not a reconcile error: %v", err)
	}
	if got := w.log(); len(got) != len(before) {
		t.Fatalf("an unsigned image produced a commit: %v", got)
	}
	if w.file("web") != original {
		t.Fatal("Git changed for an unsigned image")
	}
	g := w.gate()
	c := condition(g, igv1.BlockedCondition)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != igv1.ReasonVerificationFailed || !strings.Contains(c.Message, "NoSignature") {
		t.Fatalf("Blocked condition: %+v", c)
	}
	if row := w.row("web"); row.Verified || row.Reason != "NoSignature" || row.LastVerifiedRef != "" {
		t.Fatalf("row: %+v", row)
	}
	if evs := w.events(); !hasEvent(evs, "Warning Blocked") {
		t.Fatalf("no Warning Blocked event: %v", evs)
	}

	testenv.SignLegacy(t, d, w.key)
	// The denial is cached briefly; a new checker stands for the retry after
	// that TTL (the cache's own tests cover the TTL).
	w.rec.Checker = freshChecker(w)
	w.mustReconcile()
	if got := w.log(); len(got) != len(before)+1 {
		t.Fatalf("signed image: %d new commits, want 1", len(got)-len(before))
	}
	if !strings.Contains(w.file("web"), ":v2.0.0@"+d.DigestStr()) {
		t.Fatal("signed image not written")
	}
	if c := condition(w.gate(), igv1.BlockedCondition); c.Status != metav1.ConditionFalse {
		t.Fatalf("still blocked: %+v", c)
	}
}

func TestOneBlockedPolicyDoesNotHoldBackTheOther(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web", "api")
	signed := w.push("web", "v1")
	testenv.SignLegacy(t, signed, w.key)
	unsigned := w.push("api", "v1")
	w.selectTag("web", "v1", signed)
	w.selectTag("api", "v1", unsigned)
	before := len(w.log())
	apiBefore := w.file("api")

	w.mustReconcile()

	if n := len(w.log()) - before; n != 1 {
		t.Fatalf("%d commits, want 1", n)
	}
	if !strings.Contains(w.file("web"), "@"+signed.DigestStr()) {
		t.Fatal("verified image not written")
	}
	if w.file("api") != apiBefore {
		t.Fatal("blocked image written")
	}
	msg := w.git.CommitMessage(t, w.repo, "main")
	if strings.Contains(msg, unsigned.DigestStr()) || strings.Count(msg, "Verified-Image:") != 1 {
		t.Fatalf("commit mentions the blocked image:\n%s", msg)
	}
	c := condition(w.gate(), igv1.BlockedCondition)
	if c.Status != metav1.ConditionTrue || !strings.Contains(c.Message, "1 of 2") {
		t.Fatalf("Blocked: %+v", c)
	}
}

func TestTagMovedIsReportedAndReverified(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	first := w.publishSigned("web", "stable")
	w.mustReconcile()

	moved := w.push("web", "stable") // the same tag, re-pointed at new bytes
	w.selectTag("web", "stable", moved)
	w.mustReconcile()

	row := w.row("web")
	if row.LatestDigest != moved.DigestStr() || row.Verified || !strings.Contains(row.Message, "TagMoved") {
		t.Fatalf("moved tag row: %+v", row)
	}
	if !strings.Contains(w.file("web"), "@"+first.DigestStr()) {
		t.Fatal("Git no longer holds the verified digest")
	}
	if evs := w.events(); !hasEvent(evs, "TagMoved") {
		t.Fatalf("no TagMoved event: %v", evs)
	}
	testenv.SignLegacy(t, moved, w.key)
	w.rec.Checker = freshChecker(w)
	w.mustReconcile()
	if !strings.Contains(w.file("web"), "@"+moved.DigestStr()) {
		t.Fatal("re-verified digest not written")
	}
}

func TestRotatedKeyVerifiesNextSelection(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	newKey := testenv.NewCosignKey(t)
	var tp igv1.TrustPolicy
	ctx := context.Background()
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "signed"}, &tp); err != nil {
		t.Fatal(err)
	}
	tp.Spec.Authorities[0].Key.Data = string(newKey.PublicPEM)
	if err := cp.Client.Update(ctx, &tp); err != nil {
		t.Fatal(err)
	}
	w.publishSigned("web", "v1") // signed with the retired key
	w.mustReconcile()
	if row := w.row("web"); row.Verified || row.Reason != "NoMatchingSignature" {
		t.Fatalf("signed with the retired key: %+v", row)
	}
	newSigned := w.push("web", "v2")
	testenv.SignLegacy(t, newSigned, newKey)
	w.selectTag("web", "v2", newSigned)
	w.mustReconcile()
	if row := w.row("web"); !row.Verified {
		t.Fatalf("signed with the new key: %+v", row)
	}
}

func TestPushRaceIsRetriedAndKeepsBothChanges(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	d := w.publishSigned("web", "v1")
	before := len(w.log())
	// Another writer lands a commit after the gate has cloned and before it
	// pushes: the push is non-fast-forward and is retried on the new tip.
	racer := &racingGit{race: func() {
		w.git.PushCommit(t, w.repo, "main", map[string]string{"other.txt": "someone else\n"}, "concurrent change")
	}}
	w.rec.Git = racer
	w.mustReconcile()
	if racer.attempts != 2 {
		t.Fatalf("gitrepo.Update made %d attempts, want 2 (one lost race, one retry)", racer.attempts)
	}
	log := w.log()
	if len(log) != before+2 {
		t.Fatalf("log: %v, want the concurrent commit and the gate's", log)
	}
	if w.git.File(t, w.repo, "main", "other.txt") != "someone else\n" || !strings.Contains(w.file("web"), "@"+d.DigestStr()) {
		t.Fatal("a change was lost")
	}
}

func TestAuthFailureIsAConditionNotACrash(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	authed := testenv.NewGitServer(t, testenv.WithBasicAuth("bot", "s3cret"))
	url := authed.CreateRepo(t, "locked", nil)
	ctx := context.Background()
	w.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "wrong"}, Data: map[string][]byte{"username": []byte("bot"), "password": []byte("nope")}})
	repo := testenv.GitRepository(w.ns, "locked", url, "main")
	repo.Spec.SecretRef = &meta.LocalObjectReference{Name: "wrong"}
	w.create(repo)
	var g igv1.ImageGate
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "gate"}, &g); err != nil {
		t.Fatal(err)
	}
	g.Spec.SourceRef.Name = "locked"
	if err := cp.Client.Update(ctx, &g); err != nil {
		t.Fatal(err)
	}
	w.publishSigned("web", "v1")
	w.git = authed
	if _, err := w.reconcile(); err == nil {
		t.Fatal("reconcile against a refusing server returned no error")
	}
	c := condition(w.gate(), igv1.ReadyCondition)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != igv1.ReasonGitOperationFailed || !strings.Contains(strings.ToLower(c.Message), "auth") {
		t.Fatalf("Ready: %+v", c)
	}
	if strings.Contains(c.Message, "nope") {
		t.Fatal("the condition leaks the password")
	}
}

func TestSuspendedGateDoesNothing(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	ctx := context.Background()
	g := w.gate()
	g.Spec.Suspend = true
	if err := cp.Client.Update(ctx, g); err != nil {
		t.Fatal(err)
	}
	w.publishSigned("web", "v1")
	before := len(w.log())
	w.reg.ResetRequests()
	w.mustReconcile()
	if len(w.log()) != before || len(w.reg.Requests()) != 0 || len(w.gate().Status.Policies) != 0 {
		t.Fatalf("suspended gate acted: commits %d->%d, registry requests %v", before, len(w.log()), w.reg.Requests())
	}
}

func TestNoChangeMeansNoCommitAndNoRegistryRequests(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	d := w.publishSigned("web", "v1")
	w.mustReconcile()
	after := w.log()
	if !strings.Contains(w.file("web"), "@"+d.DigestStr()) {
		t.Fatal("the first reconcile did not write the verified image")
	}

	w.reg.ResetRequests()
	w.rec.Checker = freshChecker(w) // no in-memory cache: only the ImageVerification can approve
	w.mustReconcile()

	if got := w.reg.Requests(); len(got) != 0 {
		t.Fatalf("second reconcile sent %d registry requests, want 0: %v", len(got), got)
	}
	if got := w.log(); len(got) != len(after) {
		t.Fatalf("second reconcile committed: %v", got)
	}
}

// racingGit pushes a concurrent commit during the first attempt's change,
// then lets the real gitrepo.Update carry on.
type racingGit struct {
	race     func()
	raced    bool
	attempts int
}

func (r *racingGit) Update(ctx context.Context, cfg gitrepo.Config, change gitrepo.Change) (gitrepo.Result, error) {
	res, err := gitrepo.Update(ctx, cfg, func(ctx context.Context, dir string) (string, bool, error) {
		if !r.raced {
			r.raced = true
			r.race()
		}
		return change(ctx, dir)
	})
	r.attempts = res.Attempts
	return res, err
}

func freshChecker(w *world) *cache.Checker {
	w.regc = registry.New(registry.Options{AllowInsecure: true})
	return cache.NewChecker(w.regc, verify.New(w.regc), cache.CheckerOptions{})
}

func TestExceptionIsWrittenAsUnverified(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	ctx := context.Background()
	var tp igv1.TrustPolicy
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "signed"}, &tp); err != nil {
		t.Fatal(err)
	}
	tp.Spec.Exceptions = []igv1.Exception{{Glob: w.reg.Repo("web") + ":legacy-*", Reason: "vendor build, signed from 2027",
		Expires: metav1.NewTime(time.Now().Add(24 * time.Hour))}}
	if err := cp.Client.Update(ctx, &tp); err != nil {
		t.Fatal(err)
	}
	d := w.push("web", "legacy-1") // unsigned
	w.selectTag("web", "legacy-1", d)
	w.mustReconcile()
	if !strings.Contains(w.file("web"), ":legacy-1@"+d.DigestStr()) {
		t.Fatal("excepted image not written")
	}
	msg := w.git.CommitMessage(t, w.repo, "main")
	if !strings.Contains(msg, "Verified: false (exception: vendor build, signed from 2027;") || strings.Contains(msg, "Verified-By:") {
		t.Fatalf("commit message does not record the exception as unverified:\n%s", msg)
	}
	row := w.row("web")
	if row.Verified || row.Reason != "Exception" || row.LastVerifiedRef == "" {
		t.Fatalf("row: %+v", row)
	}
	var iv igv1.ImageVerification
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: igv1.ImageVerificationName(d.DigestStr(), w.policyHash())}, &iv); err != nil {
		t.Fatal(err)
	}
	if iv.Status.Result != igv1.ResultException {
		t.Fatalf("record result %s, want Exception", iv.Status.Result)
	}
}
