package gate

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/records"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/trust"
	"github.com/imagegate/imagegate/internal/verify"
)

var cp *testenv.ControlPlane

func TestMain(m *testing.M) { testenv.RunMain(m, &cp) }

var nsCounter atomic.Int32

// world is one test's sandbox: a namespace, a registry, a git server with a
// repository of manifests, a GitRepository and an ImageGate, and the
// reconciler under test.
type world struct {
	t        *testing.T
	ns       string
	reg      *testenv.Registry
	regc     *registry.Client
	git      *testenv.GitServer
	repo     string
	key      *testenv.CosignKey
	rec      *Reconciler
	policies *trust.Store
	recorder *events.FakeRecorder
}

const manifest = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: %[1]s
spec:
  template:
    spec:
      containers:
        - name: %[1]s
          image: %[2]s # {"$imagepolicy": "%[3]s:%[1]s"}
`

func newWorld(t *testing.T, apps ...string) *world {
	t.Helper()
	return newWorldWith(t, nil, apps...)
}

// newWorldWith is newWorld with a registry made with opts (a private one).
func newWorldWith(t *testing.T, opts []testenv.RegistryOption, apps ...string) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{t: t, ns: fmt.Sprintf("gate-%d", nsCounter.Add(1)), reg: testenv.NewRegistry(t, opts...), git: testenv.NewGitServer(t), key: testenv.NewCosignKey(t)}
	if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: w.ns}}); err != nil {
		t.Fatal(err)
	}
	seed := fstest.MapFS{}
	for _, app := range apps {
		seed["deploy/"+app+".yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf(manifest, app, w.reg.Repo(app)+":v0", w.ns))}
	}
	seed["README.md"] = &fstest.MapFile{Data: []byte("fleet\n")}
	w.repo = "fleet"
	url := w.git.CreateRepo(t, w.repo, seed)
	w.create(testenv.GitRepository(w.ns, "fleet", url, "main"))
	w.create(testenv.ImageGate(w.ns, "gate", "fleet", "./deploy"))
	w.create(testenv.TrustPolicy(w.ns, "signed", testenv.KeyPolicySpec(w.reg.Host()+"/**", w.key.PublicPEM)))
	for _, app := range apps {
		w.create(testenv.ImagePolicy(w.ns, app, nil))
	}
	w.regc = registry.New(registry.Options{AllowInsecure: true})
	checker := cache.NewChecker(w.regc, verify.New(w.regc), cache.CheckerOptions{})
	w.recorder = events.NewFakeRecorder(100)
	w.policies = trust.NewStore(cp.Client, secrets.Reader{Client: cp.Client}, nil, 0)
	w.rec = &Reconciler{Client: cp.Client, Checker: checker, Records: records.NewStore(cp.Client, cp.Client, checker.TTL, nil), Events: w.recorder, KubeEvents: w.recorder,
		Policies: w.policies}
	return w
}

func (w *world) create(obj client.Object) {
	w.t.Helper()
	if err := cp.Client.Create(context.Background(), obj); err != nil {
		w.t.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
	}
}

// push pushes a new image of app with tag and returns its digest.
func (w *world) push(app, tag string) name.Digest {
	w.t.Helper()
	return w.reg.PushImage(w.t, app, tag)
}

// publishSigned pushes a new image of app with tag, signs it with the
// policy's key and selects it; it returns the digest.
func (w *world) publishSigned(app, tag string) name.Digest {
	w.t.Helper()
	d := w.push(app, tag)
	testenv.SignLegacy(w.t, d, w.key)
	w.selectTag(app, tag, d)
	return d
}

// select sets an ImagePolicy's latestRef as image-reflector-controller
// does, with the digest reflected.
func (w *world) selectTag(app, tag string, d name.Digest) {
	w.t.Helper()
	ctx := context.Background()
	var ip imagev1.ImagePolicy
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: app}, &ip); err != nil {
		w.t.Fatal(err)
	}
	ip.Status.LatestRef = &imagev1.ImageRef{Name: w.reg.Repo(app), Tag: tag, Digest: d.DigestStr()}
	if err := cp.Client.Status().Update(ctx, &ip); err != nil {
		w.t.Fatal(err)
	}
}

// reconcile runs one reconcile as the controller would after the policy
// store caught up: the store is loaded first, which stands in for the
// informer events that reload it in the controller (policystore_test.go
// tests those).
func (w *world) reconcile() (ctrl.Result, error) {
	w.t.Helper()
	if err := w.policies.Load(context.Background()); err != nil {
		w.t.Fatalf("loading trust policies: %v", err)
	}
	return w.rec.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: w.ns, Name: "gate"}})
}

func (w *world) mustReconcile() {
	w.t.Helper()
	if _, err := w.reconcile(); err != nil {
		w.t.Fatalf("reconcile: %v", err)
	}
}

func (w *world) gate() *igv1.ImageGate {
	w.t.Helper()
	var g igv1.ImageGate
	if err := cp.Client.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "gate"}, &g); err != nil {
		w.t.Fatal(err)
	}
	return &g
}

func (w *world) row(policy string) igv1.PolicyStatus {
	w.t.Helper()
	for _, r := range w.gate().Status.Policies {
		if r.Policy == policy {
			return r
		}
	}
	w.t.Fatalf("no status row for %s: %+v", policy, w.gate().Status.Policies)
	return igv1.PolicyStatus{}
}

func (w *world) log() []string { return w.git.Log(w.t, w.repo, "main") }

func (w *world) file(app string) string {
	return w.git.File(w.t, w.repo, "main", "deploy/"+app+".yaml")
}

func condition(g *igv1.ImageGate, typ string) *metav1.Condition {
	for i := range g.Status.Conditions {
		if g.Status.Conditions[i].Type == typ {
			return &g.Status.Conditions[i]
		}
	}
	return nil
}

func (w *world) events() []string {
	var out []string
	for {
		select {
		case e := <-w.recorder.Events:
			out = append(out, e)
		default: // the fake recorder sends synchronously
			return out
		}
	}
}

func hasEvent(evs []string, substr string) bool {
	for _, e := range evs {
		if strings.Contains(e, substr) {
			return true
		}
	}
	return false
}
