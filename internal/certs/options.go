package certs

import (
	"errors"
	"fmt"
	"time"

	"k8s.io/utils/clock"
)

// Defaults of Options.
const (
	DefaultCAValidity   = 5 * 365 * 24 * time.Hour
	DefaultCertValidity = 90 * 24 * time.Hour
	DefaultFieldOwner   = "imagegate-webhook"
)

// Options say which Secret, Service and webhook configuration the
// certificates are for.
type Options struct {
	// Namespace of the Secret and of the Service.
	Namespace string
	// SecretName holds ca.crt (the CA bundle), ca.key, tls.crt and tls.key.
	SecretName string
	// ServiceName is the Service in front of the webhook; the serving
	// certificate names it in every form the API server may dial.
	ServiceName string
	// WebhookConfiguration is the ValidatingWebhookConfiguration whose
	// webhooks get the CA bundle.
	WebhookConfiguration string
	// CertDir receives tls.crt and tls.key; it must be writable.
	CertDir string
	// ExtraHosts are more DNS names or IP addresses for the serving
	// certificate (a webhook reached by URL, outside the cluster).
	ExtraHosts []string
	// CAValidity and CertValidity; zero means the defaults. Each is
	// renewed with a third of its life left.
	CAValidity, CertValidity time.Duration
	// FieldOwner of the writes; default DefaultFieldOwner.
	FieldOwner string
	// Clock; default the real one.
	Clock clock.PassiveClock
}

func (o *Options) defaults() {
	if o.CAValidity == 0 {
		o.CAValidity = DefaultCAValidity
	}
	if o.CertValidity == 0 {
		o.CertValidity = DefaultCertValidity
	}
	if o.FieldOwner == "" {
		o.FieldOwner = DefaultFieldOwner
	}
	if o.Clock == nil {
		o.Clock = clock.RealClock{}
	}
}

func (o *Options) validate() error {
	var errs []error
	for _, f := range []struct{ name, v string }{
		{"namespace", o.Namespace}, {"secret name", o.SecretName}, {"service name", o.ServiceName},
		{"webhook configuration name", o.WebhookConfiguration}, {"certificate directory", o.CertDir},
	} {
		if f.v == "" {
			errs = append(errs, fmt.Errorf("self-managed certificates need a %s", f.name))
		}
	}
	if o.CertValidity >= o.CAValidity {
		errs = append(errs, fmt.Errorf("certificate validity %s must be shorter than the CA's %s", o.CertValidity, o.CAValidity))
	}
	return errors.Join(errs...)
}

// hosts are the names the serving certificate is for: the Service's DNS
// names, then ExtraHosts.
func (o *Options) hosts() []string {
	svc, ns := o.ServiceName, o.Namespace
	return append([]string{svc + "." + ns + ".svc", svc, svc + "." + ns, svc + "." + ns + ".svc.cluster.local"}, o.ExtraHosts...)
}
