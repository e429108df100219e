package testenv

import (
	"path/filepath"

	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// WithThirdPartyCRDs also installs the CRDs of the cert-manager and
// Prometheus Operator kinds imagegate's install manifests and chart render
// (Certificate, Issuer, ServiceMonitor, PodMonitor, PrometheusRule),
// generated from their Go API modules by `make thirdparty-crds`.
func WithThirdPartyCRDs(e *envtest.Environment) {
	e.CRDDirectoryPaths = append(e.CRDDirectoryPaths, filepath.Join(ModuleRoot(), "internal", "testenv", "testdata", "crds", "thirdparty"))
}
