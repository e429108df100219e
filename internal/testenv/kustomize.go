package testenv

import (
	"context"
	"path/filepath"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Kustomize builds a kustomization of this repository (dir relative to
// the module root, e.g. "config/default") with kustomize's own library,
// as `kubectl apply -k` would, and returns its objects in order.
func Kustomize(t testing.TB, dir string) []*unstructured.Unstructured {
	t.Helper()
	path := filepath.Join(ModuleRoot(), dir)
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), path)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out []*unstructured.Unstructured
	for _, r := range res.Resources() {
		// Through JSON: the unstructured form wants int64 numbers.
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("kustomize build %s: %s: %v", dir, r.CurId(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			t.Fatalf("kustomize build %s: %s: %v", dir, r.CurId(), err)
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
			t.Fatalf("kustomize build %s: an object has no apiVersion, kind or name", dir)
		}
		out = append(out, u)
	}
	if len(out) == 0 {
		t.Fatalf("kustomize build %s rendered nothing", dir)
	}
	return out
}

// rbacKinds are the objects that make up a service account's permissions.
var rbacKinds = map[string]bool{"ServiceAccount": true, "Role": true, "RoleBinding": true, "ClusterRole": true, "ClusterRoleBinding": true}

// CreateRBAC creates, for real, the service accounts, roles and bindings
// among objs (their namespaces must exist); ones that exist already are
// left as they are.
func CreateRBAC(ctx context.Context, t testing.TB, c client.Client, objs []*unstructured.Unstructured) {
	t.Helper()
	for _, o := range objs {
		if !rbacKinds[o.GetKind()] {
			continue
		}
		if err := c.Create(ctx, o.DeepCopy()); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatalf("creating %s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
	}
}

// ServiceAccountKubeconfig writes a kubeconfig whose user is the service
// account namespace/name as the API server's authorizer sees it (its user
// name and groups), for running imagegate's binary with that account's
// permissions only.
func (cp *ControlPlane) ServiceAccountKubeconfig(t testing.TB, namespace, name string) string {
	t.Helper()
	return cp.KubeconfigFile(t, "system:serviceaccount:"+namespace+":"+name,
		"system:serviceaccounts", "system:serviceaccounts:"+namespace)
}
