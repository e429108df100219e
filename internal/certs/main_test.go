package certs_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/certs"
	"github.com/imagegate/imagegate/internal/testenv"
)

var cp *testenv.ControlPlane

func TestMain(m *testing.M) { testenv.RunMain(m, &cp) }

var nsCounter atomic.Int64

// setup makes a namespace and a webhook configuration of two webhooks
// without CA bundle, and returns options naming them.
func setup(t *testing.T) certs.Options {
	t.Helper()
	ctx := t.Context()
	n := nsCounter.Add(1)
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("certs-%d", n)}}
	if err := cp.Client.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	opts := certs.Options{
		Namespace: ns.Name, SecretName: "imagegate-webhook-tls", ServiceName: "imagegate-webhook",
		WebhookConfiguration: fmt.Sprintf("imagegate-certs-%d", n), CertDir: t.TempDir(),
	}
	return opts
}

// createWebhookConfiguration creates the configuration opts name.
func createWebhookConfiguration(t *testing.T, opts certs.Options) {
	t.Helper()
	hook := func(name string) admissionregistrationv1.ValidatingWebhook {
		return admissionregistrationv1.ValidatingWebhook{
			Name: name,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{Service: &admissionregistrationv1.ServiceReference{
				Namespace: opts.Namespace, Name: opts.ServiceName, Path: ptr.To("/validate"),
			}},
			// Matches nothing the tests create.
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
				Rule:       admissionregistrationv1.Rule{APIGroups: []string{"example.invalid"}, APIVersions: []string{"v1"}, Resources: []string{"nothings"}},
			}},
			SideEffects: ptr.To(admissionregistrationv1.SideEffectClassNone), AdmissionReviewVersions: []string{"v1"},
		}
	}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: opts.WebhookConfiguration},
		Webhooks:   []admissionregistrationv1.ValidatingWebhook{hook("a.imagegate.dev"), hook("b.imagegate.dev")},
	}
	if err := cp.Client.Create(t.Context(), vwc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), vwc) })
}

func newManager(t *testing.T, opts certs.Options) *certs.Manager {
	t.Helper()
	m, err := certs.New(cp.Client, opts)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func getSecret(t *testing.T, opts certs.Options) *corev1.Secret {
	t.Helper()
	var s corev1.Secret
	if err := cp.Client.Get(t.Context(), client.ObjectKey{Namespace: opts.Namespace, Name: opts.SecretName}, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func getWebhookConfiguration(t *testing.T, opts certs.Options) *admissionregistrationv1.ValidatingWebhookConfiguration {
	t.Helper()
	var v admissionregistrationv1.ValidatingWebhookConfiguration
	if err := cp.Client.Get(t.Context(), client.ObjectKey{Name: opts.WebhookConfiguration}, &v); err != nil {
		t.Fatal(err)
	}
	return &v
}

func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// parseCerts parses every certificate of a PEM bundle.
func parseCerts(t *testing.T, b []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var blk *pem.Block
		if blk, b = pem.Decode(b); blk == nil {
			return out
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
}

// verifyServing checks that the serving certificate chains to bundle for
// the Service's cluster DNS name at now.
func verifyServing(t *testing.T, certPEM, bundle []byte, opts certs.Options, now time.Time) {
	t.Helper()
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(bundle) {
		t.Fatal("the CA bundle holds no certificate")
	}
	host := opts.ServiceName + "." + opts.Namespace + ".svc"
	if _, err := parseCerts(t, certPEM)[0].Verify(x509.VerifyOptions{Roots: roots, DNSName: host, CurrentTime: now}); err != nil {
		t.Errorf("serving certificate for %s does not verify against the CA bundle: %v", host, err)
	}
}
