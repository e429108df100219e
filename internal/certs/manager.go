package certs

import (
	"context"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Manager keeps the certificates. Its client should read from the API
// server, not a cache: after losing a race the winner's write must be seen.
type Manager struct {
	client client.Client
	opts   Options
}

// New checks opts and returns a Manager.
func New(c client.Client, opts Options) (*Manager, error) {
	opts.defaults()
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Manager{client: c, opts: opts}, nil
}

// Ensure makes the Secret, the files in the certificate directory and the
// CA bundle of the webhook configuration current, and returns when to call
// it again. A missing webhook configuration is ErrNoWebhookConfiguration,
// returned after the files are written, so that the server can start.
func (m *Manager) Ensure(ctx context.Context) (time.Time, error) {
	var (
		data map[string][]byte
		next time.Time
	)
	lostRace := func(err error) bool { return apierrors.IsConflict(err) || apierrors.IsAlreadyExists(err) }
	err := retry.OnError(retry.DefaultRetry, lostRace, func() error {
		var err error
		data, next, err = m.ensureSecret(ctx)
		return err
	})
	if err != nil {
		return time.Time{}, err
	}
	if err := writeFiles(m.opts.CertDir, data); err != nil {
		return time.Time{}, err
	}
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error { return m.inject(ctx, data[KeyCABundle]) }); err != nil {
		return next, err
	}
	return next, nil
}

// String names what the manager keeps, for logs.
func (m *Manager) String() string {
	return fmt.Sprintf("Secret %s/%s for ValidatingWebhookConfiguration %s", m.opts.Namespace, m.opts.SecretName, m.opts.WebhookConfiguration)
}
