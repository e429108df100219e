package certs

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ErrNoWebhookConfiguration is returned when the webhook configuration to
// inject the CA bundle into does not exist (yet): the bundle is injected
// when it appears.
var ErrNoWebhookConfiguration = errors.New("webhook configuration not found")

// inject sets the CA bundle of every webhook in the configuration.
func (m *Manager) inject(ctx context.Context, bundle []byte) error {
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	name := m.opts.WebhookConfiguration
	if err := m.client.Get(ctx, client.ObjectKey{Name: name}, &vwc); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("ValidatingWebhookConfiguration %s: %w", name, ErrNoWebhookConfiguration)
		}
		return fmt.Errorf("reading ValidatingWebhookConfiguration %s: %w", name, err)
	}
	changed := false
	for i := range vwc.Webhooks {
		if cc := &vwc.Webhooks[i].ClientConfig; !bytes.Equal(cc.CABundle, bundle) {
			cc.CABundle = bundle
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := m.client.Update(ctx, &vwc, client.FieldOwner(m.opts.FieldOwner)); err != nil {
		return fmt.Errorf("setting the CA bundle of ValidatingWebhookConfiguration %s: %w", name, err)
	}
	return nil
}
