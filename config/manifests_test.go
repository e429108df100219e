package config_test

import (
	"fmt"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// manifest is one object a kustomization renders.
type manifest struct {
	dir string
	obj *unstructured.Unstructured
}

func (m manifest) String() string {
	return fmt.Sprintf("%s: %s %s/%s", m.dir, m.obj.GetKind(), m.obj.GetNamespace(), m.obj.GetName())
}

// render builds the kustomization in dir with kustomize's own library, as
// `kubectl apply -k dir` would, and returns the objects.
func render(t *testing.T, dir string) []manifest {
	t.Helper()
	res, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", dir, err)
	}
	var out []manifest
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
		out = append(out, manifest{dir: dir, obj: u})
	}
	if len(out) == 0 {
		t.Fatalf("kustomize build %s rendered nothing", dir)
	}
	return out
}
