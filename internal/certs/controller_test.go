package certs_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/certs"
)

// TestControllerReinjectsABundleRemovedByAnApply runs the controller as
// the webhook does and removes the CA bundle the way re-applying the
// configuration from Git would: it comes back.
func TestControllerReinjectsABundleRemovedByAnApply(t *testing.T) {
	t.Parallel()
	opts := setup(t)
	m := newManager(t, opts)
	cp.StartManager(t, nil, ctrl.Options{Cache: ctrlcache.Options{ByObject: certs.CacheOptions(opts)}}, m.SetupWithManager)

	// The configuration appears after the webhook started.
	createWebhookConfiguration(t, opts)
	waitForBundle(t, opts)

	vwc := getWebhookConfiguration(t, opts)
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].ClientConfig.CABundle = nil
	}
	if err := cp.Client.Update(t.Context(), vwc); err != nil {
		t.Fatal(err)
	}
	waitForBundle(t, opts)
}

// waitForBundle waits until every webhook of the configuration carries the
// Secret's CA bundle.
func waitForBundle(t *testing.T, opts certs.Options) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		var sec corev1.Secret
		if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: opts.Namespace, Name: opts.SecretName}, &sec); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		for _, h := range getWebhookConfiguration(t, opts).Webhooks {
			if len(h.ClientConfig.CABundle) == 0 || !bytes.Equal(h.ClientConfig.CABundle, sec.Data[certs.KeyCABundle]) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("the CA bundle was not injected: %v", err)
	}
}
