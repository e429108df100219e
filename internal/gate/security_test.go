package gate

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/trust"
	"github.com/imagegate/imagegate/internal/verify"
)

// TestExpiredExceptionStopsApplying writes an unsigned image under an
// exception, then moves the gate's clock past the exception's expiry: the
// same image is no longer admitted (Blocked, verified afresh and denied),
// and Git keeps what it has (nothing unverified is added).
func TestExpiredExceptionStopsApplying(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	expires := time.Now().Add(time.Hour).Truncate(time.Second)
	w.setException(w.reg.Repo("web")+":legacy-*", "vendor build", expires)
	var now atomic.Pointer[time.Time]
	start := time.Now()
	now.Store(&start)
	w.rec.Checker = cache.NewChecker(w.regc, verify.New(w.regc), cache.CheckerOptions{Now: func() time.Time { return *now.Load() }})
	d := w.push("web", "legacy-1") // unsigned
	w.selectTag("web", "legacy-1", d)

	w.mustReconcile()
	if row := w.row("web"); row.Reason != string(verify.ReasonException) || !strings.Contains(w.file("web"), "@"+d.DigestStr()) {
		t.Fatalf("before expiry: row %+v; the excepted image is not in Git", row)
	}
	commits := len(w.log())

	later := expires.Add(time.Second)
	now.Store(&later)
	w.mustReconcile()
	row := w.row("web")
	if row.Verified || row.Reason != string(verify.ReasonNoSignature) {
		t.Fatalf("after expiry: row %+v, want the image verified afresh and denied", row)
	}
	if c := condition(w.gate(), igv1.BlockedCondition); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("after expiry: Blocked %+v", c)
	}
	if len(w.log()) != commits {
		t.Fatal("a commit was made after the exception expired")
	}
}

// TestTrustPolicyReadsSecretsOnlyInItsNamespace points a TrustPolicy's key
// at a Secret in another namespace: the policy does not compile, the
// image it would cover is blocked with the reason, and the other
// namespace's Secret is never read. The same Secret in the policy's own
// namespace works.
func TestTrustPolicyReadsSecretsOnlyInItsNamespace(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	other := w.ns + "-other"
	w.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}})
	for _, ns := range []string{other, w.ns} {
		w.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "cosign"}, Data: map[string][]byte{"cosign.pub": w.key.PublicPEM}})
	}
	var mu sync.Mutex
	reads := map[string]int{} // Secret reads per namespace
	counting := interceptor.NewClient(watchClient(t), interceptor.Funcs{
		Get: func(ctx context.Context, c client.WithWatch, key client.ObjectKey, obj client.Object, opts ...client.GetOption) error {
			if _, ok := obj.(*corev1.Secret); ok {
				mu.Lock()
				reads[key.Namespace]++
				mu.Unlock()
			}
			return c.Get(ctx, key, obj, opts...)
		},
	})
	w.rec.Client = counting
	w.policies = trust.NewStore(counting, secrets.Reader{Client: counting}, nil, 0)
	w.rec.Policies = w.policies
	d := w.publishSigned("web", "v1")
	original := w.file("web")

	w.setKeySecret(other)
	w.mustReconcile()
	row := w.row("web")
	if row.Verified || row.Reason != string(verify.ReasonInvalidPolicy) || !strings.Contains(row.Message, "only from its own namespace") || w.file("web") != original {
		t.Fatalf("a TrustPolicy keyed by another namespace's Secret: row %+v", row)
	}
	if reads[other] != 0 {
		t.Fatalf("the Secret in namespace %s was read %d times", other, reads[other])
	}

	w.setKeySecret("")
	w.rec.Checker = freshChecker(w)
	w.mustReconcile()
	if row := w.row("web"); !row.Verified || !strings.Contains(w.file("web"), "@"+d.DigestStr()) || reads[w.ns] == 0 || reads[other] != 0 {
		t.Fatalf("with the Secret in the policy's namespace: row %+v, reads %v", row, reads)
	}
}

// TestTagRepointedDuringTheCheckWritesTheCheckedDigest selects a tag
// without a reflected digest and re-points it at an unsigned image right
// after the gate resolved it: Git gets the digest that was verified, never
// the one the tag points at now, and the next reconcile reports the move
// and withholds the new digest.
func TestTagRepointedDuringTheCheckWritesTheCheckedDigest(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	signed := w.push("web", "v1")
	testenv.SignLegacy(t, signed, w.key)
	evil := w.push("web", "evil") // unsigned
	w.selectTagOnly("web", "v1")
	mover := &tagMover{once: func() error { return w.retag(evil, "v1") }}
	regc := registry.New(registry.Options{AllowInsecure: true, Transport: mover})
	w.rec.Checker = cache.NewChecker(regc, verify.New(regc), cache.CheckerOptions{})

	w.mustReconcile()
	if !mover.moved.Load() || mover.err != nil {
		t.Fatalf("the tag was not re-pointed during the check (%v)", mover.err)
	}
	if f := w.file("web"); !strings.Contains(f, ":v1@"+signed.DigestStr()) || strings.Contains(f, evil.DigestStr()) {
		t.Fatalf("Git holds:\n%s\nwant the verified digest %s", f, signed.DigestStr())
	}
	if row := w.row("web"); !row.Verified || row.LatestDigest != signed.DigestStr() {
		t.Fatalf("row %+v", row)
	}

	w.rec.Checker = freshChecker(w)
	w.mustReconcile()
	row := w.row("web")
	if row.Verified || row.LatestDigest != evil.DigestStr() || !strings.Contains(row.Message, "TagMoved") {
		t.Fatalf("after the move: row %+v, want the new digest reported as moved and withheld", row)
	}
	if !strings.Contains(w.file("web"), "@"+signed.DigestStr()) {
		t.Fatal("Git no longer holds the verified digest")
	}
}

// tagMover is a registry transport that runs once after the first
// answer to a request for a manifest by tag (the resolve).
type tagMover struct {
	once  func() error
	moved atomic.Bool
	err   error
}

func (m *tagMover) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && strings.HasSuffix(req.URL.Path, "/manifests/v1") && m.moved.CompareAndSwap(false, true) {
		m.err = m.once()
	}
	return resp, err
}

// setException replaces the world's trust policy's exceptions with one.
func (w *world) setException(glob, reason string, expires time.Time) {
	w.updateTrustPolicy(func(tp *igv1.TrustPolicy) {
		tp.Spec.Exceptions = []igv1.Exception{{Glob: glob, Reason: reason, Expires: metav1.Time{Time: expires}}}
	})
}

// setKeySecret makes the trust policy read its key from the Secret
// "cosign" of namespace ns ("" for its own).
func (w *world) setKeySecret(ns string) {
	w.updateTrustPolicy(func(tp *igv1.TrustPolicy) {
		tp.Spec.Authorities[0].Key = &igv1.KeyAuthority{SecretRef: &igv1.SecretKeyRef{Name: "cosign", Namespace: ns, Key: "cosign.pub"}}
	})
}

func (w *world) updateTrustPolicy(mod func(*igv1.TrustPolicy)) {
	w.t.Helper()
	ctx := context.Background()
	var tp igv1.TrustPolicy
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "signed"}, &tp); err != nil {
		w.t.Fatal(err)
	}
	mod(&tp)
	if err := cp.Client.Update(ctx, &tp); err != nil {
		w.t.Fatal(err)
	}
}

// selectTagOnly sets an ImagePolicy's latestRef without a digest, as an
// image-reflector-controller that does not reflect digests does.
func (w *world) selectTagOnly(app, tag string) {
	w.t.Helper()
	ctx := context.Background()
	var ip imagev1.ImagePolicy
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: app}, &ip); err != nil {
		w.t.Fatal(err)
	}
	ip.Status.LatestRef = &imagev1.ImageRef{Name: w.reg.Repo(app), Tag: tag}
	if err := cp.Client.Status().Update(ctx, &ip); err != nil {
		w.t.Fatal(err)
	}
}

// retag points tag of d's repository at d, bypassing the registry's
// request log; it may run on any goroutine.
func (w *world) retag(d name.Digest, tag string) error {
	desc, err := remote.Get(d, w.reg.SetupOptions(w.t)...)
	if err != nil {
		return err
	}
	return remote.Tag(d.Context().Tag(tag), desc, w.reg.SetupOptions(w.t)...)
}
