package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/certs"
	"github.com/imagegate/imagegate/internal/scheme"
)

// Values of --cert-mode.
const (
	certModeFiles       = "files"
	certModeSelfManaged = "self-managed"
)

// certFlags say who provides the webhook's serving certificate.
type certFlags struct {
	mode          string
	secret        string
	configuration string
	service       string
	hosts         string
}

func (c *certFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.mode, "cert-mode", certModeFiles, "who provides the serving certificate: files (tls.crt and tls.key in --cert-dir, e.g. from cert-manager) or self-managed (imagegate keeps a CA and certificate in --cert-secret, writes --cert-dir and injects the CA bundle into --webhook-configuration)")
	fs.StringVar(&c.secret, "cert-secret", "imagegate-webhook-tls", "self-managed: Secret in $POD_NAMESPACE holding the CA and the serving certificate")
	fs.StringVar(&c.configuration, "webhook-configuration", "imagegate", "self-managed: ValidatingWebhookConfiguration that gets the CA bundle")
	fs.StringVar(&c.service, "service-name", "imagegate-webhook", "self-managed: Service in $POD_NAMESPACE the serving certificate is for")
	fs.StringVar(&c.hosts, "cert-hosts", "", "self-managed: comma-separated extra DNS names or IPs for the serving certificate")
}

func (c *certFlags) validate() error {
	if c.mode != certModeFiles && c.mode != certModeSelfManaged {
		return fmt.Errorf("--cert-mode %q: want %s or %s", c.mode, certModeFiles, certModeSelfManaged)
	}
	return nil
}

// selfManaged returns the certificate manager, or nil in files mode.
func (c *certFlags) selfManaged(cfg *rest.Config, certDir string) (*certs.Manager, certs.Options, error) {
	if c.mode != certModeSelfManaged {
		return nil, certs.Options{}, nil
	}
	opts := certs.Options{
		Namespace: webhookNamespace(), SecretName: c.secret, ServiceName: c.service,
		WebhookConfiguration: c.configuration, CertDir: certDir, ExtraHosts: splitList(c.hosts),
	}
	// Reads go to the API server: after losing a race to another replica,
	// the winner's Secret must be what is read next.
	direct, err := client.New(cfg, client.Options{Scheme: scheme.New()})
	if err != nil {
		return nil, opts, fmt.Errorf("creating a client for the certificates: %w", err)
	}
	m, err := certs.New(direct, opts)
	if err != nil {
		return nil, opts, fmt.Errorf("--cert-mode=%s: %w", certModeSelfManaged, err)
	}
	return m, opts, nil
}

// bootstrapCerts writes the serving pair before the server starts (it
// reads the files when it starts); the CA bundle may wait for the webhook
// configuration to exist, the controller set up after injects it then.
func bootstrapCerts(ctx context.Context, m *certs.Manager, mgr ctrl.Manager, log *slog.Logger) error {
	if _, err := m.Ensure(ctx); err != nil {
		if !errors.Is(err, certs.ErrNoWebhookConfiguration) {
			return fmt.Errorf("self-managed certificates (%s): %w", m, err)
		}
		log.Info("the CA bundle is injected once the webhook configuration exists", "error", err.Error())
	}
	if err := m.SetupWithManager(mgr); err != nil {
		return fmt.Errorf("setting up the certificate controller: %w", err)
	}
	return nil
}
