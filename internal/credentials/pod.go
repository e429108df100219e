package credentials

import (
	"context"
	"fmt"

	"github.com/imagegate/imagegate/internal/registry"
)

// PodSpec is what the kubelet reads to pull a pod's images: its
// imagePullSecrets and its ServiceAccount (empty: "default").
type PodSpec struct {
	Namespace      string
	ServiceAccount string
	PullSecrets    []string
}

// ForPod returns the registry access the kubelet would have for a pod
// spec: its imagePullSecrets, then its ServiceAccount's (the
// ServiceAccount admission plugin copies those into a Pod that lists none;
// a workload's template may rely on them), then the process's own
// credentials. As the kubelet does, a missing Secret or ServiceAccount is
// skipped, not an error: the others are still tried. A Secret that exists
// but holds no usable docker config is ErrInvalid.
func (r *Resolver) ForPod(ctx context.Context, p PodSpec) (Access, error) {
	sa := p.ServiceAccount
	if sa == "" {
		sa = "default"
	}
	f := newFingerprint("pod")
	f.add("namespace %s", p.Namespace)
	var payloads [][]byte
	for _, n := range p.PullSecrets {
		sec, err := r.getSecret(ctx, f, p.Namespace, n, "imagePullSecrets")
		if err != nil {
			if isInvalid(err) {
				f.add("secret %s absent", n)
				continue
			}
			return Access{}, err
		}
		pl, err := dockerConfig(sec, "imagePullSecrets")
		if err != nil {
			return Access{}, err
		}
		payloads = append(payloads, pl)
	}
	secs, err := r.serviceAccountPullSecrets(ctx, f, p.Namespace, sa, "serviceAccountName", false)
	if err != nil {
		return Access{}, err
	}
	for _, sec := range secs {
		pl, err := dockerConfig(sec, "serviceAccountName ("+sa+") imagePullSecrets")
		if err != nil {
			return Access{}, err
		}
		payloads = append(payloads, pl)
	}
	if len(payloads) == 0 {
		return r.base(), nil
	}
	key := f.key()
	return r.access(key, func() (registry.Access, error) {
		kc, err := registry.KeychainFromDockerConfigJSON(payloads...)
		if err != nil {
			return registry.Access{}, fmt.Errorf("%w: pull secrets of namespace %s: %w", ErrInvalid, p.Namespace, err)
		}
		return registry.Access{Keychain: kc}, nil
	})
}
