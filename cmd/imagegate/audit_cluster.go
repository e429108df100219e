package main

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/audit"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/scheme"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/trust"
)

// clusterPolicies loads the cluster's trust policies once (every
// ClusterTrustPolicy and every TrustPolicy, Secrets read by name) and
// judges each entry as the webhook would judge it in the namespace named
// by its Verified-Policy trailers, else in fallback: that namespace's
// TrustPolicies with the ClusterTrustPolicies as the floor. Without a
// namespace only the cluster policies judge. Policies that do not
// compile deny the images they cover, as in the webhook.
func clusterPolicies(ctx context.Context, kubeconfig, fallback string) (policiesFor, error) {
	cfg, err := restConfig(kubeconfig)
	if err != nil {
		return nil, usageError{err}
	}
	c, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, usageError{fmt.Errorf("--kubeconfig: %w", err)}
	}
	// The webhook's own policy store, loaded once.
	store := trust.NewStore(c, secrets.Reader{Client: c}, nil, 0)
	if err := store.Load(ctx); err != nil {
		if apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err) {
			// Credentials or RBAC to fix, not a server to wait for.
			return nil, usageError{fmt.Errorf("reading the cluster's trust policies: %w", err)}
		}
		return nil, fmt.Errorf("reading the cluster's trust policies: %w", err)
	}
	l := store.Current()
	sets := map[string]*policy.Set{}
	return func(e audit.Entry) (*policy.Set, string) {
		ns := trailerNamespace(e)
		if ns == "" {
			ns = fallback
		}
		s, ok := sets[ns]
		if !ok {
			s = l.InNamespace(ns)
			sets[ns] = s
		}
		return s, ns
	}, nil
}
