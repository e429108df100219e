package config_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// manifest is one YAML document of a file a kustomization lists.
type manifest struct {
	file string
	obj  *unstructured.Unstructured
}

func (m manifest) String() string {
	return fmt.Sprintf("%s %s %s/%s", m.file, m.obj.GetKind(), m.obj.GetNamespace(), m.obj.GetName())
}

// kustomization is the part of kustomization.yaml these manifests use:
// plain resources, no patches or generators (kustomize itself is not a
// dependency of this module).
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Resources  []string `json:"resources"`
}

// readKustomization returns the documents of every resource the
// kustomization in dir lists, following directories recursively.
func readKustomization(t *testing.T, dir string) []manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		t.Fatalf("reading the kustomization of %s: %v", dir, err)
	}
	var k kustomization
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		t.Fatalf("%s/kustomization.yaml uses more than resources: %v", dir, err)
	}
	if len(k.Resources) == 0 {
		t.Fatalf("%s/kustomization.yaml lists no resources", dir)
	}
	var out []manifest
	for _, r := range k.Resources {
		path := filepath.Join(dir, r)
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatalf("%s/kustomization.yaml lists %s: %v", dir, r, err)
		}
		if fi.IsDir() {
			out = append(out, readKustomization(t, path)...)
			continue
		}
		out = append(out, readDocuments(t, path)...)
	}
	return out
}

// readDocuments splits a file into its YAML documents, skipping empty ones.
func readDocuments(t *testing.T, path string) []manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var out []manifest
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("reading %s: %v", path, err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(doc, &m); err != nil {
			t.Fatalf("decoding a document of %s: %v", path, err)
		}
		if len(m) == 0 {
			continue
		}
		u := &unstructured.Unstructured{Object: m}
		if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
			t.Fatalf("a document of %s has no apiVersion, kind or name", path)
		}
		out = append(out, manifest{file: path, obj: u})
	}
}
