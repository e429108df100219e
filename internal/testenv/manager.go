package testenv

import (
	"context"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// StartManager runs a controller-runtime manager against the control
// plane, as the user of cfg (nil: the admin), with metrics and probes off
// and controller names free to repeat across tests. setup registers the
// controllers before it starts. The manager stops, and its error is
// checked, when the test ends.
func (cp *ControlPlane) StartManager(t testing.TB, cfg *rest.Config, opts ctrl.Options, setup func(ctrl.Manager) error) ctrl.Manager {
	t.Helper()
	if cfg == nil {
		cfg = cp.Config
	}
	if opts.Scheme == nil {
		opts.Scheme = cp.Scheme
	}
	opts.Metrics = metricsserver.Options{BindAddress: "0"}
	opts.HealthProbeBindAddress = "0"
	opts.Controller = config.Controller{SkipNameValidation: ptr.To(true)}
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		t.Fatalf("creating a manager: %v", err)
	}
	if err := setup(mgr); err != nil {
		t.Fatalf("setting up the manager: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
	return mgr
}
