package admission

import (
	"context"
	"errors"
	"time"

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
//
// The reads get at most half of the time the request has left, so that a
// slow API server cannot eat the verification's share. When they fail for
// any reason but unusable credentials (the API server slow or down, get
// on ServiceAccounts not granted yet), the image is verified with the
// process's own credentials, as before the webhook read pull secrets: a
// public image is still admitted, a private one is denied by the
// registry, and nothing is admitted that the process's credentials would
// not admit. The failure is logged.
func (d *deps) checkerFor(ctx context.Context, r *request) (ImageChecker, error) {
	if d.credentials == nil {
		return d.checker, nil
	}
	if !r.didAccess {
		r.didAccess = true
		r.access, r.accessErr = d.readCredentials(ctx, r)
	}
	return r.access, r.accessErr
}

func (d *deps) readCredentials(ctx context.Context, r *request) (ImageChecker, error) {
	spec := r.Object.spec(r.info.place)
	p := credentials.PodSpec{Namespace: r.Namespace, ServiceAccount: string(spec.ServiceAccount)}
	for _, n := range spec.PullSecrets {
		p.PullSecrets = append(p.PullSecrets, string(n))
	}
	readCtx := ctx
	if deadline, ok := ctx.Deadline(); ok {
		var cancel context.CancelFunc
		readCtx, cancel = context.WithDeadline(ctx, deadline.Add(-time.Until(deadline)/2))
		defer cancel()
	}
	acc, err := d.credentials.ForPod(readCtx, p)
	switch {
	case err == nil:
		return acc.Checker, nil
	case errors.Is(err, credentials.ErrInvalid):
		return nil, err
	}
	d.log.ErrorContext(ctx, "reading the pod's pull credentials failed; verifying with the webhook's own",
		"namespace", r.Namespace, "name", r.displayName(), "error", err)
	return d.checker, nil
}

// credentialsVerdict denies an image whose pod names pull secrets that are
// not docker configs: CredentialsInvalid, until they are fixed.
func credentialsVerdict(err error) verdict {
	return verdict{Path: PathDenied, Reason: verify.ReasonCredentialsInvalid, Message: err.Error()}
}
