package registry_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"testing"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestWithAllowsPlainHTTPForItsHostOnly: an ImageRepository's insecure
// flag opens plain HTTP to its own registry, not to every registry: the
// derived client resolves a tag of that registry, and refuses another
// plain-HTTP registry before sending it anything, as the process's
// HTTPS-only client refuses both.
func TestWithAllowsPlainHTTPForItsHostOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	own, other := testenv.NewRegistry(t), testenv.NewRegistry(t)
	own.PushImage(t, "app", "v1")
	other.PushImage(t, "app", "v1")
	base := newClient(t, registry.Options{})
	derived, err := base.With(registry.Access{InsecureHost: own.Host()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := base.Resolve(ctx, parse(t, base, own.Repo("app")+":v1")); err == nil {
		t.Fatal("the HTTPS-only client resolved over plain HTTP: the test proves nothing")
	}
	if _, err := derived.Resolve(ctx, parse(t, derived, own.Repo("app")+":v1")); err != nil {
		t.Fatalf("the insecure host: %v", err)
	}
	other.ResetRequests()
	_, err = derived.Resolve(ctx, parse(t, derived, other.Repo("app")+":v1"))
	wantErr(t, err, registry.ErrInsecureNotAllowed, false)
	if n := len(other.Requests()); n != 0 {
		t.Fatalf("the other registry got %d plain-HTTP requests: %v", n, other.Requests())
	}
}

// TestWithTrustsItsCAAndPresentsItsClientCertificate: a registry behind a
// private CA that demands a client certificate (certSecretRef's ca.crt,
// tls.crt, tls.key) is reached only by the client given both.
func TestWithTrustsItsCAAndPresentsItsClientCertificate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := testenv.NewRegistry(t)
	reg.PushImage(t, "app", "v1")
	front := testenv.NewTLSFront(t, reg, true)
	ref := front.Host() + "/app:v1"
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(front.CAPEM) {
		t.Fatal("CA PEM")
	}
	pair, err := tls.X509KeyPair(front.ClientCertPEM, front.ClientKeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	base := newClient(t, registry.Options{})
	caOnly, err := base.With(registry.Access{TLS: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	mutual, err := base.With(registry.Access{TLS: &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(caOnly.CloseIdleConnections)
	t.Cleanup(mutual.CloseIdleConnections)
	for what, c := range map[string]*registry.Client{"system roots": base, "the CA without a client certificate": caOnly} {
		if _, err := c.Resolve(ctx, parse(t, c, ref)); err == nil {
			t.Fatalf("%s: resolved through a registry that demands the CA and a client certificate", what)
		}
	}
	reg.ResetRequests()
	if _, err := mutual.Resolve(ctx, parse(t, mutual, ref)); err != nil {
		t.Fatalf("CA and client certificate: %v", err)
	}
	if n := count(reg, "HEAD /v2/app/manifests/v1"); n != 1 {
		t.Fatalf("%d manifest HEADs reached the registry, want 1: %v", n, reg.Requests())
	}
}

// TestWithSendsThroughItsProxyWithItsCredentials: proxySecretRef's proxy
// carries every request of the derived client, with the proxy's
// credentials; the process's client does not use it.
func TestWithSendsThroughItsProxyWithItsCredentials(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	reg := testenv.NewRegistry(t)
	reg.PushImage(t, "app", "v1")
	proxy := testenv.NewProxy(t, "proxy-user", "proxy-Passw0rd")
	base := newClient(t, insecure())
	derived, err := base.With(registry.Access{Proxy: proxy.URL("proxy-user", "proxy-Passw0rd")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(derived.CloseIdleConnections)
	wrong, err := base.With(registry.Access{Proxy: proxy.URL("proxy-user", "wrong")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(wrong.CloseIdleConnections)
	ref := reg.Repo("app") + ":v1"
	if _, err := base.Resolve(ctx, parse(t, base, ref)); err != nil {
		t.Fatal(err)
	}
	if proxy.Forwarded() != 0 {
		t.Fatalf("the process's client went through the proxy")
	}
	reg.ResetRequests()
	if _, err := derived.Resolve(ctx, parse(t, derived, ref)); err != nil {
		t.Fatalf("through the proxy: %v", err)
	}
	if got, want := proxy.Forwarded(), int64(len(reg.Requests())); got != want || got == 0 {
		t.Fatalf("the proxy forwarded %d requests, the registry got %d: %v", got, want, reg.Requests())
	}
	if _, err := wrong.Resolve(ctx, parse(t, wrong, ref)); err == nil || proxy.Refused() == 0 {
		t.Fatalf("wrong proxy credentials: err %v, %d refused", err, proxy.Refused())
	}
}
