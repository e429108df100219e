package gate

import (
	"context"
	"errors"
	"fmt"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/secrets"
)

// trustSet is the compiled trust policies visible from one namespace, and
// the ones that failed to compile (reported per selection, not globally:
// one broken policy must not block images another policy covers).
type trustSet struct {
	set     *policy.Set
	invalid map[policy.Ref]error
}

func (r *Reconciler) loadTrust(ctx context.Context, namespace string) (*trustSet, error) {
	var tps igv1.TrustPolicyList
	if err := r.Client.List(ctx, &tps, client.InNamespace(namespace)); err != nil {
		return nil, failed(igv1.ReasonInvalidPolicy, fmt.Errorf("listing TrustPolicies: %w", err))
	}
	var ctps igv1.ClusterTrustPolicyList
	if err := r.Client.List(ctx, &ctps); err != nil {
		return nil, failed(igv1.ReasonInvalidPolicy, fmt.Errorf("listing ClusterTrustPolicies: %w", err))
	}
	ts := &trustSet{invalid: map[policy.Ref]error{}}
	var compiled []*policy.Policy
	var broken []policy.Broken
	add := func(ref policy.Ref, spec *igv1.TrustPolicySpec) {
		p, err := policy.Compile(ctx, ref, spec, secrets.Reader{Client: r.secrets()})
		if err != nil {
			ts.invalid[ref] = err
			if b, ok := policy.NewBroken(ref, spec, err); ok {
				broken = append(broken, b)
			}
			return
		}
		compiled = append(compiled, p)
	}
	for i := range tps.Items {
		add(policy.Ref{Kind: "TrustPolicy", Namespace: namespace, Name: tps.Items[i].Name}, &tps.Items[i].Spec)
	}
	for i := range ctps.Items {
		add(policy.Ref{Kind: "ClusterTrustPolicy", Name: ctps.Items[i].Name}, &ctps.Items[i].Spec)
	}
	ts.set = policy.NewSet(compiled, broken...)
	return ts, nil
}

// forPolicy returns the trust policy for an ImagePolicy's selection: the
// one its imagegate.dev/trust-policy annotation names (a TrustPolicy of
// its namespace, else a ClusterTrustPolicy), otherwise the most specific
// glob match.
func (ts *trustSet) forPolicy(ip *imagev1.ImagePolicy, image string) (*policy.Policy, error) {
	if name := ip.Annotations[igv1.TrustPolicyAnnotation]; name != "" {
		for _, ref := range []policy.Ref{
			{Kind: "TrustPolicy", Namespace: ip.Namespace, Name: name},
			{Kind: "ClusterTrustPolicy", Name: name},
		} {
			if p := ts.set.Get(ref); p != nil {
				return p, nil
			}
			if err, ok := ts.invalid[ref]; ok {
				return nil, err
			}
		}
		return nil, fmt.Errorf("ImagePolicy %s/%s names trust policy %q in %s, but no TrustPolicy %s/%s or ClusterTrustPolicy %s exists",
			ip.Namespace, ip.Name, name, igv1.TrustPolicyAnnotation, ip.Namespace, name, name)
	}
	img, err := policy.ParseImage(image)
	if err != nil {
		return nil, err
	}
	p, err := ts.set.Match(img, ip.Namespace)
	if errors.Is(err, policy.ErrNoPolicy) && len(ts.invalid) > 0 {
		return nil, fmt.Errorf("%w (invalid policies skipped: %w)", err, joinInvalid(ts.invalid))
	}
	return p, err
}

func joinInvalid(m map[policy.Ref]error) error {
	errs := make([]error, 0, len(m))
	for _, e := range m {
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}
