package admission

import (
	"context"
	"errors"
	"fmt"

	"github.com/imagegate/imagegate/internal/credentials"
	"github.com/imagegate/imagegate/internal/verify"
)

// PullCredentials gives the checker that reaches registries with the
// credentials the kubelet would pull a pod spec's images with: its
// imagePullSecrets and its ServiceAccount's (credentials.Resolver, which
// reads them by name, uncached).
type PullCredentials interface {
	ForPod(ctx context.Context, p credentials.PodSpec) (credentials.Access, error)
}

// checkerFor returns the checker of the request's pod spec, reading its
// credentials once per request and only here: the verify step is the only
// one that asks a registry, so exempt, unchanged, child and recorded
// images cost no read. Without PullCredentials it is the process's.
func (d *deps) checkerFor(ctx context.Context, r *request) (ImageChecker, error) {
	if d.credentials == nil {
		return d.checker, nil
	}
	if !r.didAccess {
		r.didAccess = true
		spec := r.Object.spec(r.info.place)
		p := credentials.PodSpec{Namespace: r.Namespace, ServiceAccount: string(spec.ServiceAccount)}
		for _, n := range spec.PullSecrets {
			p.PullSecrets = append(p.PullSecrets, string(n))
		}
		acc, err := d.credentials.ForPod(ctx, p)
		if err == nil {
			r.access = acc.Checker
		}
		r.accessErr = err
	}
	return r.access, r.accessErr
}

// credentialsVerdict denies an image whose pod's credentials could not be
// read: CredentialsInvalid for a pull secret that is not a docker config,
// Unavailable (retry) when the API server failed.
func credentialsVerdict(err error) verdict {
	if errors.Is(err, credentials.ErrInvalid) {
		return verdict{Path: PathDenied, Reason: verify.ReasonCredentialsInvalid, Message: err.Error()}
	}
	return verdict{Path: PathDenied, Reason: verify.ReasonUnavailable,
		Message: fmt.Sprintf("reading the pod's pull credentials: %v; transient: retry", err)}
}
