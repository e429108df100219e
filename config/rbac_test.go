package config_test

import (
	"testing"

	"github.com/imagegate/imagegate/internal/testenv"
)

// TestServiceAccountPermissions creates the RBAC objects of config/default
// for real, binds nothing else, and asks the API server's RBAC authorizer,
// as each service account, what it may do (the same questions and answers
// as the chart's test: testenv.InstallAccess).
func TestServiceAccountPermissions(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	createRBAC(t)
	for sa, accesses := range testenv.InstallAccess(installNamespace) {
		cp.CheckAccess(ctx, t, "system:serviceaccount:"+installNamespace+":"+sa, accesses)
	}
}

// createRBAC creates the service accounts, roles and bindings of
// config/default for real (once; tests share them).
func createRBAC(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	testenv.EnsureNamespace(ctx, t, cp.Client, installNamespace, nil)
	testenv.CreateRBAC(ctx, t, cp.Client, testenv.Kustomize(t, "config/default"))
}
