package testenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BasicAuth makes a Registry demand a user and password, as a private
// registry does, once Armed (signing through cosign's default transport
// goes through the middleware, so tests arm it after setup). It counts
// what it refused.
type BasicAuth struct {
	User, Password string
	Armed          atomic.Bool
	refused        atomic.Int64
}

// NewBasicAuth returns an armed BasicAuth for user and password; disarm it
// for setup that must go through unauthenticated.
func NewBasicAuth(user, password string) *BasicAuth {
	b := &BasicAuth{User: user, Password: password}
	b.Armed.Store(true)
	return b
}

// Option returns the middleware for NewRegistry.
func (b *BasicAuth) Option() RegistryOption {
	want := []byte(b.User + ":" + b.Password)
	return WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if b.Armed.Load() && (!ok || subtle.ConstantTimeCompare([]byte(u+":"+p), want) != 1) {
				b.refused.Add(1)
				w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
}

// Refused is how many requests were answered 401.
func (b *BasicAuth) Refused() int64 { return b.refused.Load() }

// DockerConfigJSON is a .dockerconfigjson payload with b's credentials for
// each host.
func (b *BasicAuth) DockerConfigJSON(hosts ...string) []byte {
	auth := base64.StdEncoding.EncodeToString([]byte(b.User + ":" + b.Password))
	entries := make([]string, 0, len(hosts))
	for _, h := range hosts {
		entries = append(entries, fmt.Sprintf("%q:{\"auth\":%q}", h, auth))
	}
	return []byte(`{"auths":{` + strings.Join(entries, ",") + `}}`)
}

// TLSFront serves a Registry over HTTPS on 127.0.0.1 with a certificate
// of a CA made for the test, optionally demanding a client certificate of
// that CA: a registry with a private CA and mutual TLS. Requests are
// forwarded to the Registry, which records them as its own.
type TLSFront struct {
	srv *httptest.Server
	// CAPEM is the CA certificate (ca.crt); ClientCertPEM and
	// ClientKeyPEM are a client certificate it issued (tls.crt, tls.key).
	CAPEM, ClientCertPEM, ClientKeyPEM []byte
}

// NewTLSFront starts an HTTPS front for reg; it is closed in t.Cleanup.
func NewTLSFront(t testing.TB, reg *Registry, requireClientCert bool) *TLSFront {
	t.Helper()
	ca := newTestCA(t)
	serverCert := ca.issue(t, "registry", x509.ExtKeyUsageServerAuth)
	f := &TLSFront{CAPEM: ca.certPEM}
	f.ClientCertPEM, f.ClientKeyPEM = ca.issuePEM(t, "imagegate", x509.ExtKeyUsageClientAuth)
	target := &url.URL{Scheme: "http", Host: reg.Host()}
	f.srv = httptest.NewUnstartedServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		r.SetURL(target)
		r.Out.Host = r.In.Host // the registry builds its Location headers from it
	}})
	cfg := &tls.Config{Certificates: []tls.Certificate{serverCert}, MinVersion: tls.VersionTLS12}
	if requireClientCert {
		cfg.ClientAuth, cfg.ClientCAs = tls.RequireAndVerifyClientCert, ca.pool
	}
	f.srv.TLS = cfg
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are what tests provoke
	f.srv.StartTLS()
	t.Cleanup(func() {
		f.srv.CloseClientConnections()
		f.srv.Close()
	})
	return f
}

// NewTLSServerFor serves h over HTTPS on 127.0.0.1 with a certificate for
// names from a CA made for the test, whose PEM it returns: a server a
// client reaches at those names through a Proxy with a Route to it. It is
// closed in t.Cleanup.
func NewTLSServerFor(t testing.TB, h http.Handler, names ...string) (srv *httptest.Server, caPEM []byte) {
	t.Helper()
	ca := newTestCA(t)
	srv = httptest.NewUnstartedServer(h)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.issue(t, names[0], x509.ExtKeyUsageServerAuth, names...)}, MinVersion: tls.VersionTLS12}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, ca.certPEM
}

// Host returns "127.0.0.1:PORT" of the HTTPS front.
func (f *TLSFront) Host() string { return f.srv.Listener.Addr().String() }

type testCA struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	pool    *x509.CertPool
}

func newTestCA(t testing.TB) *testCA {
	t.Helper()
	key := newECKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "imagegate test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("testenv: CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("testenv: parse CA certificate: %v", err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &testCA{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pool: pool}
}

var testSerial atomic.Int64

// issuePEM issues a certificate for 127.0.0.1 and dnsNames with usage and
// returns it and its key in PEM.
func (ca *testCA) issuePEM(t testing.TB, cn string, usage x509.ExtKeyUsage, dnsNames ...string) (certPEM, keyPEM []byte) {
	t.Helper()
	key := newECKey(t)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(testSerial.Add(1) + 1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: dnsNames,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("testenv: issue %s: %v", cn, err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatalf("testenv: marshal key of %s: %v", cn, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func (ca *testCA) issue(t testing.TB, cn string, usage x509.ExtKeyUsage, dnsNames ...string) tls.Certificate {
	t.Helper()
	c, k := ca.issuePEM(t, cn, usage, dnsNames...)
	pair, err := tls.X509KeyPair(c, k)
	if err != nil {
		t.Fatalf("testenv: key pair of %s: %v", cn, err)
	}
	return pair
}

func newECKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("testenv: key: %v", err)
	}
	return key
}
