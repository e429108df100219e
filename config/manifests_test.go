package config_test

import (
	"fmt"
	"path"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/imagegate/imagegate/internal/testenv"
)

// manifest is one object a kustomization renders.
type manifest struct {
	dir string
	obj *unstructured.Unstructured
}

func (m manifest) String() string {
	return fmt.Sprintf("%s: %s %s/%s", m.dir, m.obj.GetKind(), m.obj.GetNamespace(), m.obj.GetName())
}

// render builds config/<dir> as `kubectl apply -k` would.
func render(t *testing.T, dir string) []manifest {
	t.Helper()
	var out []manifest
	for _, o := range testenv.Kustomize(t, path.Join("config", dir)) {
		out = append(out, manifest{dir: dir, obj: o})
	}
	return out
}
