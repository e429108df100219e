package testenv

import (
	"context"
	"fmt"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Access is one question to the API server's authorizer, and the answer
// a test expects. Name narrows it to one object (RBAC resourceNames).
type Access struct {
	Verb, Group, Resource, Subresource, Namespace, Name string
	Allowed                                             bool
}

func (a Access) String() string {
	res := a.Resource
	if a.Group != "" {
		res += "." + a.Group
	}
	if a.Subresource != "" {
		res += "/" + a.Subresource
	}
	if a.Name != "" {
		res += " " + a.Name
	}
	return fmt.Sprintf("%s %s in %q", a.Verb, res, a.Namespace)
}

// Impersonate returns a client that acts as user, with no groups beyond
// system:authenticated: what a Pod running as that service account gets.
func (cp *ControlPlane) Impersonate(t testing.TB, user string) client.Client {
	t.Helper()
	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
	c, err := client.New(cfg, client.Options{Scheme: cp.Scheme})
	if err != nil {
		t.Fatalf("client impersonating %s: %v", user, err)
	}
	return c
}

// Allowed asks the authorizer, with a SelfSubjectAccessReview sent through
// c, whether c's user may do a.
func Allowed(ctx context.Context, t testing.TB, c client.Client, a Access) bool {
	t.Helper()
	r := &authorizationv1.SelfSubjectAccessReview{Spec: authorizationv1.SelfSubjectAccessReviewSpec{
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Verb: a.Verb, Group: a.Group, Resource: a.Resource, Subresource: a.Subresource,
			Namespace: a.Namespace, Name: a.Name,
		},
	}}
	if err := c.Create(ctx, r); err != nil {
		t.Fatalf("SelfSubjectAccessReview %s: %v", a, err)
	}
	return r.Status.Allowed
}

// CheckAccess asks every access as user and reports each answer that
// differs from the expected one.
func (cp *ControlPlane) CheckAccess(ctx context.Context, t testing.TB, user string, accesses []Access) {
	t.Helper()
	c := cp.Impersonate(t, user)
	for _, a := range accesses {
		if got := Allowed(ctx, t, c, a); got != a.Allowed {
			t.Errorf("%s may %s: %v, want %v", user, a, got, a.Allowed)
		}
	}
}
