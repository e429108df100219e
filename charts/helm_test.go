package charts_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/imagegate/imagegate/internal/testenv"
)

// helmBinary is the helm CLI the tests run: $IMAGEGATE_HELM (the Makefile
// exports it), else bin/tools/helm. A missing binary fails the test rather
// than skipping it, so a chart change is never left untested by accident.
func helmBinary(t testing.TB) string {
	t.Helper()
	bin := os.Getenv("IMAGEGATE_HELM")
	if bin == "" {
		bin = filepath.Join(testenv.ModuleRoot(), "bin", "tools", "helm")
	}
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no helm binary at %s (set IMAGEGATE_HELM or run `make test-deps`, which builds it with hack/helm.sh): %v", bin, err)
	}
	return bin
}

// runHelm runs helm with its state directories in a temporary directory,
// so that the tests neither read nor leave the user's Helm configuration.
func runHelm(t testing.TB, args ...string) (string, error) {
	t.Helper()
	home := t.TempDir()
	cmd := exec.CommandContext(t.Context(), helmBinary(t), args...) //nolint:gosec // the pinned test binary, with arguments of the test's own
	cmd.Env = append(os.Environ(),
		"HELM_CACHE_HOME="+filepath.Join(home, "cache"),
		"HELM_CONFIG_HOME="+filepath.Join(home, "config"),
		"HELM_DATA_HOME="+filepath.Join(home, "data"),
	)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String() + stderr.String(), fmt.Errorf("helm %v: %w\n%s", args, err, stderr.String())
	}
	return stdout.String(), nil
}

// templateArgs are the arguments of `helm template` for the release
// "imagegate" in namespace ns with the given values files.
func templateArgs(ns string, valuesFiles ...string) []string {
	args := []string{"template", "imagegate", chartDir, "--namespace", ns, "--include-crds"}
	for _, f := range valuesFiles {
		args = append(args, "--values", f)
	}
	return args
}

// render returns the objects the chart renders into namespace ns.
func render(t testing.TB, ns string, valuesFiles ...string) objects {
	t.Helper()
	out, err := runHelm(t, templateArgs(ns, valuesFiles...)...)
	if err != nil {
		t.Fatal(err)
	}
	return decodeDocuments(t, "helm template", []byte(out))
}

// objects are rendered objects in the order helm printed them.
type objects []*unstructured.Unstructured

// find returns the object of that kind and name, or nil.
func (o objects) find(kind, name string) *unstructured.Unstructured {
	for _, u := range o {
		if u.GetKind() == kind && u.GetName() == name {
			return u
		}
	}
	return nil
}

// ofKind returns the objects of one kind.
func (o objects) ofKind(kind string) objects {
	var out objects
	for _, u := range o {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// kinds counts the objects per kind.
func (o objects) kinds() map[string]int {
	n := map[string]int{}
	for _, u := range o {
		n[u.GetKind()]++
	}
	return n
}

// get decodes the object of that kind and name into a typed one, failing
// the test when it is missing or has fields the type does not know.
func (o objects) get(t testing.TB, kind, name string, into runtime.Object) {
	t.Helper()
	u := o.find(kind, name)
	if u == nil {
		t.Fatalf("the chart rendered no %s %s (it rendered %v)", kind, name, o.kinds())
	}
	fromUnstructured(t, u, into)
}

func fromUnstructured(t testing.TB, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(u.Object, into, true); err != nil {
		t.Fatalf("%s %s/%s: %v", u.GetKind(), u.GetNamespace(), u.GetName(), err)
	}
}

// decodeDocuments splits a YAML stream into objects, skipping empty
// documents (helm prints comment-only ones for templates that render
// nothing).
func decodeDocuments(t testing.TB, source string, b []byte) objects {
	t.Helper()
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var out objects
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("reading %s: %v", source, err)
		}
		// Through JSON, as kustomize's objects: the unstructured form
		// wants int64 numbers.
		j, err := yaml.YAMLToJSON(doc)
		if err != nil {
			t.Fatalf("decoding a document of %s: %v\n%s", source, err, doc)
		}
		if string(bytes.TrimSpace(j)) == "null" {
			continue
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(j); err != nil {
			t.Fatalf("decoding a document of %s: %v\n%s", source, err, doc)
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" || u.GetName() == "" {
			t.Fatalf("a document of %s has no apiVersion, kind or name:\n%s", source, doc)
		}
		out = append(out, u)
	}
}
