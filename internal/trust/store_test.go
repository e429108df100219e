package trust

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/testenv"
)

// storeTest is a namespace with TrustPolicies whose keys live in Secrets,
// one Secret per policy, so that the Secret GETs counted at the API
// server are the compiles of each policy.
type storeTest struct {
	t     *testing.T
	ns    string
	store *Store
	reqs  *testenv.APIRequests
	key   *testenv.CosignKey
}

func newStoreTest(t *testing.T, ns string) *storeTest {
	t.Helper()
	testenv.EnsureNamespace(t.Context(), t, cp.Client, ns, nil)
	cfg, reqs := testenv.RecordAPIRequests(cp.Config)
	reader, err := client.New(cfg, client.Options{Scheme: cp.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	st := &storeTest{t: t, ns: ns, reqs: reqs, key: testenv.NewCosignKey(t)}
	st.store = NewStore(cp.Client, secrets.Reader{Client: reader}, nil, 0)
	return st
}

// policy creates a TrustPolicy covering glob whose key is in the Secret
// of the same name.
func (st *storeTest) policy(name, glob string) *igv1.TrustPolicy {
	st.t.Helper()
	ctx := st.t.Context()
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: st.ns, Name: name}, Data: map[string][]byte{"cosign.pub": st.key.PublicPEM}}
	if err := cp.Client.Create(ctx, sec); err != nil {
		st.t.Fatal(err)
	}
	p := testenv.TrustPolicy(st.ns, name, igv1.TrustPolicySpec{
		Images: []igv1.ImageGlob{{Glob: glob}},
		Authorities: []igv1.Authority{{Name: "k", Key: &igv1.KeyAuthority{
			SecretRef: &igv1.SecretKeyRef{Name: name, Key: "cosign.pub"},
		}}},
	})
	if err := cp.Client.Create(ctx, p); err != nil {
		st.t.Fatal(err)
	}
	return p
}

// compiles counts the GETs of each of the test's Secrets so far.
func (st *storeTest) compiles() map[string]int {
	out := map[string]int{}
	for _, r := range st.reqs.Of("secrets") {
		if r.Verb == "get" && r.Namespace == st.ns {
			out[r.Name]++
		}
	}
	return out
}

func (st *storeTest) expect(step string, want map[string]int) {
	st.t.Helper()
	if got := st.compiles(); !mapsEqual(got, want) {
		st.t.Fatalf("%s: compiles (Secret GETs) per policy %v, want %v", step, got, want)
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestStoreCompilesOnlyChangedPoliciesAndAllOnResync: a reload after an
// informer event compiles only the policy whose spec changed and reports
// only it as changed; a resync compiles every policy again, re-reading
// its Secret, and reports nothing when nothing changed; a deleted policy
// is reported; a reload that changed nothing compiles nothing.
func TestStoreCompilesOnlyChangedPoliciesAndAllOnResync(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := newStoreTest(t, "store-reuse")
	a := st.policy("a", "a.example/**")
	st.policy("b", "b.example/**")
	// Other tests' ClusterTrustPolicies come and go: only this
	// namespace's changes count.
	var changes [][]policy.Ref
	st.store.OnChange(func(refs []policy.Ref) {
		mine := slices.DeleteFunc(slices.Clone(refs), func(r policy.Ref) bool { return r.Namespace != st.ns })
		if len(mine) > 0 {
			changes = append(changes, mine)
		}
	})
	refA := policy.Ref{Kind: "TrustPolicy", Namespace: st.ns, Name: "a"}
	refB := policy.Ref{Kind: "TrustPolicy", Namespace: st.ns, Name: "b"}

	if err := st.store.Load(ctx); err != nil {
		t.Fatal(err)
	}
	st.expect("first load", map[string]int{"a": 1, "b": 1})
	if st.store.Policies().Get(refA) == nil || st.store.Policies().Get(refB) == nil || len(changes) != 0 {
		t.Fatalf("first load: a and b must be in force and no change reported: %v", changes)
	}

	if err := st.store.load(ctx, true); err != nil {
		t.Fatal(err)
	}
	st.expect("reload with nothing changed", map[string]int{"a": 1, "b": 1})

	a.Spec.Images = append(a.Spec.Images, igv1.ImageGlob{Glob: "a2.example/**"})
	if err := cp.Client.Update(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := st.store.load(ctx, true); err != nil {
		t.Fatal(err)
	}
	st.expect("reload after a's spec changed", map[string]int{"a": 2, "b": 1})
	if len(changes) != 1 || !slices.Equal(changes[0], []policy.Ref{refA}) {
		t.Fatalf("changes after a's spec changed: %v, want [[%s]]", changes, refA)
	}

	if err := st.store.Load(ctx); err != nil {
		t.Fatal(err)
	}
	st.expect("resync", map[string]int{"a": 3, "b": 2})
	if len(changes) != 1 {
		t.Fatalf("a resync that found the same hashes reported changes: %v", changes[1:])
	}

	if err := cp.Client.Delete(ctx, &igv1.TrustPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: st.ns, Name: "b"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.store.load(ctx, true); err != nil {
		t.Fatal(err)
	}
	if len(changes) != 2 || !slices.Contains(changes[1], refB) || st.store.Policies().Get(refB) != nil {
		t.Fatalf("after b was deleted: changes %v, b in force: %v", changes, st.store.Policies().Get(refB) != nil)
	}
}

// TestStoreBrokenPolicyKeepsItsImages: a policy whose Secret is missing
// is left out with its error, still claims the images its globs cover
// (denied, not handed to a less specific policy), and compiles once the
// Secret appears at the next resync.
func TestStoreBrokenPolicyKeepsItsImages(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	st := newStoreTest(t, "store-broken")
	st.policy("wide", "broken.example/**")
	p := testenv.TrustPolicy(st.ns, "narrow", igv1.TrustPolicySpec{
		Images: []igv1.ImageGlob{{Glob: "broken.example/app"}},
		Authorities: []igv1.Authority{{Name: "k", Key: &igv1.KeyAuthority{
			SecretRef: &igv1.SecretKeyRef{Name: "narrow", Key: "cosign.pub"},
		}}},
	})
	if err := cp.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := st.store.Load(ctx); err != nil {
		t.Fatal(err)
	}
	ref := policy.Ref{Kind: "TrustPolicy", Namespace: st.ns, Name: "narrow"}
	if _, ok := st.store.Invalid()[ref]; !ok {
		t.Fatalf("narrow policy without its Secret is not reported invalid: %v", st.store.Invalid())
	}
	img, err := policy.ParseImage("broken.example/app:v1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.store.Policies().Match(img, st.ns); err == nil {
		t.Fatal("an image the broken policy covers most specifically was matched to another policy")
	}
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: st.ns, Name: "narrow"}, Data: map[string][]byte{"cosign.pub": st.key.PublicPEM}}
	if err := cp.Client.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	if err := st.store.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if pols, err := st.store.Policies().Match(img, st.ns); err != nil || len(pols) != 1 || pols[0].Ref != ref {
		t.Fatalf("after the Secret appeared and a resync: %v, %v", pols, err)
	}
}
