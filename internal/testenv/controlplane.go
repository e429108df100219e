package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	admissionv1 "k8s.io/api/admissionregistration/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/imagegate/imagegate/internal/scheme"
)

// ErrNoControlPlane says the etcd and kube-apiserver binaries are missing.
var ErrNoControlPlane = errors.New("KUBEBUILDER_ASSETS does not hold etcd and kube-apiserver: run the tests with `make test`, which builds them into bin/k8s (hack/control-plane.sh)")

// ControlPlane is a real etcd and kube-apiserver with imagegate's and
// Flux's CRDs installed.
type ControlPlane struct {
	Env    *envtest.Environment
	Config *rest.Config
	Client client.Client
	Scheme *k8sruntime.Scheme
}

// ControlPlaneOption configures the control plane before it starts.
type ControlPlaneOption func(*envtest.Environment)

// WithValidatingWebhooks has envtest install the configurations, pointing
// them at a local server (Env.WebhookInstallOptions says where to serve).
func WithValidatingWebhooks(cfgs ...*admissionv1.ValidatingWebhookConfiguration) ControlPlaneOption {
	return func(e *envtest.Environment) {
		e.WebhookInstallOptions.ValidatingWebhooks = append(e.WebhookInstallOptions.ValidatingWebhooks, cfgs...)
	}
}

// Scheme returns a scheme with the built-in, imagegate and Flux types.
func Scheme() *k8sruntime.Scheme { return scheme.New() }

// NewControlPlane starts a control plane; Stop it when done. Use it from
// TestMain to share one control plane across a package's tests.
func NewControlPlane(opts ...ControlPlaneOption) (*ControlPlane, error) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	for _, bin := range []string{"etcd", "kube-apiserver"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); assets == "" || err != nil {
			return nil, ErrNoControlPlane
		}
	}
	root := ModuleRoot()
	env := &envtest.Environment{
		CRDDirectoryPaths: []string{
			filepath.Join(root, "config", "crd", "bases"),
			filepath.Join(root, "internal", "testenv", "testdata", "crds", "flux"),
		},
		ErrorIfCRDPathMissing: true,
		Scheme:                Scheme(),
	}
	for _, o := range opts {
		o(env)
	}
	cfg, err := env.Start()
	if err != nil {
		return nil, fmt.Errorf("starting envtest: %w", err)
	}
	c, err := client.New(cfg, client.Options{Scheme: env.Scheme})
	if err != nil {
		_ = env.Stop()
		return nil, fmt.Errorf("client for envtest: %w", err)
	}
	return &ControlPlane{Env: env, Config: cfg, Client: c, Scheme: env.Scheme}, nil
}

// StartControlPlane starts a control plane for one test and stops it in
// t.Cleanup.
func StartControlPlane(t testing.TB, opts ...ControlPlaneOption) *ControlPlane {
	t.Helper()
	cp, err := NewControlPlane(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := cp.Stop(); err != nil {
			t.Errorf("stopping control plane: %v", err)
		}
	})
	return cp
}

// Stop stops the API server and etcd.
func (cp *ControlPlane) Stop() error { return cp.Env.Stop() }

// ModuleRoot is the directory of imagegate's go.mod.
func ModuleRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("testenv: no caller information")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// KubeconfigFile writes a kubeconfig for a user of the control plane (with
// the given groups, e.g. "system:masters") and returns its path, for
// running imagegate's binary against it.
func (cp *ControlPlane) KubeconfigFile(t testing.TB, user string, groups ...string) string {
	t.Helper()
	u, err := cp.Env.AddUser(envtest.User{Name: user, Groups: groups}, nil)
	if err != nil {
		t.Fatalf("adding user %s: %v", user, err)
	}
	b, err := u.KubeConfig()
	if err != nil {
		t.Fatalf("kubeconfig for %s: %v", user, err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// BuildImagegate builds cmd/imagegate into a temporary directory and
// returns the binary's path.
func BuildImagegate(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "imagegate")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/imagegate")
	cmd.Dir = ModuleRoot()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/imagegate: %v\n%s", err, out)
	}
	return bin
}

// RunMain is a package's TestMain with one shared control plane: it starts
// it into *cp, runs the tests, stops it and exits with the tests' status.
func RunMain(m *testing.M, cp **ControlPlane, opts ...ControlPlaneOption) {
	c, err := NewControlPlane(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	*cp = c
	code := m.Run()
	if err := c.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping control plane:", err)
	}
	os.Exit(code)
}
