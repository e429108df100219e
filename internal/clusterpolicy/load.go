package clusterpolicy

import (
	"context"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
)

// Loaded is the compiled trust policies of a cluster.
type Loaded struct {
	// Policies compiled, the ClusterTrustPolicies first.
	Policies []*policy.Policy
	// Broken are the policies that failed to compile but still claim the
	// images their globs cover, so those images are denied rather than
	// left to a weaker policy.
	Broken []policy.Broken
	// Invalid says why each broken policy failed.
	Invalid map[policy.Ref]error
}

// Load lists every ClusterTrustPolicy and the TrustPolicies that opts
// select (all namespaces without options) and compiles them, reading the
// Secrets they name through secrets. A policy that fails to compile is
// kept in Broken and Invalid; only a failed listing is an error.
func Load(ctx context.Context, reader client.Reader, secrets policy.SecretReader, opts ...client.ListOption) (Loaded, error) {
	var ctps igv1.ClusterTrustPolicyList
	if err := reader.List(ctx, &ctps); err != nil {
		return Loaded{}, fmt.Errorf("listing ClusterTrustPolicies: %w", err)
	}
	var tps igv1.TrustPolicyList
	if err := reader.List(ctx, &tps, opts...); err != nil {
		return Loaded{}, fmt.Errorf("listing TrustPolicies: %w", err)
	}
	l := Loaded{Policies: make([]*policy.Policy, 0, len(tps.Items)+len(ctps.Items)), Invalid: map[policy.Ref]error{}}
	add := func(ref policy.Ref, spec *igv1.TrustPolicySpec) {
		p, err := policy.Compile(ctx, ref, spec, secrets)
		if err != nil {
			l.Invalid[ref] = err
			if b, ok := policy.NewBroken(ref, spec, err); ok {
				l.Broken = append(l.Broken, b)
			}
			return
		}
		l.Policies = append(l.Policies, p)
	}
	for i := range ctps.Items {
		add(policy.Ref{Kind: "ClusterTrustPolicy", Name: ctps.Items[i].Name}, &ctps.Items[i].Spec)
	}
	for i := range tps.Items {
		add(policy.Ref{Kind: "TrustPolicy", Namespace: tps.Items[i].Namespace, Name: tps.Items[i].Name}, &tps.Items[i].Spec)
	}
	return l, nil
}

// Set returns every loaded policy as one set: policy.Set.Match picks the
// namespace per image.
func (l Loaded) Set() *policy.Set { return policy.NewSet(l.Policies, l.Broken...) }

// InNamespace returns the ClusterTrustPolicies and the TrustPolicies of
// namespace only (none for ""), so that policy.Set.MatchAny on it judges
// as policy.Set.Match(img, namespace) does on Set.
func (l Loaded) InNamespace(namespace string) *policy.Set {
	var ps []*policy.Policy
	for _, p := range l.Policies {
		if p.Ref.Namespace == "" || p.Ref.Namespace == namespace {
			ps = append(ps, p)
		}
	}
	var bs []policy.Broken
	for _, b := range l.Broken {
		if b.Ref.Namespace == "" || b.Ref.Namespace == namespace {
			bs = append(bs, b)
		}
	}
	return policy.NewSet(ps, bs...)
}
