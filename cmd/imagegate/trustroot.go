package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/trustroot"
)

// tufOff is the --tuf-mirror value that disables the public-good root.
const tufOff = "off"

// tufFlags configure the Sigstore public-good trusted root, which the
// controller and the webhook each keep through TUF.
type tufFlags struct {
	mirror   string
	rootFile string
	interval time.Duration
	secret   string
}

func (t *tufFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&t.mirror, "tuf-mirror", trustroot.DefaultMirror, "TUF repository of the Sigstore public-good trusted root, used by keyless authorities without a trustedRoot; \"off\" disables it (air-gapped: every keyless authority must name a trustedRoot Secret)")
	fs.StringVar(&t.rootFile, "tuf-root", "", "root.json that anchors the TUF repository of --tuf-mirror (default: Sigstore's public-good root, embedded in imagegate); for a private Sigstore instance that publishes its trusted root through TUF")
	fs.DurationVar(&t.interval, "tuf-refresh-interval", trustroot.DefaultInterval, "how often the TUF repository is asked for a new trusted root (a failed refresh is retried within 5 minutes; the last good root stays in use)")
	fs.StringVar(&t.secret, "tuf-secret", trustroot.DefaultSecretName, "Secret in $POD_NAMESPACE holding the last verified TUF metadata and trusted root, so that a restarted Pod needs no network")
}

// validate refuses values that cannot work.
func (t *tufFlags) validate() error {
	if t.mirror == tufOff {
		return nil
	}
	u, err := url.Parse(t.mirror)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("--tuf-mirror %q: want an http(s) URL or %q", t.mirror, tufOff)
	}
	if t.interval < time.Minute {
		return fmt.Errorf("--tuf-refresh-interval %s: must be at least 1m", t.interval)
	}
	if t.secret == "" {
		return fmt.Errorf("--tuf-secret: must not be empty")
	}
	return nil
}

// start obtains the public-good root before the manager starts (from the
// Secret when it is fresh, else from the mirror) and adds the refresh
// loop to mgr. It returns nil when the root is disabled. A failed first
// refresh is logged, not fatal: the last good root, or none, is reported
// in the policies' status and the metrics, and refreshes go on.
func (t *tufFlags) start(ctx context.Context, mgr ctrl.Manager, registerer prometheus.Registerer, log *slog.Logger, onChange func()) (policy.PublicGoodSource, error) {
	if t.mirror == tufOff {
		return nil, nil
	}
	var anchor []byte
	if t.rootFile != "" {
		b, err := os.ReadFile(t.rootFile)
		if err != nil {
			return nil, fmt.Errorf("--tuf-root: %w", err)
		}
		anchor = b
	}
	src, err := trustroot.New(trustroot.Options{
		Mirror:   t.mirror,
		Root:     anchor,
		Interval: t.interval,
		Store:    &trustroot.SecretStore{Reader: mgr.GetAPIReader(), Writer: mgr.GetClient(), Namespace: webhookNamespace(), Name: t.secret},
		Log:      log,
		OnChange: onChange,
	})
	if err != nil {
		return nil, err
	}
	if err := registerAll(registerer, src.Collectors()); err != nil {
		return nil, err
	}
	if err := src.Init(ctx); err != nil {
		log.ErrorContext(ctx, "no current Sigstore public-good trusted root at start; refreshing again within 5 minutes", "error", err)
	}
	if err := mgr.Add(src); err != nil {
		return nil, fmt.Errorf("adding the trusted root refresh: %w", err)
	}
	go func() {
		<-ctx.Done()
		_ = src.Close()
	}()
	return src, nil
}
