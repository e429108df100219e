package admission

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"sync/atomic"
	"testing"

	"k8s.io/client-go/rest"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

// Failure and protection: registry outages, forged records, certificate
// rotation.

func TestRegistryDownIsATransientDenialUntilItIsBack(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	f := newFixture(t, testenv.WithOutage(&down))
	f.clusterPolicy(t)
	d := f.signedImage(t, "web")
	down.Store(true)
	mustDenyWith(t, f.cl.c.Create(t.Context(), testPod(f.ns, "web", d.String())), "[Unavailable]", "transient")
	down.Store(false)
	if err := f.cl.c.Create(t.Context(), testPod(f.ns, "web", d.String())); err != nil {
		t.Fatalf("denied after the registry came back: %v", err)
	}
}

func TestForgedImageVerificationIsDenied(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pol := f.clusterPolicy(t)
	d := f.reg.PushImage(t, "web", "v1")
	// mallory may do anything RBAC allows; the webhook still refuses.
	mallory := f.client(t, func(cfg *rest.Config) {
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "mallory", Groups: []string{"system:masters"}}
	})
	mustDenyWith(t, mallory.Create(t.Context(), record(d, pol)), "[UntrustedWriter]", `"mallory"`)

	iv := record(d, pol)
	if err := f.cl.c.Create(t.Context(), iv); err != nil {
		t.Fatalf("trusted writer denied: %v", err)
	}
	iv.Status.Result = igv1.ResultVerified
	mustDenyWith(t, mallory.Status().Update(t.Context(), iv), "[UntrustedWriter]")
	mustDenyWith(t, mallory.Delete(t.Context(), iv), "[UntrustedWriter]")
	// The controller's record collector deletes as a trusted writer.
	if err := f.cl.c.Delete(t.Context(), iv); err != nil {
		t.Fatalf("trusted writer's delete denied: %v", err)
	}
}

func TestServingCertificateRotationKeepsServing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(f.cl.ca.PEM)
	served := func() (int64, error) {
		conn, err := tls.Dial("tcp", f.cl.addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12})
		if err != nil {
			return 0, err
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64(), nil
	}
	if err := f.cl.ca.issue(f.cl.certDir, 3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rotated certificate to be served", func(context.Context) (bool, error) {
		s, err := served()
		return s == 3, err
	})
	// The API server reaches the webhook through the new certificate: the
	// denial is the webhook's own.
	mustDenyWith(t, f.cl.c.Create(t.Context(), testPod(f.ns, "web", "unpoliced.example/web:v1")), "[NoPolicy]")
}
