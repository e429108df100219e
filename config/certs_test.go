package config_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/certs"
)

// TestSelfManagedCertificatesUnderTheWebhooksRBAC runs the certificate
// controller exactly as `imagegate webhook --cert-mode=self-managed` does,
// as the webhook's service account with config/default's RBAC only: the
// Secret is created, and the webhook configuration (watched by name) gets
// the CA bundle, also after it is re-applied without it.
func TestSelfManagedCertificatesUnderTheWebhooksRBAC(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	createRBAC(t)
	var vwc *admissionregistrationv1.ValidatingWebhookConfiguration
	for _, m := range render(t, "default") {
		if m.obj.GetKind() == "ValidatingWebhookConfiguration" {
			vwc = &admissionregistrationv1.ValidatingWebhookConfiguration{}
			fromUnstructured(t, m, vwc)
		}
	}
	// Rules that match nothing: no webhook server runs in this test.
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].Rules = []admissionregistrationv1.RuleWithOperations{{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
			Rule:       admissionregistrationv1.Rule{APIGroups: []string{"example.invalid"}, APIVersions: []string{"v1"}, Resources: []string{"nothings"}},
		}}
	}
	if err := cp.Client.Create(ctx, vwc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), vwc) })

	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + installNamespace + ":imagegate-webhook"}
	opts := certs.Options{
		Namespace: installNamespace, SecretName: "imagegate-webhook-tls", ServiceName: "imagegate-webhook",
		WebhookConfiguration: "imagegate", CertDir: t.TempDir(),
	}
	m, err := certs.New(cp.Impersonate(t, cfg.Impersonate.UserName), opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure(ctx); err != nil {
		t.Fatalf("as the webhook's service account: %v", err)
	}
	// Watches RBAC denies fail the manager, which fails the test.
	cp.StartManager(t, cfg, ctrl.Options{Cache: ctrlcache.Options{ByObject: certs.CacheOptions(opts)}}, m.SetupWithManager)
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(vwc), vwc); err != nil {
		t.Fatal(err)
	}
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].ClientConfig.CABundle = nil
	}
	if err := cp.Client.Update(ctx, vwc); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var sec corev1.Secret
		if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: installNamespace, Name: opts.SecretName}, &sec); err != nil {
			return false, err
		}
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(vwc), vwc); err != nil {
			return false, err
		}
		for _, h := range vwc.Webhooks {
			if len(h.ClientConfig.CABundle) == 0 || !bytes.Equal(h.ClientConfig.CABundle, sec.Data[certs.KeyCABundle]) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("the CA bundle was not re-injected under the webhook's RBAC: %v", err)
	}
}
