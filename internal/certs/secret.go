package certs

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ensureSecret creates the Secret or renews what in it needs renewing,
// and returns its data as stored. A create or update that lost a race to
// another replica returns the API error (AlreadyExists, Conflict): the
// caller reads again.
func (m *Manager) ensureSecret(ctx context.Context) (map[string][]byte, time.Time, error) {
	key := client.ObjectKey{Namespace: m.opts.Namespace, Name: m.opts.SecretName}
	now := m.opts.Clock.Now()
	var sec corev1.Secret
	err := m.client.Get(ctx, key, &sec)
	switch {
	case apierrors.IsNotFound(err):
		data, _, next, err := m.opts.plan(nil, now)
		if err != nil {
			return nil, time.Time{}, err
		}
		sec = corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Labels: map[string]string{
				"app.kubernetes.io/name": "imagegate", "app.kubernetes.io/component": "webhook",
				"app.kubernetes.io/managed-by": m.opts.FieldOwner,
			}},
			Type: corev1.SecretTypeTLS,
			Data: data,
		}
		if err := m.client.Create(ctx, &sec, client.FieldOwner(m.opts.FieldOwner)); err != nil {
			return nil, time.Time{}, fmt.Errorf("creating Secret %s: %w", key, err)
		}
		return data, next, nil
	case err != nil:
		return nil, time.Time{}, fmt.Errorf("reading Secret %s: %w", key, err)
	}
	data, changed, next, err := m.opts.plan(sec.Data, now)
	if err != nil || !changed {
		return data, next, err
	}
	sec.Data = data
	if err := m.client.Update(ctx, &sec, client.FieldOwner(m.opts.FieldOwner)); err != nil {
		return nil, time.Time{}, fmt.Errorf("renewing the certificates in Secret %s: %w", key, err)
	}
	return data, next, nil
}
