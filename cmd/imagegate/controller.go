package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/imagegate/imagegate/internal/gate"
	"github.com/imagegate/imagegate/internal/recordgc"
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
	policyResync  time.Duration
	watchSecrets  labels.Selector // nil: watch no Secret
	recordGC      recordgc.Options
	setterLimits  setters.Limits
	maxGitTimeout time.Duration
	eventsAddr    string
	retry         gate.Backoff
	gitIdleCheck  bool
	tuf           tufFlags
}

func parseControllerFlags(args []string, stderr io.Writer) (controllerFlags, error) {
	var f controllerFlags
	var watch string
	fs := flag.NewFlagSet("controller", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f.common.register(fs, ":8080", ":8081")
	f.tuf.register(fs)
	fs.BoolVar(&f.leaderElect, "leader-elect", true, "elect a leader so that one replica reconciles at a time")
	fs.StringVar(&f.leaderNS, "leader-election-namespace", "", "namespace of the leader election lease (default: $POD_NAMESPACE, else the in-cluster namespace)")
	fs.IntVar(&f.concurrency, "concurrent", 4, "ImageGates reconciled in parallel")
	fs.BoolVar(&f.noCrossNSRefs, "no-cross-namespace-refs", false, "refuse ImageGates whose sourceRef names a GitRepository in another namespace (as Flux's flag of that name)")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster or $KUBECONFIG)")
	fs.DurationVar(&f.policyResync, "policy-resync", trust.DefaultResync, "compile each trust policy again this often, re-reading the Secrets it names (picks up keys rotated in Secrets), for its status and for the gate's policy set")
	fs.StringVar(&watch, "watch-configs-label-selector", "", "also watch the Secrets this label selector matches and recompile the trust policies that read one when it changes, e.g. "+secrets.WatchLabel+" (Flux's convention); needs list and watch on Secrets (default: watch none)")
	fs.DurationVar(&f.recordGC.Interval, "record-gc-interval", recordgc.DefaultInterval, "how often the leader deletes ImageVerifications that approve nothing any more")
	fs.DurationVar(&f.recordGC.Grace, "record-gc-grace", recordgc.DefaultGrace, "how long after an ImageVerification stopped approving it is deleted")
	fs.IntVar(&f.setterLimits.MaxFileBytes, "setter-max-file-bytes", setters.DefaultLimits.MaxFileBytes, "largest file with an image policy marker that is parsed; larger ones are skipped with a Warning event")
	fs.IntVar(&f.setterLimits.MaxFileNodes, "setter-max-file-nodes", setters.DefaultLimits.MaxFileNodes, "most YAML nodes (bounded before parsing) in a file with an image policy marker; larger ones are skipped with a Warning event")
	fs.StringVar(&f.eventsAddr, "events-addr", "", "URL of notification-controller's events endpoint, e.g. http://notification-controller.flux-system.svc.cluster.local./ (as Flux's flag of that name); empty: Kubernetes events only")
	fs.BoolVar(&f.gitIdleCheck, "git-idle-check", true, "skip the clone and the setters when a gate's admitted selections, verdicts and spec are those of its last run and its branches are still at the commits that run saw or pushed (one ls-remote, or none when the GitRepository's artifact shows the tip); false clones on every run")
	fs.DurationVar(&f.maxGitTimeout, "git-timeout-max", 5*time.Minute, "cap on a GitRepository's spec.timeout, the deadline of each Git operation (0: no cap)")
	fs.DurationVar(&f.retry.Base, "retry-base", gate.DefaultRetryBase, "first wait before an ImageGate with blocked or unverified selections runs again; doubled after each such run in a row, with jitter")
	fs.DurationVar(&f.retry.Max, "retry-max", gate.DefaultRetryMax, "longest wait between those retries (an ImageGate's spec.interval, when shorter, bounds it too)")
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if f.policyResync <= 0 {
		return f, fmt.Errorf("--policy-resync %s: want a positive duration", f.policyResync)
	}
	if err := checkEventsAddr(f.eventsAddr); err != nil {
		return f, err
	}
	if f.retry.Base <= 0 || f.retry.Max < f.retry.Base {
		return f, fmt.Errorf("--retry-base %s, --retry-max %s: want a positive base and a max at least as long", f.retry.Base, f.retry.Max)
	}
	if err := f.tuf.validate(); err != nil {
		return f, err
	}
	sel, err := secrets.ParseWatchSelector(watch)
	if err != nil {
		return f, fmt.Errorf("--watch-configs-label-selector: %w", err)
	}
	f.watchSecrets = sel
	return f, nil
}

func runController(ctx context.Context, args []string, _, stderr io.Writer) int {
	f, err := parseControllerFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitHelp
		}
		fmt.Fprintf(stderr, "imagegate controller: %v\n", err)
		return exitUsage
	}
	if err := f.common.validate(); err != nil {
		fmt.Fprintf(stderr, "imagegate controller: %v\n", err)
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
	return runControllerManager(ctx, cfg, f, metrics.Registry)
}

// runControllerManager runs the controller's manager against cfg until
// ctx ends. Secrets are read by name and never cached
// (secrets.LimitManager): the controller's role grants get on Secrets,
// not list or watch, unless --watch-configs-label-selector selects
// Secrets to watch. imagegate's own metrics are registered with
// registerer (the one the manager serves, controller-runtime's
// metrics.Registry, in the binary).
func runControllerManager(ctx context.Context, cfg *rest.Config, f controllerFlags, registerer prometheus.Registerer) error {
	opts := ctrl.Options{
		Scheme:                  scheme.New(),
		Metrics:                 metricsserver.Options{BindAddress: f.common.metricsAddr},
		HealthProbeBindAddress:  f.common.probeAddr,
		LeaderElection:          f.leaderElect,
		LeaderElectionID:        "imagegate-controller.imagegate.dev",
		LeaderElectionNamespace: cmp.Or(f.leaderNS, os.Getenv("POD_NAMESPACE")),
	}
	secrets.LimitManager(&opts, f.watchSecrets)
	mgr, err := ctrl.NewManager(cfg, opts)
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	kc, err := f.common.keychain(ctx, cfg)
	if err != nil {
		return err
	}
	reg, checker := f.common.checker(kc)
	if err := registerAll(registerer, checker.Collectors(reg.Requests)); err != nil {
		return err
	}
	budget, err := setters.NewBudget(f.setterLimits)
	if err != nil {
		return err
	}
	recorders, err := newRecorders(mgr, f.eventsAddr)
	if err != nil {
		return err
	}
	policies := trust.NewStore(mgr.GetCache(), secrets.Reader{Client: mgr.GetAPIReader()}, nil, f.policyResync)
	// A new public-good root recompiles the gate's policies at once.
	publicGood, err := f.tuf.start(ctx, mgr, registerer, slog.New(logr.ToSlogHandler(ctrl.Log.WithName("trustroot"))), policies.RecompileAll)
	if err != nil {
		return err
	}
	rec := &gate.Reconciler{
		NoCrossNamespaceRefs: f.noCrossNSRefs,
		Setters:              budget,
		MaxGitTimeout:        f.maxGitTimeout,
		Retry:                f.retry,
		NoIdleCheck:          !f.gitIdleCheck,
		Client:               mgr.GetClient(),
		Secrets:              mgr.GetAPIReader(),
		Checker:              checker,
		Credentials:          f.common.credentials(mgr.GetAPIReader(), reg, checker),
		Policies:             policies,
		Records:              records.NewStore(mgr.GetClient(), mgr.GetClient(), checker.TTL, nil),
		Events:               recorders.events,
		KubeEvents:           recorders.kube,
		Metrics:              gate.NewMetrics(registerer),
		PublicGood:           publicGood,
	}
	//nolint:contextcheck // registers informers before the cache starts, which does not block on a context
	if err := rec.SetupWithManager(mgr, f.concurrency); err != nil {
		return fmt.Errorf("setting up the ImageGate controller: %w", err)
	}
	for _, cluster := range []bool{false, true} {
		tr := &trust.Reconciler{
			Client: mgr.GetClient(), Secrets: secrets.Reader{Client: mgr.GetAPIReader()}, Cluster: cluster,
			Resync: f.policyResync, SecretSelector: f.watchSecrets, PublicGood: publicGood,
		}
		if err := tr.SetupWithManager(mgr); err != nil {
			return fmt.Errorf("setting up the trust policy status controller: %w", err)
		}
	}
	f.recordGC.Registerer = registerer
	gc, err := recordgc.New(mgr.GetClient(), mgr.GetClient(), f.recordGC)
	if err != nil {
		return err
	}
	if err := mgr.Add(gc); err != nil {
		return fmt.Errorf("adding the ImageVerification collector: %w", err)
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
