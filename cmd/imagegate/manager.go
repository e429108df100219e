package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/credentials"
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
	pullSecrets   stringList
	maxVerifying  int
	maxSigBytes   int64
	maxRegClients int
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
	fs.IntVar(&c.maxVerifying, "max-concurrent-verifications", cache.DefaultMaxConcurrent, "verifications running at once in this process; one that finds them all busy waits until its request's deadline, then is Unavailable")
	fs.Int64Var(&c.maxSigBytes, "max-signature-bytes", verify.DefaultMaxBytes, "bytes one verification may read from the registry (signature manifests, payloads, referrers, bundles); beyond it the image is denied with SignatureLimitExceeded")
	fs.IntVar(&c.maxRegClients, "max-registry-clients", credentials.DefaultMaxClients, "registry clients kept built, one per distinct set of registry credentials in use (an ImageRepository's, or the pull secrets of a namespace's Pods); the least recently used beyond it is rebuilt when next needed")
	fs.Var(&c.pullSecrets, "pull-secret", "NAMESPACE/NAME of a kubernetes.io/dockerconfigjson Secret with registry credentials, read at start; tried after the ImageRepository's or the Pod's own credentials and before the process's docker config (repeatable)")
}

// validate refuses bounds that would not bound anything.
func (c *commonFlags) validate() error {
	if c.maxVerifying < 1 {
		return fmt.Errorf("--max-concurrent-verifications %d: must be at least 1", c.maxVerifying)
	}
	if c.maxRegClients < 1 {
		return fmt.Errorf("--max-registry-clients %d: must be at least 1", c.maxRegClients)
	}
	if c.maxSigBytes < 1 {
		return fmt.Errorf("--max-signature-bytes %d: must be at least 1", c.maxSigBytes)
	}
	return nil
}

// keychain returns the registry credentials: the pull secrets named on the
// command line, first match wins, then the process's docker config.
func (c *commonFlags) keychain(ctx context.Context, cfg *rest.Config) (authn.Keychain, error) {
	if len(c.pullSecrets) == 0 {
		return authn.DefaultKeychain, nil
	}
	cl, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("client for --pull-secret: %w", err)
	}
	payloads := make([][]byte, 0, len(c.pullSecrets))
	for _, ref := range c.pullSecrets {
		ns, name, ok := strings.Cut(ref, "/")
		if !ok || ns == "" || name == "" {
			return nil, fmt.Errorf("--pull-secret %q: want NAMESPACE/NAME", ref)
		}
		var sec corev1.Secret
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &sec); err != nil {
			return nil, fmt.Errorf("--pull-secret %s: %w", ref, err)
		}
		payload, ok := sec.Data[corev1.DockerConfigJsonKey]
		if !ok {
			payload, ok = sec.Data[corev1.DockerConfigKey]
		}
		if !ok {
			return nil, fmt.Errorf("--pull-secret %s: no %s key; use a kubernetes.io/dockerconfigjson Secret", ref, corev1.DockerConfigJsonKey)
		}
		payloads = append(payloads, payload)
	}
	kc, err := registry.KeychainFromDockerConfigJSON(payloads...)
	if err != nil {
		return nil, fmt.Errorf("--pull-secret: %w", err)
	}
	return authn.NewMultiKeychain(kc, authn.DefaultKeychain), nil
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
func (c *commonFlags) checker(kc authn.Keychain) (*registry.Client, *cache.Checker) {
	reg := registry.New(registry.Options{Keychain: kc, AllowInsecure: c.allowInsecure, RequestTimeout: c.regTimeout})
	return reg, cache.NewChecker(reg, verify.New(reg, verify.WithMaxBytes(c.maxSigBytes)),
		cache.CheckerOptions{VerifiedTTL: c.verifiedTTL, DeniedTTL: c.deniedTTL, MaxConcurrent: c.maxVerifying})
}

// credentials builds the resolver of per-ImageRepository and per-Pod
// registry credentials, reading through reader (the manager's API reader:
// get by name, no informer) and deriving clients from reg and checker.
func (c *commonFlags) credentials(reader client.Reader, reg *registry.Client, checker *cache.Checker) *credentials.Resolver {
	return credentials.New(credentials.Options{
		Reader: reader, Registry: reg, Checker: checker, MaxClients: c.maxRegClients,
		Verifier: func(r *registry.Client) cache.DigestVerifier {
			return verify.New(r, verify.WithMaxBytes(c.maxSigBytes))
		},
	})
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
