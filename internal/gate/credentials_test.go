package gate

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/credentials"
	"github.com/imagegate/imagegate/internal/records"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// Credentials of the private registry, which must never reach status,
// events or logs.
const (
	pullUser      = "robot"
	pullPassword  = "gate-Pull-Passw0rd-5e1d"
	proxyPassword = "gate-Proxy-Passw0rd-9c2a"
)

// privateWorld is a world whose registry demands credentials, with web:v1
// pushed, signed and selected, and a reconciler that reads each
// selection's credentials from its ImageRepository.
func privateWorld(t *testing.T) (*world, *testenv.BasicAuth) {
	t.Helper()
	auth := testenv.NewBasicAuth(pullUser, pullPassword)
	auth.Armed.Store(false) // signing goes through unauthenticated
	w := newWorldWith(t, []testenv.RegistryOption{auth.Option()}, "web")
	w.publishSigned("web", "v1")
	auth.Armed.Store(true)
	w.useCredentials(registry.Options{AllowInsecure: true}, 0)
	return w, auth
}

// useCredentials gives the reconciler a process client made with o and a
// credentials resolver keeping at most maxClients clients.
func (w *world) useCredentials(o registry.Options, maxClients int) *credentials.Resolver {
	w.t.Helper()
	w.regc = registry.New(o)
	checker := cache.NewChecker(w.regc, verify.New(w.regc), cache.CheckerOptions{})
	res := credentials.New(credentials.Options{Reader: cp.Client, Registry: w.regc, Checker: checker, MaxClients: maxClients})
	w.rec.Checker, w.rec.Credentials = checker, res
	w.rec.Records = records.NewStore(cp.Client, cp.Client, checker.TTL, nil)
	return res
}

func (w *world) update(obj client.Object, change func()) {
	w.t.Helper()
	if err := cp.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		w.t.Fatal(err)
	}
	change()
	if err := cp.Client.Update(context.Background(), obj); err != nil {
		w.t.Fatalf("update %T %s: %v", obj, obj.GetName(), err)
	}
}

// wantRow reconciles and checks the web row's reason and the commits made.
func (w *world) wantRow(reason verify.Reason, commits int) {
	w.t.Helper()
	before := len(w.log())
	w.mustReconcile()
	row := w.row("web")
	if row.Reason != string(reason) {
		w.t.Fatalf("web: reason %s (%s), want %s", row.Reason, row.Message, reason)
	}
	if n := len(w.log()) - before; n != commits {
		w.t.Fatalf("web: %d commits, want %d", n, commits)
	}
}

// TestImageRepositorySecretRefVerifiesAPrivateImage: against a registry
// that demands credentials, a selection whose ImageRepository has no
// secretRef is blocked as CredentialsMissing (the selection carries its
// reflected digest, so the first refusal is the signature lookup's); once the ImageRepository names a pull secret, the same selection
// verifies and is written, every request after the ping carrying the
// credentials.
func TestImageRepositorySecretRefVerifiesAPrivateImage(t *testing.T) {
	t.Parallel()
	w, auth := privateWorld(t)
	repo := testenv.ImageRepository(w.ns, "web", w.reg.Repo("web"))
	w.create(repo)
	w.wantRow(verify.ReasonCredentialsMissing, 0)
	if auth.Refused() == 0 {
		t.Fatal("the registry refused nothing: it does not demand credentials, the test proves nothing")
	}

	w.create(testenv.PullSecret(w.ns, "regcred", auth.DockerConfigJSON(w.reg.Host())))
	w.update(repo, func() { repo.Spec.SecretRef = &meta.LocalObjectReference{Name: "regcred"} })
	w.reg.ResetRequests()
	refused := auth.Refused()
	w.wantRow(verify.ReasonVerified, 1)
	pings := 0
	for _, r := range w.reg.Requests() {
		if r == "GET /v2/" {
			pings++
		}
	}
	if got := auth.Refused() - refused; got != int64(pings) || pings == 0 {
		t.Fatalf("%d requests refused and %d pings (%v); want every request but the unauthenticated ping to carry the credentials", got, pings, w.reg.Requests())
	}
	wantNoCredentials(t, w)
}

// TestImageRepositoryServiceAccountPullSecrets: serviceAccountName's
// imagePullSecrets are used as Flux uses them, and a pull secret the
// ServiceAccount lists that does not exist blocks the selection with
// CredentialsInvalid, sending the registry nothing.
func TestImageRepositoryServiceAccountPullSecrets(t *testing.T) {
	t.Parallel()
	w, auth := privateWorld(t)
	w.create(testenv.ServiceAccount(w.ns, "broken", "missing"))
	repo := testenv.ImageRepository(w.ns, "web", w.reg.Repo("web"), testenv.WithServiceAccountName("broken"))
	w.create(repo)
	w.reg.ResetRequests()
	w.wantRow(verify.ReasonCredentialsInvalid, 0)
	if msg := w.row("web").Message; !strings.Contains(msg, "Secret "+w.ns+"/missing not found") {
		t.Fatalf("the message does not name the missing Secret: %s", msg)
	}
	if n := len(w.reg.Requests()); n != 0 {
		t.Fatalf("unusable credentials still sent %d requests: %v", n, w.reg.Requests())
	}

	w.create(testenv.PullSecret(w.ns, "regcred", auth.DockerConfigJSON(w.reg.Host())))
	w.create(testenv.ServiceAccount(w.ns, "puller", "regcred"))
	w.update(repo, func() { repo.Spec.ServiceAccountName = "puller" })
	w.wantRow(verify.ReasonVerified, 1)
	wantNoCredentials(t, w)
}

// TestImageRepositoryCannotReadAnotherNamespacesCredentials is the attack
// of tenant B on tenant A's pull secret: B's ImageRepository names A's
// Secret by name, and is refused because Secrets are read only from the
// ImageRepository's own namespace (as Flux does); B's ImagePolicy naming
// A's ImageRepository itself gets none of A's credentials either. Neither
// reaches the registry with A's credentials.
func TestImageRepositoryCannotReadAnotherNamespacesCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w, auth := privateWorld(t)
	tenantA := w.ns + "-tenant-a"
	w.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: tenantA}})
	w.create(testenv.PullSecret(tenantA, "regcred", auth.DockerConfigJSON(w.reg.Host())))
	w.create(testenv.ImageRepository(tenantA, "web", w.reg.Repo("web"), testenv.WithSecretRef("regcred")))

	w.create(testenv.ImageRepository(w.ns, "web", w.reg.Repo("web"), testenv.WithSecretRef("regcred")))
	w.reg.ResetRequests()
	w.wantRow(verify.ReasonCredentialsInvalid, 0)
	if msg := w.row("web").Message; !strings.Contains(msg, "Secret "+w.ns+"/regcred not found") {
		t.Fatalf("the message does not say the Secret was looked up in the ImageRepository's namespace: %s", msg)
	}
	if n := len(w.reg.Requests()); n != 0 {
		t.Fatalf("%d registry requests: %v", n, w.reg.Requests())
	}

	var ip imagev1.ImagePolicy
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "web"}, &ip); err != nil {
		t.Fatal(err)
	}
	w.update(&ip, func() { ip.Spec.ImageRepositoryRef.Namespace = tenantA })
	refused := auth.Refused()
	w.wantRow(verify.ReasonCredentialsMissing, 0)
	if auth.Refused() == refused {
		t.Fatal("the registry refused nothing: tenant A's credentials were used for tenant B's selection")
	}
}

// TestImageRepositoryCertSecretRef: a registry behind a private CA that
// demands a client certificate is reached with certSecretRef's ca.crt,
// tls.crt and tls.key (read with Flux's reader), and not without them.
func TestImageRepositoryCertSecretRef(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	front := testenv.NewTLSFront(t, w.reg, true)
	d := w.push("web", "v1")
	testenv.SignLegacy(t, d, w.key)
	w.create(testenv.TrustPolicy(w.ns, "front", testenv.KeyPolicySpec(front.Host()+"/**", w.key.PublicPEM)))
	w.selectRef("web", front.Host()+"/web", "v1", d)
	w.useCredentials(registry.Options{}, 0) // HTTPS only
	repo := testenv.ImageRepository(w.ns, "web", front.Host()+"/web")
	w.create(repo)
	before := len(w.log())
	w.mustReconcile()
	if row := w.row("web"); row.Verified || len(w.log()) != before {
		t.Fatalf("verified without the CA and client certificate: %+v", row)
	}

	w.create(testenv.OpaqueSecret(w.ns, "registry-tls", map[string]string{
		"ca.crt": string(front.CAPEM), "tls.crt": string(front.ClientCertPEM), "tls.key": string(front.ClientKeyPEM)}))
	w.update(repo, func() { repo.Spec.CertSecretRef = &meta.LocalObjectReference{Name: "registry-tls"} })
	w.wantRow(verify.ReasonVerified, 1)
	if !strings.Contains(w.file("web"), front.Host()+"/web:v1@"+d.DigestStr()) {
		t.Fatalf("the pinned reference is not in Git:\n%s", w.file("web"))
	}
	if status, _ := json.Marshal(w.gate().Status); strings.Contains(string(status), "PRIVATE KEY") {
		t.Fatal("the client key reached the ImageGate's status")
	}
}

// TestImageRepositoryInsecure: with an HTTPS-only process, spec.insecure
// opens plain HTTP for that ImageRepository's registry; without it nothing
// is sent over plain HTTP.
func TestImageRepositoryInsecure(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	w.publishSigned("web", "v1")
	w.useCredentials(registry.Options{}, 0)
	repo := testenv.ImageRepository(w.ns, "web", w.reg.Repo("web"))
	w.create(repo)
	w.reg.ResetRequests()
	w.mustReconcile()
	if row := w.row("web"); row.Verified {
		t.Fatalf("verified over plain HTTP without spec.insecure: %+v", row)
	}
	if n := len(w.reg.Requests()); n != 0 {
		t.Fatalf("%d plain-HTTP requests without spec.insecure: %v", n, w.reg.Requests())
	}
	w.update(repo, func() { repo.Spec.Insecure = true })
	w.wantRow(verify.ReasonVerified, 1)
}

// TestImageRepositoryProxySecretRef: proxySecretRef's proxy carries the
// selection's requests, with the proxy's credentials; the password is
// nowhere in status.
func TestImageRepositoryProxySecretRef(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	w.publishSigned("web", "v1")
	proxy := testenv.NewProxy(t, "proxy-user", proxyPassword)
	w.useCredentials(registry.Options{AllowInsecure: true}, 0)
	w.create(testenv.OpaqueSecret(w.ns, "proxy", map[string]string{"address": proxy.Address(), "username": "proxy-user", "password": proxyPassword}))
	w.create(testenv.ImageRepository(w.ns, "web", w.reg.Repo("web"), testenv.WithProxySecretRef("proxy")))
	w.reg.ResetRequests()
	w.wantRow(verify.ReasonVerified, 1)
	if got, want := proxy.Forwarded(), int64(len(w.reg.Requests())); got != want || got == 0 || proxy.Refused() != 0 {
		t.Fatalf("the proxy forwarded %d and refused %d; the registry got %d", got, proxy.Refused(), want)
	}
	wantNoCredentials(t, w)
}

// TestImageRepositoryProviderIsCheckedBeforeAnyRequest: a cloud provider
// that cannot issue credentials for the ImageRepository's registry (aws
// for a registry that is not ECR), and a provider with
// serviceAccountName (object-level workload identity, which imagegate
// does not take on), block the selection as CredentialsInvalid with a
// message saying what to change, before anything is sent.
func TestImageRepositoryProviderIsCheckedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	w.publishSigned("web", "v1")
	w.useCredentials(registry.Options{AllowInsecure: true}, 0)
	repo := testenv.ImageRepository(w.ns, "web", w.reg.Repo("web"), testenv.WithProvider("aws"))
	w.create(repo)
	w.reg.ResetRequests()
	w.wantRow(verify.ReasonCredentialsInvalid, 0)
	if msg := w.row("web").Message; !strings.Contains(msg, `spec.provider "aws" cannot issue credentials for spec.image`) || !strings.Contains(msg, "invalid AWS registry") {
		t.Fatalf("message: %s", msg)
	}

	w.update(repo, func() {
		repo.Spec.Image = "europe-docker.pkg.dev/acme/web"
		repo.Spec.Provider = "gcp"
		repo.Spec.ServiceAccountName = "web"
	})
	w.wantRow(verify.ReasonCredentialsInvalid, 0)
	if msg := w.row("web").Message; !strings.Contains(msg, "object-level workload identity") || !strings.Contains(msg, "remove spec.serviceAccountName") {
		t.Fatalf("message: %s", msg)
	}
	if n := len(w.reg.Requests()); n != 0 {
		t.Fatalf("%d registry requests: %v", n, w.reg.Requests())
	}
}

// TestCredentialClientsAreBoundedAndReused: with room for every
// ImageRepository's client, a second reconcile builds none (the objects'
// versions did not change); with room for fewer (--max-registry-clients),
// no more are kept than the bound, and the evicted ones are rebuilt.
func TestCredentialClientsAreBoundedAndReused(t *testing.T) {
	t.Parallel()
	apps := []string{"a", "b", "c"}
	for _, tc := range []struct {
		max, kept    int
		secondBuilds int64
	}{{max: 3, kept: 3, secondBuilds: 0}, {max: 2, kept: 2, secondBuilds: 3}} {
		w := newWorld(t, apps...)
		for _, app := range apps {
			w.selectTag(app, "v1", w.push(app, "v1")) // unsigned: denied, so never approved from a record
			w.create(testenv.PullSecret(w.ns, app+"-cred", []byte(`{"auths":{}}`)))
			w.create(testenv.ImageRepository(w.ns, app, w.reg.Repo(app), testenv.WithSecretRef(app+"-cred")))
		}
		res := w.useCredentials(registry.Options{AllowInsecure: true}, tc.max)
		w.mustReconcile()
		first := res.Builds()
		w.mustReconcile()
		if first != 3 || res.Builds()-first != tc.secondBuilds || res.Len() != tc.kept {
			t.Fatalf("max %d: %d builds, then %d; %d kept; want 3, then %d; %d kept", tc.max, first, res.Builds()-first, res.Len(), tc.secondBuilds, tc.kept)
		}
	}
}

// selectRef is selectTag for an image name other than the registry's own
// (a TLS front).
func (w *world) selectRef(app, imageName, tag string, d name.Digest) {
	w.t.Helper()
	var ip imagev1.ImagePolicy
	if err := cp.Client.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: app}, &ip); err != nil {
		w.t.Fatal(err)
	}
	ip.Status.LatestRef = &imagev1.ImageRef{Name: imageName, Tag: tag, Digest: d.DigestStr()}
	if err := cp.Client.Status().Update(context.Background(), &ip); err != nil {
		w.t.Fatal(err)
	}
}

// wantNoCredentials checks that no password, basic auth header or
// docker config reached the ImageGate's status or the events.
func wantNoCredentials(t *testing.T, w *world) {
	t.Helper()
	status, err := json.Marshal(w.gate().Status)
	if err != nil {
		t.Fatal(err)
	}
	out := string(status) + strings.Join(w.events(), "\n")
	for what, v := range map[string]string{
		"the pull password": pullPassword, "the proxy password": proxyPassword,
		"the basic auth header": base64.StdEncoding.EncodeToString([]byte(pullUser + ":" + pullPassword)),
	} {
		if strings.Contains(out, v) {
			t.Errorf("%s reached status or events:\n%s", what, out)
		}
	}
}
