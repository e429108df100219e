package setters

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// benchCases are the tree shapes Flux's update code was measured on.
var benchCases = []struct{ files, markedPercent int }{
	{1000, 25}, {1000, 100}, {10000, 25}, {10000, 100},
}

// BenchmarkApply rewrites generated trees of Deployment-shaped files.
// Each iteration alternates between two images, so every marked file is
// rewritten every time.
func BenchmarkApply(b *testing.B) {
	base := b.TempDir()
	imgs := [2]map[Policy]Image{
		{polApp: imgApp},
		{polApp: {Name: imgApp.Name, Tag: "v1.2.4", Digest: "sha256:" + strings.Repeat("9", 64)}},
	}
	for _, bc := range benchCases {
		round := 0 // across the runs the framework makes, so each one changes files
		b.Run(fmt.Sprintf("files=%d/marked=%d%%", bc.files, bc.markedPercent), func(b *testing.B) {
			dir := generateTree(b, base, bc.files, bc.markedPercent)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			changes := 0
			for range b.N {
				round++
				res, err := Apply(dir, "", imgs[round%2])
				if err != nil {
					b.Fatal(err)
				}
				changes += len(res.Changes)
			}
			if want := b.N * bc.files * bc.markedPercent / 100; changes != want {
				b.Fatalf("%d changes, want %d", changes, want)
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(changes)/float64(b.N), "changes/op")
		})
	}
}

// BenchmarkReserialize is a lower bound for any setter that, like Flux's,
// parses marked files into nodes and serialises them again: it only
// decodes and encodes the marked files with the YAML library kyaml wraps,
// without kyaml's annotations, schema lookups or the rewrite itself.
func BenchmarkReserialize(b *testing.B) {
	base := b.TempDir()
	for _, bc := range benchCases {
		b.Run(fmt.Sprintf("files=%d/marked=%d%%", bc.files, bc.markedPercent), func(b *testing.B) {
			dir := generateTree(b, base, bc.files, bc.markedPercent)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for range b.N {
				if err := reserializeTree(dir); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func reserializeTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p) //nolint:gosec // benchmark tree
		if err != nil || !bytes.Contains(data, token) {
			return err
		}
		var out bytes.Buffer
		dec, enc := yaml.NewDecoder(bytes.NewReader(data)), yaml.NewEncoder(&out)
		enc.SetIndent(2)
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return err
		}
		if err := enc.Encode(&n); err != nil {
			return err
		}
		return os.WriteFile(p, out.Bytes(), 0o600)
	})
}

// generateTree writes (once per shape) files Deployments of ~40 lines,
// 100 to a directory; markedPercent of them carry a marker.
func generateTree(b *testing.B, base string, files, markedPercent int) string {
	b.Helper()
	dir := filepath.Join(base, fmt.Sprintf("%d-%d", files, markedPercent))
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	every := 100 / markedPercent
	for i := range files {
		comment := "# pinned by hand"
		if i%every == 0 {
			comment = `# {"$imagepolicy": "flux-system:app"}`
		}
		p := filepath.Join(dir, fmt.Sprintf("team-%03d", i/100), fmt.Sprintf("app-%05d.yaml", i))
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(fmt.Sprintf(deploymentTemplate, i, comment)), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}

const deploymentTemplate = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-%[1]d
  namespace: default
  labels:
    app.kubernetes.io/name: app-%[1]d
    app.kubernetes.io/part-of: platform
spec:
  replicas: 2
  selector:
    matchLabels:
      app.kubernetes.io/name: app-%[1]d
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app-%[1]d
      annotations:
        prometheus.io/scrape: "true"
    spec:
      serviceAccountName: app-%[1]d
      containers:
      - name: app
        image: registry.example/app:v1.0.0 %[2]s
        ports:
        - containerPort: 8080
          name: http
        env:
        - name: LOG_LEVEL
          value: info
        resources:
          requests:
            cpu: 100m
            memory: 128Mi
          limits:
            memory: 256Mi
        readinessProbe:
          httpGet:
            path: /healthz
            port: http
`

// BenchmarkRewriteFile splits the cost of one marked Deployment: the YAML
// parse alone (the floor of any parser-based setter) and the whole
// in-memory rewrite.
func BenchmarkRewriteFile(b *testing.B) {
	src := []byte(fmt.Sprintf(deploymentTemplate, 1, `# {"$imagepolicy": "flux-system:app"}`))
	p, err := newPlan(testImages())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("parse", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, err := decodeAll(src); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("rewrite", func(b *testing.B) {
		b.ReportAllocs()
		var out []byte
		for range b.N {
			fe := p.rewrite("f.yaml", src)
			if len(fe.edits) != 1 {
				b.Fatalf("%d edits", len(fe.edits))
			}
			out = apply(src, fe.edits, out)
		}
	})
}
