package gate

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"text/template"

	"github.com/Masterminds/sprig/v3"
	imagev1 "github.com/fluxcd/image-automation-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/setters"
)

var updateGolden = flag.Bool("update", false, "rewrite testdata/templates/*.golden")

// The repository of testdata/templates/repo after the setters ran:
// podinfo 5.0.0 -> 5.0.3 (a Deployment's whole reference and a
// Kustomization's tag), web 1.0.0 -> 1.1.0 (a HelmRelease's tag; its
// name marker already holds the name).
var (
	tmplPodinfo = setters.Image{Name: "ghcr.io/stefanprodan/podinfo", Tag: "5.0.3", Digest: "sha256:" + strings.Repeat("ab", 32)}
	tmplWeb     = setters.Image{Name: "ghcr.io/example/web", Tag: "1.1.0", Digest: "sha256:" + strings.Repeat("cd", 32)}
)

// fluxWants is what image-automation-controller records for the same
// repository and update path: its file keys are relative to the update
// path, its objects come from kyaml's GetMeta of each document, its
// setter names are the markers'. Written out by hand from Flux's code, so
// that the setters' result and its conversion are checked too.
var fluxWants = map[string]fluxResult{
	"apps": {FileChanges: map[string]fluxObjectChanges{
		"podinfo/deployment.yaml": {
			fluxID("apps/v1", "Deployment", "podinfo", "default"): {
				{"ghcr.io/stefanprodan/podinfo:5.0.0", tmplPodinfo.Ref(), "default:podinfo-policy"},
			},
		},
		"web/release.yaml": {
			fluxID("helm.toolkit.fluxcd.io/v2", "HelmRelease", "web", "default"): {
				{"1.0.0", "1.1.0", "default:web:tag"},
			},
			fluxID("kustomize.config.k8s.io/v1beta1", "Kustomization", "", ""): {
				{"5.0.0", "5.0.3", "default:podinfo-policy:tag"},
			},
		},
	}},
	"apps/podinfo/deployment.yaml": {FileChanges: map[string]fluxObjectChanges{
		"deployment.yaml": {
			fluxID("apps/v1", "Deployment", "podinfo", "default"): {
				{"ghcr.io/stefanprodan/podinfo:5.0.0", tmplPodinfo.Ref(), "default:podinfo-policy"},
			},
		},
	}},
}

// TestFluxDocumentedTemplates runs the commit message templates Flux's
// ImageUpdateAutomation documentation shows (testdata/templates/*.tmpl) on
// a real setters run, and compares the message with (a) the golden file
// and (b) the same template executed the way image-automation-controller
// v1 executes it: its data types, its Changes and Objects methods and
// Sprig's hermetic functions, on the data Flux records for that run.
// Templates whose Flux output depends on Go map order (.Changed.Changes
// over several objects) are compared with Flux's only where it is fixed.
func TestFluxDocumentedTemplates(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		tmpl, path string
		flux       bool // Flux's output is deterministic here
	}{
		{"objects", "apps", true},
		{"functions", "apps", true},
		{"values", "apps", true},
		{"gerrit", "apps", false},
		{"gitea", "apps", false},
		{"objects", "apps/podinfo/deployment.yaml", true},
		{"gerrit", "apps/podinfo/deployment.yaml", true},
		{"gitea", "apps/podinfo/deployment.yaml", true},
	} {
		name := tc.tmpl + "/" + strings.ReplaceAll(tc.path, "/", "_")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join("testdata", "templates", tc.tmpl+".tmpl"))
			if err != nil {
				t.Fatal(err)
			}
			g := templateGate(string(src))
			res := applyTemplateRepo(t, tc.path)
			got, err := renderTemplate(g, resultOf(res, tc.path))
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "templates", strings.ReplaceAll(name, "/", ".")) + ".golden"
			checkGolden(t, golden, got)
			if !tc.flux {
				return
			}
			want := fluxRender(t, string(src), fluxData{
				AutomationObject: types.NamespacedName{Namespace: g.Namespace, Name: g.Name},
				Changed:          fluxWants[tc.path],
				Values:           g.Spec.GitSpec.Commit.MessageTemplateValues,
			})
			if got != want {
				t.Errorf("imagegate rendered\n%s\nFlux renders\n%s", got, want)
			}
		})
	}
}

// TestGateRunRendersFluxTemplateData runs a gate with a template over
// files and objects: the pushed commit names the file relative to the
// ImageGate's update path (./deploy), the Deployment the marker is in,
// the setter name, then the trailers after one blank line.
func TestGateRunRendersFluxTemplateData(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	g := w.gate()
	g.Spec.GitSpec.Commit.MessageTemplate = `{{ .AutomationObject }}:
{{ range $file, $objects := .Changed.FileChanges }}{{ range $id, $changes := $objects -}}
{{ $file }} {{ $id.APIVersion }} {{ $id.Kind }} {{ $id.Name }}{{ range $changes }} {{ .Setter }} {{ .NewValue | trunc 8 }}{{ end }}
{{ end }}{{ end }}`
	if err := cp.Client.Update(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	d := w.publishSigned("web", "v1.0.0")

	w.mustReconcile()

	want := w.ns + "/gate:\nweb.yaml apps/v1 Deployment web " + w.ns + ":web " + (w.reg.Repo("web") + ":v1.0.0")[:8] +
		"\n\nVerified-Image: "
	if msg := w.git.CommitMessage(t, w.repo, "main"); !strings.HasPrefix(msg, want) || !strings.Contains(msg, d.DigestStr()) {
		t.Fatalf("commit message\n%s\nwant it to start with\n%s", msg, want)
	}
}

// TestTemplateBounds tries to make a template use more memory than a
// commit message needs: each attempt stalls the gate with the bound in
// the message, and the largest output within the bound is allowed.
func TestTemplateBounds(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ tmpl, want string }{
		{`{{ repeat 1000000000 "x" }}`, "exceed 65536 bytes"},
		{`{{ repeat 65537 "x" }}`, "exceed 65536 bytes"},
		{`{{ range until 1000000000 }}{{ end }}`, "until: 1000000000 elements exceed 10000"},
		{`{{ range untilStep 0 9223372036854775807 1 }}{{ end }}`, "untilStep: 9223372036854775807 elements exceed 10000"},
		{`{{ range untilStep -9223372036854775808 9223372036854775807 1 }}{{ end }}`, "exceed 10000"},
		{`{{ seq 1 1 100000 }}`, "seq: 100000 elements exceed 10000"},
		{`{{ range until 10001 }}{{ end }}`, "until: 10001 elements exceed 10000"},
		{`{{ seq 0 10000 }}`, "seq: 10001 elements exceed 10000"},
		{`{{ range until 10000 }}{{ repeat 7 "x" }}{{ end }}`, "longer than 65536 bytes"},
	} {
		_, err := renderTemplate(templateGate(tc.tmpl), Result{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || reasonOf(err) != igv1.ReasonInvalidSource {
			t.Errorf("%s: error %v, want one containing %q", tc.tmpl, err, tc.want)
		}
	}
	for _, tmpl := range []string{`{{ repeat 65536 "x" }}`, `{{ range until 10000 }}{{ . }}{{ end }}`, `{{ seq 1 10000 }}`, `{{ range untilStep 0 100000 10 }}{{ end }}`} {
		if _, err := renderTemplate(templateGate(tmpl), Result{}); err != nil {
			t.Errorf("%s: %v", tmpl, err)
		}
	}
	if got, _ := renderTemplate(templateGate(`{{ until 3 }} {{ untilStep 5 0 -2 }} {{ seq 3 }} {{ repeat 2 "ab" }}`), Result{}); got != "[0 1 2] [5 3 1] 1 2 3 abab" {
		t.Errorf("bounded functions render %q, want Sprig's output", got)
	}
}

// TestRemovedTemplateFields checks that the fields Flux v1 removed stall
// the gate with the replacement, as Flux's error names it.
func TestRemovedTemplateFields(t *testing.T) {
	t.Parallel()
	for tmpl, want := range map[string]string{
		`{{ range .Updated.Images }}{{ . }}{{ end }}`: "use .Changed",
		`{{ .Changed.ImageResult }}`:                  "use .Changed.FileChanges or .Changed.Objects",
	} {
		_, err := renderTemplate(templateGate(tmpl), Result{})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one containing %q", tmpl, err, want)
		}
	}
}

func templateGate(tmpl string) *igv1.ImageGate {
	return &igv1.ImageGate{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "fleet"},
		Spec: igv1.ImageGateSpec{GitSpec: &imagev1.GitSpec{Commit: imagev1.CommitSpec{
			MessageTemplate:       tmpl,
			MessageTemplateValues: map[string]string{"cluster": "prod"},
		}}},
	}
}

// applyTemplateRepo copies testdata/templates/repo and runs the setters
// on path in it.
func applyTemplateRepo(t *testing.T, path string) setters.Result {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("testdata", "templates", "repo"))); err != nil {
		t.Fatal(err)
	}
	res, err := setters.Apply(dir, path, map[setters.Policy]setters.Image{
		{Namespace: "default", Name: "podinfo-policy"}: tmplPodinfo,
		{Namespace: "default", Name: "web"}:            tmplWeb,
	})
	if err != nil || len(res.Skipped) > 0 {
		t.Fatalf("setters: %v, skipped %v", err, res.Skipped)
	}
	return res
}

func checkGolden(t *testing.T, file, got string) {
	t.Helper()
	if *updateGolden {
		if err := os.WriteFile(file, []byte(got), 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if got != string(want) {
		t.Errorf("%s: got\n%s\nwant\n%s", file, got, want)
	}
}

// The types and methods below mirror image-automation-controller v1's
// template data (internal/source TemplateData, internal/update Result)
// and how it executes a template; they are the reference the gate's
// output is compared with.
type fluxData struct {
	AutomationObject types.NamespacedName
	Changed          fluxResult
	Values           map[string]string
}

type fluxResult struct {
	FileChanges map[string]fluxObjectChanges
}

type fluxObjectChanges map[fluxObjectID][]fluxChange

type fluxObjectID struct {
	kyaml.ResourceIdentifier
}

type fluxChange struct {
	OldValue string
	NewValue string
	Setter   string
}

func fluxID(apiVersion, kind, name, namespace string) fluxObjectID {
	return fluxObjectID{kyaml.ResourceIdentifier{
		TypeMeta: kyaml.TypeMeta{APIVersion: apiVersion, Kind: kind},
		NameMeta: kyaml.NameMeta{Name: name, Namespace: namespace},
	}}
}

// Changes is Flux's: distinct changes, in map iteration order.
func (r fluxResult) Changes() []fluxChange {
	seen := map[fluxChange]bool{}
	var out []fluxChange
	for _, objs := range r.FileChanges {
		for _, changes := range objs {
			for _, c := range changes {
				if !seen[c] {
					seen[c] = true
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// Objects is Flux's: an object in two files keeps one file's changes.
func (r fluxResult) Objects() fluxObjectChanges {
	out := fluxObjectChanges{}
	for _, objs := range r.FileChanges {
		for id, changes := range objs {
			out[id] = changes
		}
	}
	return out
}

func fluxRender(t *testing.T, src string, data fluxData) string {
	t.Helper()
	tmpl, err := template.New("commit message").Funcs(sprig.HermeticTxtFuncMap()).Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := tmpl.Execute(&b, data); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
