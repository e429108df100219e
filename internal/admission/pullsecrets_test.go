package admission

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/credentials"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// privateFixture is a fixture whose registry demands the pull
// credentials, with a cluster policy trusting its key.
func privateFixture(t *testing.T) (*fixture, *testenv.BasicAuth) {
	t.Helper()
	auth := testenv.NewBasicAuth(pullUser, pullPassword)
	auth.Armed.Store(false) // signing goes through unauthenticated
	f := newFixture(t, auth.Option())
	f.clusterPolicy(t)
	return f, auth
}

// signedPrivate pushes and signs repo:v1 while the registry is open, then
// closes it.
func (f *fixture) signedPrivate(t *testing.T, auth *testenv.BasicAuth, repo string) string {
	t.Helper()
	auth.Armed.Store(false)
	d := f.signedImage(t, repo)
	auth.Armed.Store(true)
	return d.String()
}

// TestWebhookPullsWithThePodsImagePullSecrets: against a registry that
// demands credentials the webhook does not hold, a Pod naming a signed
// private image is denied without pull secrets (SignatureUnreadable: the
// registry refused the signature lookup) and admitted with them, as the
// kubelet would pull it.
func TestWebhookPullsWithThePodsImagePullSecrets(t *testing.T) {
	t.Parallel()
	f, auth := privateFixture(t)
	image := f.signedPrivate(t, auth, "web")
	if err := f.cl.c.Create(t.Context(), testPod(f.ns, "anonymous", image)); err == nil {
		t.Fatal("admitted a private image the webhook could not read")
	} else if !strings.Contains(err.Error(), string(verify.ReasonCredentialsMissing)) {
		t.Fatalf("denial: %v, want %s", err, verify.ReasonCredentialsMissing)
	}
	if auth.Refused() == 0 {
		t.Fatal("the registry refused nothing: it does not demand credentials")
	}
	if err := f.cl.c.Create(t.Context(), testenv.PullSecret(f.ns, "regcred", auth.DockerConfigJSON(f.reg.Host()))); err != nil {
		t.Fatal(err)
	}
	withSecret := testPod(f.ns, "with-secret", image, withSpec(func(s *corev1.PodSpec) {
		s.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
	}))
	if err := f.cl.c.Create(t.Context(), withSecret); err != nil {
		t.Fatalf("denied with the Pod's pull secret: %v", err)
	}
	if a := f.auditOf(t, opCreate, "Pod"); len(a) != 2 || a[1].Containers["web"].Path != string(PathVerified) {
		t.Fatalf("audit %+v", a)
	}
}

// TestWebhookPullsWithTheServiceAccountsPullSecrets: a Deployment whose
// template names a ServiceAccount with pull secrets is verified with
// them (the ServiceAccount admission plugin adds them only to Pods); a
// template naming a ServiceAccount without them is denied.
func TestWebhookPullsWithTheServiceAccountsPullSecrets(t *testing.T) {
	t.Parallel()
	f, auth := privateFixture(t)
	for _, obj := range []client.Object{
		testenv.PullSecret(f.ns, "regcred", auth.DockerConfigJSON(f.reg.Host())),
		testenv.ServiceAccount(f.ns, "puller", "regcred"),
		testenv.ServiceAccount(f.ns, "plain"),
	} {
		if err := f.cl.c.Create(t.Context(), obj); err != nil {
			t.Fatal(err)
		}
	}
	serviceAccount := func(name string) testenv.PodSpecMod {
		return func(s *corev1.PodSpec) { s.ServiceAccountName = name }
	}
	web := f.signedPrivate(t, auth, "web")
	if err := f.cl.c.Create(t.Context(), deployment(f.ns, "web", web, serviceAccount("puller"))); err != nil {
		t.Fatalf("denied with the ServiceAccount's pull secret: %v", err)
	}
	api := f.signedPrivate(t, auth, "api")
	mustDenyWith(t, f.cl.c.Create(t.Context(), deployment(f.ns, "api", api, serviceAccount("plain"))), string(verify.ReasonCredentialsMissing))
}

// TestWebhookReadsPullCredentialsOnlyOnTheVerifyPath counts what the
// webhook asks the API server for a pod spec's credentials: one GET of
// each pull secret and of the ServiceAccount when it verifies, the same
// again when it verifies the same image from its cache (the objects are
// read every time, never cached, so a changed Secret counts at once) with
// no client built twice, and nothing at all on the paths that decide
// without a registry: an unchanged UPDATE and a recorded digest. The
// credentials read reach no audit line.
func TestWebhookReadsPullCredentialsOnlyOnTheVerifyPath(t *testing.T) {
	t.Parallel()
	cl := sharedCluster(t)
	ctx := context.Background()
	const ns = "apps" // reviewOf's namespace
	if err := cl.c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	auth := testenv.NewBasicAuth(pullUser, pullPassword)
	auth.Armed.Store(false)
	reg := testenv.NewRegistry(t, auth.Option())
	key := testenv.NewCosignKey(t)
	signed := reg.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, signed, key)
	recorded := reg.PushImage(t, "app", "v2")
	auth.Armed.Store(true)

	port := strings.TrimPrefix(reg.Host(), "127.0.0.1:") // a name of this test's own
	secret, sa := "cred-"+port, "sa-"+port
	for _, obj := range []client.Object{testenv.PullSecret(ns, secret, auth.DockerConfigJSON(reg.Host())), testenv.ServiceAccount(ns, sa)} {
		if err := cl.c.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	cfg, reads := testenv.RecordAPIRequests(cl.cfg)
	reader, err := client.New(cfg, client.Options{Scheme: testenv.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	base := registry.New(registry.Options{AllowInsecure: true})
	checker := cache.NewChecker(base, verify.New(base), cache.CheckerOptions{})
	res := credentials.New(credentials.Options{Reader: reader, Registry: base, Checker: checker})
	pol := keyPolicy(t, "private", reg.Host(), key)
	recs := newRecordMap()
	recs.add(recorded.DigestStr(), pol.Hash)
	audit := &lockedBuffer{}
	h, err := NewHandler(Deps{Policies: staticPolicies{policy.NewSet([]*policy.Policy{pol})}, Records: recs,
		Checker: checker, Recorder: &countingRecorder{}, Credentials: res}, Options{Audit: audit})
	if err != nil {
		t.Fatal(err)
	}
	podOf := func(image string) *corev1.Pod {
		p := pod(image)
		p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: secret}}
		p.Spec.ServiceAccountName = sa
		return p
	}
	for _, tc := range []struct {
		name     string
		op       admissionv1.Operation
		obj, old *corev1.Pod
		path     Path
		reads    int
	}{
		{"verify", admissionv1.Create, podOf(signed.String()), nil, PathVerified, 2},
		{"verify again, from the cache", admissionv1.Create, podOf(signed.String()), nil, PathVerified, 2},
		{"unchanged", admissionv1.Update, podOf(signed.String()), podOf(signed.String()), PathUnchanged, 0},
		{"recorded", admissionv1.Create, podOf(recorded.String()), nil, PathRecorded, 0},
	} {
		credentialReads := func() []testenv.APIRequest { return append(reads.Of("secrets"), reads.Of("serviceaccounts")...) }
		before := len(credentialReads())
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, DefaultPath, bytes.NewReader(reviewOf(t, tc.op, podGVK, "alice", tc.obj, tc.old))))
		lines := audit.lines(t)
		if len(lines) == 0 || lines[len(lines)-1].Containers["c0"].Path != string(tc.path) {
			t.Fatalf("%s: want path %s; answer %s", tc.name, tc.path, w.Body)
		}
		if got := len(credentialReads()) - before; got != tc.reads {
			t.Fatalf("%s: %d reads of Secrets and ServiceAccounts, want %d", tc.name, got, tc.reads)
		}
	}
	for _, r := range append(reads.Of("secrets"), reads.Of("serviceaccounts")...) {
		if r.Verb != "get" || r.Namespace != ns {
			t.Fatalf("%+v: only gets by name in the request's namespace are expected", r)
		}
	}
	basic := base64.StdEncoding.EncodeToString([]byte(pullUser + ":" + pullPassword))
	if out := audit.String(); strings.Contains(out, pullPassword) || strings.Contains(out, basic) {
		t.Fatalf("the pod's pull credentials reached the audit log:\n%s", out)
	}
	if res.Builds() != 1 {
		t.Fatalf("%d registry clients built, want 1 (the same objects' versions twice)", res.Builds())
	}
}
