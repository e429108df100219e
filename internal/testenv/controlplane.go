package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	admissionv1 "k8s.io/api/admissionregistration/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
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
func Scheme() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{
		clientgoscheme.AddToScheme, igv1.AddToScheme, imagev1.AddToScheme, sourcev1.AddToScheme,
	} {
		if err := add(s); err != nil {
			panic(err)
		}
	}
	return s
}

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
