package gate

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

// useRepository points the world's gate at a GitRepository on srv holding
// the world's manifests, and returns that GitRepository for editing
// before it is created.
func (w *world) useRepository(srv *testenv.GitServer, name string, apps ...string) *sourcev1.GitRepository {
	w.t.Helper()
	seed := fstest.MapFS{}
	for _, app := range apps {
		seed["deploy/"+app+".yaml"] = &fstest.MapFile{Data: []byte(fmt.Sprintf(manifest, app, w.reg.Repo(app)+":v0", w.ns))}
	}
	url := srv.CreateRepo(w.t, name, seed)
	g := w.gate()
	g.Spec.SourceRef.Name = name
	if err := cp.Client.Update(context.Background(), g); err != nil {
		w.t.Fatal(err)
	}
	w.git, w.repo = srv, name
	return testenv.GitRepository(w.ns, name, url, "main")
}

// TestGitHubAppProviderWritesThroughTheProxy: a GitRepository with
// provider: github and a proxySecretRef, as Flux users write one for a
// GitHub App behind an egress proxy. The gate exchanges the App's key for
// an installation token (one API request, cached across reconciles), and
// both the token request and every Git request go through the proxy.
func TestGitHubAppProviderWritesThroughTheProxy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	api := testenv.NewGitHubAPI(t)
	git := testenv.NewGitServer(t, testenv.WithBasicAuth("x-access-token", api.Token+"-77"))
	proxy := testenv.NewProxy(t, "egress", "proxy-Passw0rd")
	repo := w.useRepository(git, "fleet-gh", "web")
	repo.Spec.Provider = sourcev1.GitProviderGitHub
	repo.Spec.SecretRef = &meta.LocalObjectReference{Name: "github-app"}
	repo.Spec.ProxySecretRef = &meta.LocalObjectReference{Name: "egress"}
	w.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "github-app"}, Data: api.SecretData(nil)})
	w.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "egress"}, Data: map[string][]byte{
		"address": []byte(proxy.Address()), "username": []byte("egress"), "password": []byte("proxy-Passw0rd"),
	}})
	w.create(repo)

	d1 := w.publishSigned("web", "v1.0.0")
	w.mustReconcile()
	d2 := w.publishSigned("web", "v1.1.0")
	w.mustReconcile()

	if f := w.file("web"); !strings.Contains(f, w.reg.Repo("web")+":v1.1.0@"+d2.DigestStr()) {
		t.Fatalf("deploy/web.yaml not pinned to v1.1.0:\n%s", f)
	}
	if got := subjects(w.log()); len(got) != 3 {
		t.Fatalf("main = %q, want the seed and two commits (v1.0.0 as %s, then v1.1.0)", got, d1.DigestStr())
	}
	if got := api.Requests(); got != 1 {
		t.Errorf("GitHub API requests over two reconciles = %d, want 1 (the token is cached)", got)
	}
	if proxy.Forwarded() == 0 || proxy.Refused() != 0 {
		t.Errorf("proxy relayed %d, refused %d: want everything through it, with its credentials", proxy.Forwarded(), proxy.Refused())
	}
	if c := condition(w.gate(), igv1.ReadyCondition); c == nil || c.Status != metav1.ConditionTrue {
		t.Fatalf("Ready = %+v", c)
	}
}

// TestProvidersAndProxiesThatCannotWorkAreStalled: an unsupported provider,
// provider github without a Secret or with a broken one, and a proxy
// Secret without an address each make the gate Stalled, naming the
// GitRepository and what to fix; nothing is pushed.
func TestProvidersAndProxiesThatCannotWorkAreStalled(t *testing.T) {
	t.Parallel()
	api := testenv.NewGitHubAPI(t)
	for _, tc := range []struct {
		name   string
		edit   func(*sourcev1.GitRepository)
		secret map[string][]byte
		want   string
	}{
		{"azure", func(r *sourcev1.GitRepository) { r.Spec.Provider = sourcev1.GitProviderAzure }, nil, `provider "azure" is not supported`},
		{"github without secret", func(r *sourcev1.GitRepository) { r.Spec.Provider = sourcev1.GitProviderGitHub }, nil, "provider github needs spec.secretRef"},
		{"github with a broken secret", func(r *sourcev1.GitRepository) {
			r.Spec.Provider = sourcev1.GitProviderGitHub
			r.Spec.SecretRef = &meta.LocalObjectReference{Name: "s"}
		}, api.SecretData(map[string]string{"githubAppPrivateKey": "not a key"}), "githubAppPrivateKey is not a PEM private key"},
		{"proxy without address", func(r *sourcev1.GitRepository) { r.Spec.ProxySecretRef = &meta.LocalObjectReference{Name: "s"} }, map[string][]byte{"username": []byte("u")}, "address is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "web")
			var repo sourcev1.GitRepository
			if err := cp.Client.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "fleet"}, &repo); err != nil {
				t.Fatal(err)
			}
			tc.edit(&repo)
			if err := cp.Client.Update(context.Background(), &repo); err != nil {
				t.Fatal(err)
			}
			if tc.secret != nil {
				w.create(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "s"}, Data: tc.secret})
			}
			w.publishSigned("web", "v1.0.0")
			before := len(w.log())
			if _, err := w.reconcile(); err != nil {
				t.Fatalf("reconcile of a Stalled gate returned %v, want nil (not retried)", err)
			}
			s := condition(w.gate(), igv1.StalledCondition)
			if s == nil || s.Status != metav1.ConditionTrue || !strings.Contains(s.Message, tc.want) || !strings.Contains(s.Message, "GitRepository "+w.ns+"/fleet") {
				t.Fatalf("Stalled = %+v, want True naming the GitRepository and %q", s, tc.want)
			}
			if len(w.log()) != before {
				t.Fatal("a Stalled gate pushed")
			}
		})
	}
	if api.Requests() != 0 {
		t.Errorf("GitHub API requests = %d, want none for Secrets that cannot work", api.Requests())
	}
}

func subjects(log []string) []string {
	out := make([]string, len(log))
	for i, l := range log {
		_, out[i], _ = strings.Cut(l, " ")
	}
	return out
}
