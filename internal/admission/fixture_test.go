package admission

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
)

// fixture is one integration test's world: a namespace, a registry of its
// own, and a cosign key.
type fixture struct {
	cl  *cluster
	ns  string
	reg *testenv.Registry
	key *testenv.CosignKey
}

func newFixture(t *testing.T, opts ...testenv.RegistryOption) *fixture {
	t.Helper()
	f := &fixture{cl: sharedCluster(t), reg: testenv.NewRegistry(t, opts...), key: testenv.NewCosignKey(t)}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "admission-"}}
	if err := f.cl.c.Create(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.cl.c.Delete(context.Background(), ns) })
	f.ns = ns.Name
	return f
}

// waitFor polls cond until it holds; the deadline only bounds a broken
// test, no assertion depends on time.
func waitFor(t *testing.T, what string, cond func(ctx context.Context) (bool, error)) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(t.Context(), 20*time.Millisecond, time.Minute, true, cond); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// clusterPolicy trusts the fixture's key for every image of its registry
// and waits until the webhook compiled it.
func (f *fixture) clusterPolicy(t *testing.T, mods ...testenv.TrustPolicySpecMod) *policy.Policy {
	t.Helper()
	p := testenv.ClusterTrustPolicy("registry-"+f.ns, testenv.KeyPolicySpec(f.reg.Host()+"/**", f.key.PublicPEM), mods...)
	if err := f.cl.c.Create(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.cl.c.Delete(context.Background(), p) })
	return f.waitPolicy(t, policy.Ref{Kind: "ClusterTrustPolicy", Name: p.Name})
}

// namespacedPolicy is a TrustPolicy of the fixture's namespace.
func (f *fixture) namespacedPolicy(t *testing.T, mods ...testenv.TrustPolicySpecMod) *policy.Policy {
	t.Helper()
	p := testenv.TrustPolicy(f.ns, "registry", testenv.KeyPolicySpec(f.reg.Host()+"/**", f.key.PublicPEM), mods...)
	if err := f.cl.c.Create(t.Context(), p); err != nil {
		t.Fatal(err)
	}
	return f.waitPolicy(t, policy.Ref{Kind: "TrustPolicy", Namespace: f.ns, Name: p.Name})
}

func (f *fixture) waitPolicy(t *testing.T, ref policy.Ref) *policy.Policy {
	t.Helper()
	var p *policy.Policy
	waitFor(t, "policy "+ref.String()+" to compile", func(context.Context) (bool, error) {
		if set := f.cl.wh.Policies.Policies(); set != nil {
			p = set.Get(ref)
		}
		return p != nil, nil
	})
	return p
}

// signedImage pushes a new image to repo and signs its digest with the
// fixture's key (legacy .sig tag).
func (f *fixture) signedImage(t *testing.T, repo string) name.Digest {
	t.Helper()
	d := f.reg.PushImage(t, repo, "v1")
	testenv.SignLegacy(t, d, f.key)
	f.reg.ResetRequests() // signing goes through the registry's front door
	return d
}

// auditOf returns the audit lines of the fixture's namespace.
func (f *fixture) auditOf(t *testing.T, operation, kind string) []auditLine {
	t.Helper()
	var out []auditLine
	for _, l := range f.cl.audit.lines(t) {
		if l.Namespace == f.ns && l.Operation == operation && l.Kind == kind {
			out = append(out, l)
		}
	}
	return out
}

// client returns a client with its own rest.Config changes.
func (f *fixture) client(t *testing.T, mod func(*rest.Config)) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(f.cl.cfg)
	mod(cfg)
	c, err := client.New(cfg, client.Options{Scheme: f.cl.cp.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// warningCollector records the warnings the API server relays.
type warningCollector struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warningCollector) HandleWarningHeaderWithContext(_ context.Context, _ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

func (w *warningCollector) all() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.msgs, "\n")
}

// Builders of the objects under admission.

func containerSpec(image string, mods ...testenv.PodSpecMod) corev1.PodSpec {
	s := corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: image}}}
	for _, m := range mods {
		m(&s)
	}
	return s
}

func template(image string, mods ...testenv.PodSpecMod) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "web"}}, Spec: containerSpec(image, mods...)}
}

func deployment(ns, name, image string, mods ...testenv.PodSpecMod) *appsv1.Deployment {
	return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: appsv1.DeploymentSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: template(image, mods...)}}
}

func replicaSet(ns, name, image string, mods ...testenv.PodSpecMod) *appsv1.ReplicaSet {
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: appsv1.ReplicaSetSpec{
		Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}}, Template: template(image, mods...)}}
}

func testPod(ns, name, image string, mods ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: containerSpec(image)}
	for _, m := range mods {
		m(p)
	}
	return p
}

// withSpec applies pod spec modifiers to a test Pod.
func withSpec(mods ...testenv.PodSpecMod) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		for _, m := range mods {
			m(&p.Spec)
		}
	}
}

// ownedBy makes the Pod a child of rs, as the ReplicaSet controller would.
func ownedBy(rs *appsv1.ReplicaSet) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs.Name, UID: rs.UID, Controller: ptr.To(true)}}
	}
}

// record is an ImageVerification as the gate writes it.
func record(d name.Digest, p *policy.Policy) *igv1.ImageVerification {
	return &igv1.ImageVerification{
		ObjectMeta: metav1.ObjectMeta{Name: igv1.ImageVerificationName(d.DigestStr(), p.Hash)},
		Spec: igv1.ImageVerificationSpec{Image: d.String(), Digest: d.DigestStr(), PolicyHash: p.Hash,
			Policy: igv1.PolicyReference{Kind: p.Ref.Kind, Namespace: p.Ref.Namespace, Name: p.Ref.Name}},
	}
}
