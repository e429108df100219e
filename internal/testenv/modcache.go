package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// ModuleFile reads a file of a module go.mod requires, from the Go module
// cache, without copying it into this repository: real public-good
// Sigstore material (trusted roots, bundles) ships in the sigstore-go and
// cosign modules. The module's directory is `go list -m -f {{.Dir}}`'s:
// the version go.mod selects, already downloaded to build the tests.
func ModuleFile(t testing.TB, module, path string) []byte {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("testenv: the go command is needed to find module %s: %v", module, err)
	}
	cmd := exec.CommandContext(t.Context(), goBin, "list", "-m", "-f", "{{.Dir}}", module) //nolint:gosec // fixed command, module names come from tests
	cmd.Dir = ModuleRoot()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("testenv: go list -m %s: %v: %s", module, err, stderr.String())
	}
	dir := strings.TrimSpace(string(out))
	if dir == "" {
		t.Fatalf("testenv: module %s is not in the module cache; run go mod download %s", module, module)
	}
	raw, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(path)))
	if err != nil {
		t.Fatalf("testenv: %s of module %s: %v", path, module, err)
	}
	return raw
}
