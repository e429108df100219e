package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/verify"
)

// commonFlags are the flags every long-running role shares.
type commonFlags struct {
	metricsAddr   string
	probeAddr     string
	logFormat     string
	logLevel      string
	allowInsecure bool
	verifiedTTL   time.Duration
	deniedTTL     time.Duration
	regTimeout    time.Duration
}

func (c *commonFlags) register(fs *flag.FlagSet, metricsDefault, probeDefault string) {
	fs.StringVar(&c.metricsAddr, "metrics-bind-address", metricsDefault, "address of the Prometheus metrics endpoint (0 disables it)")
	fs.StringVar(&c.probeAddr, "health-probe-bind-address", probeDefault, "address of /healthz and /readyz")
	fs.StringVar(&c.logFormat, "log-format", "json", "log format: json or text")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.BoolVar(&c.allowInsecure, "allow-insecure-registry", false, "allow plain HTTP registries")
	fs.DurationVar(&c.verifiedTTL, "verified-ttl", 12*time.Hour, "how long a verification approves an image (ImageVerification expiresAt)")
	fs.DurationVar(&c.deniedTTL, "denied-ttl", time.Minute, "how long a permanent denial is cached before it is verified again")
	fs.DurationVar(&c.regTimeout, "registry-timeout", 10*time.Second, "deadline of each registry request")
}

// logger builds the process logger and installs it for controller-runtime.
func (c *commonFlags) logger(w io.Writer) (logr.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return logr.Logger{}, fmt.Errorf("--log-level %q: %w", c.logLevel, err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch c.logFormat {
	case "json":
		h = slog.NewJSONHandler(w, opts)
	case "text":
		h = slog.NewTextHandler(w, opts)
	default:
		return logr.Logger{}, fmt.Errorf("--log-format %q: want json or text", c.logFormat)
	}
	log := logr.FromSlogHandler(h)
	ctrl.SetLogger(log)
	return log, nil
}

// checker builds the registry client and the coalescing verifier.
func (c *commonFlags) checker(keychainFn func() registry.Options) (*registry.Client, *cache.Checker) {
	opts := keychainFn()
	opts.AllowInsecure = c.allowInsecure
	opts.RequestTimeout = c.regTimeout
	reg := registry.New(opts)
	return reg, cache.NewChecker(reg, verify.New(reg), cache.CheckerOptions{VerifiedTTL: c.verifiedTTL, DeniedTTL: c.deniedTTL})
}

// restConfig loads a kubeconfig file when one is named, else the usual
// chain: $KUBECONFIG, in-cluster, ~/.kube/config.
func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	}
	cfg, err := ctrl.GetConfig()
	if err != nil {
		return nil, fmt.Errorf("no Kubernetes configuration (set --kubeconfig or run in a cluster): %w", err)
	}
	return cfg, nil
}
