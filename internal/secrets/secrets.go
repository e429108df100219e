// Package secrets owns how imagegate reads Kubernetes Secrets: single keys
// for trust policy compilation (Reader, a policy.SecretReader), always by
// name, and the manager options that keep Secrets out of the informer
// cache (LimitManager), so that neither role needs to list or watch
// Secrets. The gate, the trust policy status controller and the webhook
// share it; it must not import any of them.
package secrets

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ErrKeyMissing is returned when the Secret a policy names lacks the key.
var ErrKeyMissing = errors.New("secret has no such key")

// Reader reads Secret keys through a controller-runtime reader: the
// manager's API reader, or a client whose cache LimitManager disabled for
// Secrets. Either way each read is a GET of one Secret by name.
type Reader struct {
	Client client.Reader
}

// SecretValue implements policy.SecretReader.
func (r Reader) SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	var sec corev1.Secret
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &sec); err != nil {
		return nil, fmt.Errorf("reading Secret %s/%s: %w", namespace, name, err)
	}
	v, ok := sec.Data[key]
	if !ok {
		return nil, fmt.Errorf("%w: Secret %s/%s has no key %q", ErrKeyMissing, namespace, name, key)
	}
	return v, nil
}
