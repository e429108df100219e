package admission

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/verify"
)

// Digests of the bench bodies in testdata/.
const (
	webDigest      = "sha256:e486f0d81fba0152b8783ebab961a3abea07a8b02dae43ef17194ea3c1eecc4e"
	webNewDigest   = "sha256:8c6ebe64d5bcc5c8e7d2d670c3c2c24d80950477ec743f55a4f555dfcf09e4be"
	otherDigest    = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	teamPolicyGlob = "registry.example/team/**"
	// modelsImage is the image volume "models" of the image-volume bodies.
	modelsDigest = "sha256:8edcc26c0f6c7256a71a8ede6b954ad9ec8dabf88f127c5e9d34f13cadefe11a"
	modelsImage  = "registry.example/team/models:v3@" + modelsDigest
)

var testNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// compiledPolicy compiles a ClusterTrustPolicy (or a TrustPolicy when ns is
// set) over globs with a fresh public key, as the webhook would.
func compiledPolicy(t testing.TB, ns, name string, mod func(*igv1.TrustPolicySpec), globs ...string) *policy.Policy {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := cryptoutils.MarshalPublicKeyToPEM(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	spec := &igv1.TrustPolicySpec{Authorities: []igv1.Authority{{Name: "release", Key: &igv1.KeyAuthority{Data: string(pem)}}}}
	for _, g := range globs {
		spec.Images = append(spec.Images, igv1.ImageGlob{Glob: g})
	}
	if mod != nil {
		mod(spec)
	}
	ref := policy.Ref{Kind: "ClusterTrustPolicy", Name: name}
	if ns != "" {
		ref = policy.Ref{Kind: "TrustPolicy", Namespace: ns, Name: name}
	}
	p, err := policy.Compile(context.Background(), ref, spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// staticPolicies is a PolicySource over a fixed set.
type staticPolicies struct{ set *policy.Set }

func (s staticPolicies) Policies() *policy.Set { return s.set }

// recordMap serves Verified records keyed by (digest, policy hash), as the
// informer cache would, and counts lookups.
type recordMap struct {
	mu      sync.Mutex
	records map[string]*igv1.ImageVerification
	err     error
	lookups atomic.Int64
}

func newRecordMap() *recordMap { return &recordMap{records: map[string]*igv1.ImageVerification{}} }

func (m *recordMap) add(digest, policyHash string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.records[digest+"/"+policyHash] = verifiedRecord(digest, policyHash)
}

func verifiedRecord(digest, policyHash string) *igv1.ImageVerification {
	return &igv1.ImageVerification{
		ObjectMeta: metav1.ObjectMeta{Name: igv1.ImageVerificationName(digest, policyHash)},
		Spec:       igv1.ImageVerificationSpec{Image: "x", Digest: digest, PolicyHash: policyHash, Policy: igv1.PolicyReference{Kind: "ClusterTrustPolicy", Name: "team"}},
		Status:     igv1.ImageVerificationStatus{Result: igv1.ResultVerified, ExpiresAt: &metav1.Time{Time: testNow.Add(time.Hour)}},
	}
}

func (m *recordMap) LookupVerified(_ context.Context, digest, policyHash string) (*igv1.ImageVerification, bool, error) {
	m.lookups.Add(1)
	if m.err != nil {
		return nil, false, m.err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	iv, ok := m.records[digest+"/"+policyHash]
	return iv, ok, nil
}

// ownerOf is an owner as the owner index keeps it: the keys of the
// images that parse, each once.
func ownerOf(uid string, images ...string) Owner {
	return Owner{UID: uid, Images: templateKeys(&corev1.PodSpec{Containers: containersOf(images)}, DefaultMaxImagesPerObject)}
}

func containersOf(images []string) []corev1.Container {
	cs := make([]corev1.Container, len(images))
	for i, im := range images {
		cs[i] = corev1.Container{Image: im}
	}
	return cs
}

// ownerMap serves owners keyed by kind/namespace/name.
type ownerMap map[string]Owner

func (m ownerMap) Owner(_ context.Context, kind schema.GroupKind, namespace, name string) (Owner, bool, error) {
	o, ok := m[kind.Kind+"/"+namespace+"/"+name]
	return o, ok, nil
}

// scriptedChecker answers every check with one decision and counts calls;
// tags named in tagDigests resolve to their digest.
type scriptedChecker struct {
	result     verify.Result
	reason     verify.Reason
	source     cache.Source
	calls      atomic.Int64
	tagDigests map[string]string // repository:tag -> digest
	resolves   atomic.Int64
}

func (c *scriptedChecker) TagNamesDigest(_ context.Context, img policy.Image) bool {
	c.resolves.Add(1)
	return c.tagDigests[img.Repository+":"+img.Tag] == img.Digest
}

func (c *scriptedChecker) CheckImage(_ context.Context, image string, img policy.Image, p *policy.Policy) cache.Decision {
	c.calls.Add(1)
	src := c.source
	if src == "" {
		src = cache.SourceCall
	}
	return cache.Decision{Image: image, Parsed: img, Digest: webDigest, Policy: p, Source: src,
		Outcome: verify.Outcome{Digest: webDigest, Result: c.result, Reason: c.reason, Message: "scripted " + string(c.reason)}}
}

// countingRecorder counts Record calls.
type countingRecorder struct{ calls atomic.Int64 }

func (r *countingRecorder) Record(context.Context, cache.Decision) (*igv1.ImageVerification, error) {
	r.calls.Add(1)
	return nil, nil
}

var errLookup = errors.New("cache unavailable")

// testDeps are deps over fakes of every dependency.
func testDeps(set *policy.Set) (*deps, *recordMap, *scriptedChecker, *countingRecorder) {
	recs, chk, rec := newRecordMap(), &scriptedChecker{result: verify.ResultVerified, reason: verify.ReasonVerified}, &countingRecorder{}
	return &deps{policies: staticPolicies{set}, records: recs, checker: chk, recorder: rec,
		exemptNamespaces: map[string]bool{}, log: discardLog(), now: func() time.Time { return testNow }}, recs, chk, rec
}

// req builds a request of kind in namespace "apps" with modifiers.
func req(kind groupKind, op string, mods ...func(*request)) *request {
	info, _ := workloadKind(kind)
	r := &request{review: &review{UID: "u", Kind: kind, Operation: op, Namespace: "apps", Username: "alice"}, info: info}
	for _, m := range mods {
		m(r)
	}
	return r
}

// with sets the policies in force for the request.
func with(set *policy.Set) func(*request) {
	return func(r *request) { r.set = set }
}

func withOld(images ...string) func(*request) {
	return func(r *request) {
		r.OldObject.Present = true
		for _, im := range images {
			r.oldImages = append(r.oldImages, imageRef{Field: fieldContainers, Container: "c", Image: im})
		}
	}
}

func withController(apiVersion, kind, name, uid string) func(*request) {
	return func(r *request) {
		r.Object.Owners = append(r.Object.Owners, ownerRef{APIVersion: apiVersion, Kind: kind, Name: name, UID: uid, Controller: true})
	}
}

func check(image string) *imageCheck {
	return &imageCheck{ref: imageRef{Field: fieldContainers, Container: "web", Image: image}}
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }
