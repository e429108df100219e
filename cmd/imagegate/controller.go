package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/imagegate/imagegate/internal/gate"
	"github.com/imagegate/imagegate/internal/records"
	"github.com/imagegate/imagegate/internal/scheme"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/setters"
	"github.com/imagegate/imagegate/internal/trust"
)

type controllerFlags struct {
	common        commonFlags
	leaderElect   bool
	leaderNS      string
	concurrency   int
	noCrossNSRefs bool
	kubeconfig    string
	setterLimits  setters.Limits
	maxGitTimeout time.Duration
}

func runController(ctx context.Context, args []string, _, stderr io.Writer) int {
	var f controllerFlags
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f.common.register(fs, ":8080", ":8081")
	fs.BoolVar(&f.leaderElect, "leader-elect", true, "elect a leader so that one replica reconciles at a time")
	fs.StringVar(&f.leaderNS, "leader-election-namespace", "", "namespace of the leader election lease (default: $POD_NAMESPACE, else the in-cluster namespace)")
	fs.IntVar(&f.concurrency, "concurrent", 4, "ImageGates reconciled in parallel")
	fs.BoolVar(&f.noCrossNSRefs, "no-cross-namespace-refs", false, "refuse ImageGates whose sourceRef names a GitRepository in another namespace (as Flux's flag of that name)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster or $KUBECONFIG)")
	fs.IntVar(&f.setterLimits.MaxFileBytes, "setter-max-file-bytes", setters.DefaultLimits.MaxFileBytes, "largest file with an image policy marker that is parsed; larger ones are skipped with a Warning event")
	fs.IntVar(&f.setterLimits.MaxFileNodes, "setter-max-file-nodes", setters.DefaultLimits.MaxFileNodes, "most YAML nodes (bounded before parsing) in a file with an image policy marker; larger ones are skipped with a Warning event")
	fs.DurationVar(&f.maxGitTimeout, "git-timeout-max", 5*time.Minute, "cap on a GitRepository's spec.timeout, the deadline of each Git operation (0: no cap)")
	if err := fs.Parse(args); err != nil {
		return exitUsage
	}
	if _, err := setters.NewBudget(f.setterLimits); err != nil {
		fmt.Fprintf(stderr, "imagegate controller: %v\n", err)
		return exitUsage
	}
	log, err := f.common.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "imagegate controller: %v\n", err)
		return exitUsage
	}
	if err := startController(ctx, f); err != nil {
		log.Error(err, "controller stopped")
		return 1
	}
	return 0
}

func startController(ctx context.Context, f controllerFlags) error {
	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                  scheme.New(),
		Metrics:                 metricsserver.Options{BindAddress: f.common.metricsAddr},
		HealthProbeBindAddress:  f.common.probeAddr,
		LeaderElection:          f.leaderElect,
		LeaderElectionID:        "imagegate-controller.imagegate.dev",
		LeaderElectionNamespace: cmp.Or(f.leaderNS, os.Getenv("POD_NAMESPACE")),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	kc, err := f.common.keychain(ctx, cfg)
	if err != nil {
		return err
	}
	reg, checker := f.common.checker(kc)
	if err := registerAll(metrics.Registry, checker.Collectors(reg.Requests)); err != nil {
		return err
	}
	budget, err := setters.NewBudget(f.setterLimits)
	if err != nil {
		return err
	}
	rec := &gate.Reconciler{
		NoCrossNamespaceRefs: f.noCrossNSRefs,
		Setters:              budget,
		MaxGitTimeout:        f.maxGitTimeout,
		Client:               mgr.GetClient(),
		Checker:              checker,
		Records:              records.NewStore(mgr.GetClient(), mgr.GetClient(), checker.TTL, nil),
		Events:               mgr.GetEventRecorder("imagegate-controller"),
		Metrics:              gate.NewMetrics(metrics.Registry),
	}
	if err := rec.SetupWithManager(mgr, f.concurrency); err != nil {
		return fmt.Errorf("setting up the ImageGate controller: %w", err)
	}
	for _, cluster := range []bool{false, true} {
		tr := &trust.Reconciler{Client: mgr.GetClient(), Secrets: secrets.Reader{Client: mgr.GetClient()}, Cluster: cluster}
		if err := tr.SetupWithManager(mgr); err != nil {
			return fmt.Errorf("setting up the trust policy status controller: %w", err)
		}
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	if err := mgr.AddReadyzCheck("ping", healthz.Ping); err != nil {
		return err
	}
	return mgr.Start(ctx)
}

// registerAll registers every collector, joining the errors.
func registerAll(r prometheus.Registerer, cs []prometheus.Collector) error {
	var errs []error
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	return nil
}
