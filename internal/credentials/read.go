package credentials

import (
	"context"
	"errors"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ErrInvalid means the credentials an object names cannot be used until it
// or its Secrets change: a Secret or ServiceAccount missing, a key absent,
// a payload malformed, a provider not supported. Other errors (the API
// server unreachable) are transient.
var ErrInvalid = errors.New("registry credentials unusable")

// getSecret reads one Secret by name and adds it to f.
func (r *Resolver) getSecret(ctx context.Context, f *fingerprint, namespace, name, field string) (*corev1.Secret, error) {
	var sec corev1.Secret
	if err := r.opts.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &sec); err != nil {
		return nil, readError(err, "%s: Secret %s/%s", field, namespace, name)
	}
	f.add("secret %s %s %s %s %s", field, namespace, name, sec.UID, sec.ResourceVersion)
	f.used = true
	return &sec, nil
}

// readError marks a missing object as ErrInvalid (it needs a change to
// appear) and wraps any other failure as it is.
func readError(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: %s not found; create it in that namespace (objects are read only from the namespace of the object naming them)", ErrInvalid, what)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}

// dockerConfig returns a pull secret's payload: .dockerconfigjson, or the
// legacy .dockercfg, as the kubelet accepts both.
func dockerConfig(sec *corev1.Secret, field string) ([]byte, error) {
	if v, ok := sec.Data[corev1.DockerConfigJsonKey]; ok {
		return v, nil
	}
	if v, ok := sec.Data[corev1.DockerConfigKey]; ok {
		return v, nil
	}
	return nil, fmt.Errorf("%w: %s: Secret %s/%s has no %s key; create it with kubectl create secret docker-registry",
		ErrInvalid, field, sec.Namespace, sec.Name, corev1.DockerConfigJsonKey)
}

// serviceAccountPullSecrets reads a ServiceAccount and the pull secrets it
// lists. A missing ServiceAccount is ErrInvalid when required, else no
// secrets; a listed Secret that is missing is ErrInvalid when required
// (Flux), else skipped (the kubelet pulls with the others).
func (r *Resolver) serviceAccountPullSecrets(ctx context.Context, f *fingerprint, namespace, name, field string, required bool) ([]*corev1.Secret, error) {
	var sa corev1.ServiceAccount
	if err := r.opts.Reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, &sa); err != nil {
		if !required && apierrors.IsNotFound(err) {
			f.add("serviceaccount %s %s absent", namespace, name)
			return nil, nil
		}
		return nil, readError(err, "%s: ServiceAccount %s/%s", field, namespace, name)
	}
	f.add("serviceaccount %s %s %s %s", namespace, name, sa.UID, sa.ResourceVersion)
	out := make([]*corev1.Secret, 0, len(sa.ImagePullSecrets))
	for _, ref := range sa.ImagePullSecrets {
		sec, err := r.getSecret(ctx, f, namespace, ref.Name, field+" ("+name+") imagePullSecrets")
		if err != nil {
			if !required && errors.Is(err, ErrInvalid) {
				f.add("secret %s %s absent", namespace, ref.Name)
				continue
			}
			return nil, err
		}
		out = append(out, sec)
	}
	return out, nil
}

func isInvalid(err error) bool { return errors.Is(err, ErrInvalid) }
