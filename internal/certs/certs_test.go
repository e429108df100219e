package certs_test

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	clocktesting "k8s.io/utils/clock/testing"

	"github.com/imagegate/imagegate/internal/certs"
)

func TestEnsureCreatesTheSecretWritesTheFilesAndInjectsTheBundle(t *testing.T) {
	t.Parallel()
	opts := setup(t)
	createWebhookConfiguration(t, opts)
	m := newManager(t, opts)
	if _, err := m.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	sec := getSecret(t, opts)
	for _, k := range []string{certs.KeyCABundle, certs.KeyCAKey, certs.KeyCert, certs.KeyKey} {
		if len(sec.Data[k]) == 0 {
			t.Errorf("Secret has no %s", k)
		}
	}
	if sec.Type != "kubernetes.io/tls" {
		t.Errorf("Secret type %q", sec.Type)
	}
	for _, k := range []string{certs.KeyCert, certs.KeyKey} {
		if !bytes.Equal(readFile(t, opts.CertDir, k), sec.Data[k]) {
			t.Errorf("%s in the certificate directory differs from the Secret's", k)
		}
	}
	vwc := getWebhookConfiguration(t, opts)
	for _, h := range vwc.Webhooks {
		if !bytes.Equal(h.ClientConfig.CABundle, sec.Data[certs.KeyCABundle]) {
			t.Errorf("webhook %s: caBundle is not the Secret's ca.crt", h.Name)
		}
	}
	verifyServing(t, sec.Data[certs.KeyCert], vwc.Webhooks[0].ClientConfig.CABundle, opts, time.Now())

	// A second pass changes nothing: no write to either object.
	if _, err := m.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	if rv := getSecret(t, opts).ResourceVersion; rv != sec.ResourceVersion {
		t.Errorf("Secret rewritten by a pass with nothing to do (resourceVersion %s -> %s)", sec.ResourceVersion, rv)
	}
	if rv := getWebhookConfiguration(t, opts).ResourceVersion; rv != vwc.ResourceVersion {
		t.Errorf("webhook configuration rewritten by a pass with nothing to do (resourceVersion %s -> %s)", vwc.ResourceVersion, rv)
	}
}

func TestReplicasStartingTogetherShareOneCA(t *testing.T) {
	t.Parallel()
	opts := setup(t)
	createWebhookConfiguration(t, opts)
	const replicas = 5
	dirs := make([]string, replicas)
	var wg sync.WaitGroup
	errs := make([]error, replicas)
	for i := range replicas {
		o := opts
		o.CertDir = t.TempDir()
		dirs[i] = o.CertDir
		m := newManager(t, o)
		wg.Go(func() { _, errs[i] = m.Ensure(t.Context()) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	sec := getSecret(t, opts)
	if n := len(parseCerts(t, sec.Data[certs.KeyCABundle])); n != 1 {
		t.Errorf("CA bundle holds %d certificates, want 1", n)
	}
	for i, d := range dirs {
		if !bytes.Equal(readFile(t, d, certs.KeyCert), sec.Data[certs.KeyCert]) {
			t.Errorf("replica %d serves a certificate other than the Secret's", i)
		}
	}
	for _, h := range getWebhookConfiguration(t, opts).Webhooks {
		if !bytes.Equal(h.ClientConfig.CABundle, sec.Data[certs.KeyCABundle]) {
			t.Errorf("webhook %s: caBundle is not the Secret's ca.crt", h.Name)
		}
	}
}

func TestMissingWebhookConfigurationStillWritesTheFiles(t *testing.T) {
	t.Parallel()
	opts := setup(t)
	_, err := newManager(t, opts).Ensure(t.Context())
	if !errors.Is(err, certs.ErrNoWebhookConfiguration) {
		t.Fatalf("err = %v, want ErrNoWebhookConfiguration", err)
	}
	if !bytes.Equal(readFile(t, opts.CertDir, certs.KeyCert), getSecret(t, opts).Data[certs.KeyCert]) {
		t.Error("the serving certificate was not written before the webhook configuration exists")
	}
}

func TestRenewalKeepsTheOldCATrustedUntilItExpires(t *testing.T) {
	t.Parallel()
	opts := setup(t)
	createWebhookConfiguration(t, opts)
	start := time.Now().Truncate(time.Second)
	clock := clocktesting.NewFakePassiveClock(start)
	opts.Clock = clock
	opts.CAValidity, opts.CertValidity = 300*24*time.Hour, 30*24*time.Hour
	m := newManager(t, opts)
	ensure := func() (ca, cert []byte, next time.Time) {
		t.Helper()
		next, err := m.Ensure(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		s := getSecret(t, opts)
		if !bytes.Equal(readFile(t, opts.CertDir, certs.KeyCert), s.Data[certs.KeyCert]) {
			t.Error("the served certificate is not the Secret's")
		}
		if b := getWebhookConfiguration(t, opts).Webhooks[1].ClientConfig.CABundle; !bytes.Equal(b, s.Data[certs.KeyCABundle]) {
			t.Error("the webhook configuration's caBundle is not the Secret's")
		}
		verifyServing(t, s.Data[certs.KeyCert], s.Data[certs.KeyCABundle], opts, clock.Now())
		return s.Data[certs.KeyCABundle], s.Data[certs.KeyCert], next
	}
	ca0, cert0, next := ensure()
	// The serving certificate is renewed with a third of its life left.
	if want := start.Add(20 * 24 * time.Hour); !next.Equal(want) {
		t.Errorf("next check %s, want %s (serving certificate at two thirds of its life)", next, want)
	}
	clock.SetTime(next.Add(-time.Minute))
	if ca, cert, _ := ensure(); !bytes.Equal(ca, ca0) || !bytes.Equal(cert, cert0) {
		t.Error("renewed before the renewal time")
	}
	clock.SetTime(next)
	ca1, cert1, _ := ensure()
	if !bytes.Equal(ca1, ca0) || bytes.Equal(cert1, cert0) {
		t.Error("at renewal time: want a new serving certificate from the same CA")
	}
	// The CA is replaced with a third of its life left; the old one stays
	// in the bundle until it expires.
	clock.SetTime(start.Add(200 * 24 * time.Hour))
	ca2, _, next := ensure()
	bundle := parseCerts(t, ca2)
	if len(bundle) != 2 || !bundle[1].Equal(parseCerts(t, ca0)[0]) {
		t.Fatalf("after CA renewal the bundle holds %d certificates, want the new CA then the old", len(bundle))
	}
	if want := start.Add(220 * 24 * time.Hour); !next.Equal(want) {
		t.Errorf("next check %s, want %s (the new serving certificate's renewal)", next, want)
	}
	clock.SetTime(parseCerts(t, ca0)[0].NotAfter.Add(time.Second))
	ca3, _, _ := ensure()
	if got := parseCerts(t, ca3); len(got) != 1 || !got[0].Equal(bundle[0]) {
		t.Errorf("after the old CA expired the bundle holds %d certificates, want the current CA only", len(got))
	}
}

func TestBrokenSecretIsReplaced(t *testing.T) {
	t.Parallel()
	opts := setup(t)
	createWebhookConfiguration(t, opts)
	m := newManager(t, opts)
	if _, err := m.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	sec := getSecret(t, opts)
	sec.Data[certs.KeyKey] = []byte("not a key")
	sec.Data[certs.KeyCABundle] = []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
	if err := cp.Client.Update(t.Context(), sec); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Ensure(t.Context()); err != nil {
		t.Fatal(err)
	}
	s := getSecret(t, opts)
	verifyServing(t, s.Data[certs.KeyCert], s.Data[certs.KeyCABundle], opts, time.Now())
	if !bytes.Equal(readFile(t, opts.CertDir, certs.KeyKey), s.Data[certs.KeyKey]) {
		t.Error("the served key is not the Secret's")
	}
}

func TestNewRefusesIncompleteOptions(t *testing.T) {
	t.Parallel()
	_, err := certs.New(cp.Client, certs.Options{Namespace: "x", CertValidity: time.Hour, CAValidity: time.Minute})
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"secret name", "service name", "webhook configuration name", "certificate directory", "shorter than the CA"} {
		if !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}
