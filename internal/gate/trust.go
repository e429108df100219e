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
		p, err := policy.Compile(ctx, ref, spec, secrets.Reader{Client: r.secrets()}, r.compileOptions()...)
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

// forPolicy returns the trust policies that judge an ImagePolicy's
// selection, each of which must admit it: the cluster floor and the most
// specific TrustPolicy of its namespace (policy.Set.Match), and the policy
// its imagegate.dev/trust-policy annotation names, if any (a TrustPolicy
// of its namespace, else a ClusterTrustPolicy), which must cover the image
// and judges in addition, never instead. The selection's tag counts in
// matching only when the registry shows it names the selected digest
// (asked only when the tag would change which policies judge).
func (ts *trustSet) forPolicy(ctx context.Context, tags tagProver, ip *imagev1.ImagePolicy, image string) (policy.Image, []*policy.Policy, error) {
	img, err := policy.ParseImage(image)
	if err != nil {
		return img, nil, err
	}
	match := func(img policy.Image) ([]*policy.Policy, error) { return ts.set.Match(img, ip.Namespace) }
	if name := ip.Annotations[igv1.TrustPolicyAnnotation]; name != "" {
		ref, err := ts.named(ip, name)
		if err != nil {
			return img, nil, err
		}
		match = func(img policy.Image) ([]*policy.Policy, error) { return ts.set.MatchNamed(img, ip.Namespace, ref) }
	}
	img, pols, err := policy.MatchPinned(img, match, func(proven policy.Image, _ []*policy.Policy) bool { return tags.TagNamesDigest(ctx, proven) })
	if err != nil && errors.Is(err, policy.ErrNoPolicy) && len(ts.invalid) > 0 {
		err = fmt.Errorf("%w (invalid policies skipped: %w)", err, joinInvalid(ts.invalid))
	}
	if err != nil {
		return img, nil, fmt.Errorf("ImagePolicy %s/%s: %w", ip.Namespace, ip.Name, err)
	}
	return img, pols, nil
}

// tagProver asks the registry whether a tag names a digest
// (cache.Checker).
type tagProver interface {
	TagNamesDigest(ctx context.Context, img policy.Image) bool
}

// named resolves the annotation's policy name: a TrustPolicy of the
// ImagePolicy's namespace, else a ClusterTrustPolicy.
func (ts *trustSet) named(ip *imagev1.ImagePolicy, name string) (policy.Ref, error) {
	for _, ref := range []policy.Ref{
		{Kind: "TrustPolicy", Namespace: ip.Namespace, Name: name},
		{Kind: "ClusterTrustPolicy", Name: name},
	} {
		if ts.set.Get(ref) != nil {
			return ref, nil
		}
		if err, ok := ts.invalid[ref]; ok {
			return ref, err
		}
	}
	return policy.Ref{}, fmt.Errorf("%w: ImagePolicy %s/%s names trust policy %q in %s, but no TrustPolicy %s/%s or ClusterTrustPolicy %s exists",
		policy.ErrNotCovered, ip.Namespace, ip.Name, name, igv1.TrustPolicyAnnotation, ip.Namespace, name, name)
}

func joinInvalid(m map[policy.Ref]error) error {
	errs := make([]error, 0, len(m))
	for _, e := range m {
		errs = append(errs, e)
	}
	return errors.Join(errs...)
}

// compileOptions hands the public-good root, when there is one, to the
// policies compiled for a reconcile.
func (r *Reconciler) compileOptions() []policy.CompileOption {
	if r.PublicGood == nil {
		return nil
	}
	return []policy.CompileOption{policy.WithPublicGood(r.PublicGood)}
}
