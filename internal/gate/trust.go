package gate

import (
	"context"
	"errors"
	"fmt"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/trust"
)

// trustSet is the compiled trust policies as one reconcile sees them:
// the store's snapshot, shared by every reconcile, and the namespace whose
// invalid policies this gate may report. Invalid policies are reported
// per selection, not globally: one broken policy must not block images
// another policy covers.
type trustSet struct {
	set       *policy.Set
	invalid   map[policy.Ref]error // every namespace's; see invalidIn
	namespace string
}

// errPoliciesNotLoaded: the store has not compiled the policies yet (the
// controller waits for its first load before reconciling, so only a
// caller that skipped the store's Run sees it).
var errPoliciesNotLoaded = errors.New("trust policies not compiled yet")

// loadTrust returns the policies in force, compiled by the store from
// informer events, never per reconcile.
func (r *Reconciler) loadTrust(namespace string) (*trustSet, error) {
	var snap *trust.Snapshot
	if r.Policies != nil {
		snap = r.Policies.Current()
	}
	if snap == nil {
		return nil, failed(igv1.ReasonInvalidPolicy, errPoliciesNotLoaded)
	}
	return &trustSet{set: snap.Set, invalid: snap.Invalid, namespace: namespace}, nil
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
	if err != nil && errors.Is(err, policy.ErrNoPolicy) {
		if inv := ts.invalidIn(); inv != nil {
			err = fmt.Errorf("%w (invalid policies skipped: %w)", err, inv)
		}
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

// invalidIn joins the errors of the invalid policies that could have
// judged the gate's images: the ClusterTrustPolicies and the TrustPolicies
// of its namespace. Other namespaces' policies are none of its business
// (their errors would tell a tenant about another's keys and Secrets).
func (ts *trustSet) invalidIn() error {
	var errs []error
	for ref, e := range ts.invalid {
		if ref.Namespace == "" || ref.Namespace == ts.namespace {
			errs = append(errs, e)
		}
	}
	return errors.Join(errs...)
}
