package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	"github.com/imagegate/imagegate/internal/admission"
	"github.com/imagegate/imagegate/internal/certs"
	"github.com/imagegate/imagegate/internal/scheme"
)

// Defaults of `imagegate webhook` that depend on where it runs.
const (
	defaultWebhookNamespace      = "imagegate-system"
	defaultWebhookServiceAccount = "imagegate-webhook"
)

type webhookFlags struct {
	common           commonFlags
	kubeconfig       string
	certDir          string
	host             string
	port             int
	path             string
	podsOnly         bool
	exemptNamespaces string
	exemptImages     string
	trustedWriters   string
	serviceAccount   string
	timeout          time.Duration
	maxImages        int
	policyResync     time.Duration
	pprofAddr        string
	certs            certFlags
	tuf              tufFlags
}

func parseWebhookFlags(args []string, stderr io.Writer) (webhookFlags, error) {
	var f webhookFlags
	fs := flag.NewFlagSet("webhook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	f.common.register(fs, ":8080", ":8081")
	fs.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)")
	fs.StringVar(&f.certDir, "cert-dir", "/tmp/k8s-webhook-server/serving-certs", "directory holding tls.crt and tls.key; reloaded when they change")
	fs.StringVar(&f.host, "host", "", "address to serve on (default: all)")
	fs.IntVar(&f.port, "port", 9443, "HTTPS port of the webhook")
	fs.StringVar(&f.path, "path", admission.DefaultPath, "URL path of the webhook")
	fs.BoolVar(&f.podsOnly, "pods-only", false, "check Pods only; admit workload kinds unchecked")
	fs.StringVar(&f.exemptNamespaces, "exempt-namespaces", "", "comma-separated namespaces admitted unchecked (default: kube-system and $POD_NAMESPACE)")
	fs.StringVar(&f.exemptImages, "exempt-images", "", "comma-separated image globs admitted unchecked")
	fs.StringVar(&f.trustedWriters, "trusted-writers", "", "comma-separated usernames that may write ImageVerifications (default: system:serviceaccount:$POD_NAMESPACE:--service-account)")
	fs.StringVar(&f.serviceAccount, "service-account", defaultWebhookServiceAccount, "the webhook's own service account name, for the default --trusted-writers")
	fs.DurationVar(&f.timeout, "timeout", admission.DefaultTimeout, "overall deadline of one admission request (below the webhook's timeoutSeconds, 10s)")
	fs.IntVar(&f.maxImages, "max-images-per-object", admission.DefaultMaxImagesPerObject, "distinct images one object may name; an object naming more is denied (TooManyImages) with none of them checked")
	fs.DurationVar(&f.policyResync, "policy-resync", admission.DefaultPolicyResync, "recompile policies this often (picks up keys rotated in Secrets)")
	fs.StringVar(&f.pprofAddr, "pprof-bind-address", "0", "address of Go's /debug/pprof/ endpoints, for profiling (0 disables them; they show memory and goroutines: bind to 127.0.0.1 only)")
	f.certs.register(fs)
	f.tuf.register(fs)
	if err := fs.Parse(args); err != nil {
		return f, err
	}
	if err := f.certs.validate(); err != nil {
		return f, err
	}
	if fs.NArg() > 0 {
		return f, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := f.common.validate(); err != nil {
		return f, err
	}
	if err := f.tuf.validate(); err != nil {
		return f, err
	}
	if f.maxImages < 1 {
		return f, fmt.Errorf("--max-images-per-object %d: must be at least 1", f.maxImages)
	}
	if f.timeout <= 0 || f.timeout >= admission.MaxTimeout {
		return f, fmt.Errorf("--timeout %s: must be above 0 and below the webhook's timeoutSeconds (%s)", f.timeout, admission.MaxTimeout)
	}
	return f, nil
}

// namespace is the webhook's own, from the downward API.
func webhookNamespace() string {
	if ns := os.Getenv("POD_NAMESPACE"); ns != "" {
		return ns
	}
	return defaultWebhookNamespace
}

func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// handlerOptions turns the flags into the handler's options, filling in
// the defaults that depend on the pod's namespace.
func (f *webhookFlags) handlerOptions(audit io.Writer, log *slog.Logger) admission.Options {
	ns := webhookNamespace()
	o := admission.Options{
		ExemptNamespaces:   splitList(f.exemptNamespaces),
		ExemptImages:       splitList(f.exemptImages),
		TrustedWriters:     splitList(f.trustedWriters),
		PodsOnly:           f.podsOnly,
		Timeout:            f.timeout,
		MaxImagesPerObject: f.maxImages,
		Audit:              audit,
		Log:                log,
	}
	if f.exemptNamespaces == "" {
		o.ExemptNamespaces = []string{"kube-system", ns}
	}
	if f.trustedWriters == "" {
		o.TrustedWriters = []string{"system:serviceaccount:" + ns + ":" + f.serviceAccount}
	}
	return o
}

func runWebhook(ctx context.Context, args []string, _, stderr io.Writer) int {
	f, err := parseWebhookFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitHelp
		}
		fmt.Fprintf(stderr, "imagegate webhook: %v\n", err)
		return exitUsage
	}
	log, err := f.common.logger(stderr)
	if err != nil {
		fmt.Fprintf(stderr, "imagegate webhook: %v\n", err)
		return exitUsage
	}
	if err := startWebhook(ctx, f, stderr, slog.New(logr.ToSlogHandler(log))); err != nil {
		log.Error(err, "webhook stopped")
		return 1
	}
	return 0
}

func startWebhook(ctx context.Context, f webhookFlags, audit io.Writer, log *slog.Logger) error {
	cfg, err := restConfig(f.kubeconfig)
	if err != nil {
		return err
	}
	certManager, certOpts, err := f.certs.selfManaged(cfg, f.certDir)
	if err != nil {
		return err
	}
	cacheOpts := admission.CacheOptions()
	if certManager != nil {
		maps.Copy(cacheOpts.ByObject, certs.CacheOptions(certOpts))
	}
	mgr, err := ctrl.NewManager(cfg, ctrl.Options{
		Scheme:                 scheme.New(),
		Cache:                  cacheOpts,
		Metrics:                metricsserver.Options{BindAddress: f.common.metricsAddr},
		HealthProbeBindAddress: f.common.probeAddr,
		PprofBindAddress:       f.pprofAddr,
		WebhookServer:          webhook.NewServer(webhook.Options{Host: f.host, Port: f.port, CertDir: f.certDir}),
	})
	if err != nil {
		return fmt.Errorf("creating manager: %w", err)
	}
	// A registry request may not outlive the admission deadline.
	if f.common.regTimeout > f.timeout {
		f.common.regTimeout = f.timeout
	}
	kc, err := f.common.keychain(ctx, cfg)
	if err != nil {
		return err
	}
	reg, checker := f.common.checker(kc)
	// The root is obtained before the policies are first compiled; a new
	// root recompiles them at once.
	var policies atomic.Pointer[admission.PolicyStore] // set once Setup made them
	publicGood, err := f.tuf.start(ctx, mgr, metrics.Registry, log, func() {
		if p := policies.Load(); p != nil {
			p.RecompileAll()
		}
	})
	if err != nil {
		return err
	}
	wh, err := admission.Setup(ctx, mgr, reg, checker, admission.SetupOptions{
		Options: f.handlerOptions(audit, log), Path: f.path, PolicyResync: f.policyResync, Registerer: metrics.Registry,
		Credentials: f.common.credentials(mgr.GetAPIReader(), reg, checker),
		PublicGood:  publicGood,
	})
	if err != nil {
		return fmt.Errorf("setting up the admission webhook: %w", err)
	}
	policies.Store(wh.Policies)
	if certManager != nil {
		if err := bootstrapCerts(ctx, certManager, mgr, log); err != nil {
			return err
		}
	}
	if err := metrics.Registry.Register(certs.ExpiryCollector(f.certDir)); err != nil {
		return fmt.Errorf("registering the certificate metric: %w", err)
	}
	if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
		return fmt.Errorf("adding health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("webhook-server", mgr.GetWebhookServer().StartedChecker()); err != nil {
		return fmt.Errorf("adding readiness check: %w", err)
	}
	if err := mgr.Start(ctx); err != nil {
		return fmt.Errorf("running the webhook: %w", err)
	}
	return nil
}
