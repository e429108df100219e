package admission

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/prometheus/client_golang/prometheus"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/webhook"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/records"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// The webhook under a slow API server. Its --timeout is slowTimeout; every
// request it sends the API server (record writes, the reads it does not
// serve from its informer cache) is held for twice that. The API server
// gives a webhook timeoutSeconds, which must exceed --timeout
// (NewHandler refuses otherwise); here apiServerPatience stands for it.
const (
	slowTimeout       = 3 * time.Second
	apiServerDelay    = 2*slowTimeout + time.Second
	apiServerPatience = 2 * slowTimeout
)

// TestSlowAPIServerDoesNotHoldTheWebhookPastItsDeadline runs a second
// webhook (its own manager, caches and checker) against the shared control
// plane through a proxy that delays its API requests, and sends it the
// reviews the API server would. Every answer must come within the API
// server's patience and say what the webhook would say with a fast API
// server: a signed digest is verified (the reads of its pod's pull
// credentials, held past half the deadline, are given up and the
// webhook's own credentials used; its record write, held past the
// deadline, is given up and counted as an error, not turned into a
// denial); an unsigned one is denied without an API request (a denial
// writes no record, and whether one exists to overwrite is read from the
// informer cache); a recorded digest and an unchanged reference are
// admitted from the informer cache, without a registry or API request.
func TestSlowAPIServerDoesNotHoldTheWebhookPastItsDeadline(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pol := f.clusterPolicy(t)
	signed := f.signedImage(t, "web")
	unsigned := f.reg.PushImage(t, "bad", "v1")
	recorded := f.reg.PushImage(t, "rec", "v1") // unsigned: only its record admits it
	f.writeVerifiedRecord(t, recorded, pol)

	proxy := testenv.NewAPIServerProxy(t, f.cl.cfg)
	slow := startWebhookVia(t, f, proxy.Config())
	slow.waitPolicy(t, pol)
	slow.waitRecord(t, recorded, pol)
	proxy.Delay(apiServerDelay, func(r *http.Request) bool { return !testenv.IsWatch(r) })
	f.reg.ResetRequests()

	for _, tc := range []struct {
		name    string
		review  []byte
		allowed bool
		path    Path
		reason  verify.Reason
		// cached: decided from the informer cache, no registry or API request.
		cached bool
		// noRecordAPI: no API request about ImageVerifications (the policy
		// store may read Secrets of other tests' policies meanwhile).
		noRecordAPI bool
	}{
		{"signed digest", podReview(t, admissionv1.Create, signed.String(), ""), true, PathVerified, verify.ReasonVerified, false, false},
		{"unsigned digest", podReview(t, admissionv1.Create, unsigned.String(), ""), false, PathDenied, verify.ReasonNoSignature, false, true},
		{"recorded digest", podReview(t, admissionv1.Create, recorded.String(), ""), true, PathRecorded, verify.ReasonRecorded, true, true},
		{"unchanged reference", podReview(t, admissionv1.Update, unsigned.String(), unsigned.String()), true, PathUnchanged, verify.ReasonUnchanged, true, true},
	} {
		held, registryBefore := len(proxy.Delayed()), len(f.reg.Requests())
		resp := slow.post(t, tc.review)
		switch {
		case resp == nil:
			t.Fatalf("%s: no answer within %s of a slow API server", tc.name, apiServerPatience)
		case resp.Allowed != tc.allowed:
			t.Fatalf("%s: allowed = %v, want %v: %+v", tc.name, resp.Allowed, tc.allowed, resp.Result)
		}
		lines := slow.audit.lines(t)
		got := lines[len(lines)-1].Containers["c0"]
		if got.Path != string(tc.path) || got.Reason != string(tc.reason) {
			t.Fatalf("%s: decided by %s/%s, want %s/%s", tc.name, got.Path, got.Reason, tc.path, tc.reason)
		}
		if tc.cached && (len(proxy.Delayed()) != held || len(f.reg.Requests()) != registryBefore) {
			t.Fatalf("%s: %d API and %d registry requests, want none", tc.name, len(proxy.Delayed())-held, len(f.reg.Requests())-registryBefore)
		}
		if sent := recordRequests(proxy.Delayed()[held:]); tc.noRecordAPI && len(sent) != 0 {
			t.Fatalf("%s: API requests about ImageVerifications %q, want none", tc.name, sent)
		}
	}
	writes := 0
	for _, r := range recordRequests(proxy.Delayed()) {
		if strings.HasPrefix(r, http.MethodPost+" ") && strings.HasSuffix(r, "/imageverifications") {
			writes++
		}
	}
	if writes != 1 || slow.recordErrors(t) != 1 {
		t.Fatalf("%d record writes held, %v counted as failed; want the signed digest's write, given up: %q",
			writes, slow.recordErrors(t), proxy.Delayed())
	}
}

// recordRequests keeps the requests about ImageVerifications.
func recordRequests(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		if strings.Contains(r, "/imageverifications") {
			out = append(out, r)
		}
	}
	return out
}

// slowWebhook is a webhook started by startWebhookVia.
type slowWebhook struct {
	wh      *Webhook
	mgr     manager.Manager
	url     string
	client  *http.Client
	audit   *lockedBuffer
	metrics *prometheus.Registry
}

// startWebhookVia starts a webhook whose manager talks to the API server
// through cfg, with --timeout slowTimeout; it stops in t.Cleanup.
func startWebhookVia(t *testing.T, f *fixture, cfg *rest.Config) *slowWebhook {
	t.Helper()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	certDir := t.TempDir()
	if err := f.cl.ca.issue(certDir, 100); err != nil {
		t.Fatal(err)
	}
	s := &slowWebhook{audit: &lockedBuffer{}, metrics: prometheus.NewRegistry(), url: fmt.Sprintf("https://127.0.0.1:%d%s", port, DefaultPath)}
	s.mgr, err = manager.New(cfg, manager.Options{
		Scheme: f.cl.cp.Scheme, Cache: CacheOptions(),
		Metrics: metricsserver.Options{BindAddress: "0"}, HealthProbeBindAddress: "0",
		WebhookServer: webhook.NewServer(webhook.Options{Host: "127.0.0.1", Port: port, CertDir: certDir}),
		Controller:    config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	s.wh, err = Setup(context.Background(), s.mgr, registry.New(registry.Options{AllowInsecure: true}), nil, SetupOptions{
		Options:    Options{TrustedWriters: []string{f.cl.admin}, Timeout: slowTimeout, Audit: s.audit, Log: slog.New(slog.DiscardHandler)},
		Registerer: s.metrics,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.mgr.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("slow webhook's manager: %v", err)
		}
	})
	waitFor(t, "the slow webhook to be ready", func(context.Context) (bool, error) {
		return s.wh.Ready(nil) == nil && s.mgr.GetWebhookServer().StartedChecker()(nil) == nil, nil
	})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(f.cl.ca.PEM)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	t.Cleanup(tr.CloseIdleConnections)
	s.client = &http.Client{Transport: tr, Timeout: apiServerPatience}
	return s
}

// post sends a review as the API server does and returns the answer, or
// nil when none came within apiServerPatience.
func (s *slowWebhook) post(t *testing.T, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	resp, err := s.client.Post(s.url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Logf("posting the review: %v", err)
		return nil
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response == nil {
		t.Fatalf("answer (HTTP %d) is not an AdmissionReview: %v", resp.StatusCode, err)
	}
	return out.Response
}

func (s *slowWebhook) waitPolicy(t *testing.T, want *policy.Policy) {
	t.Helper()
	waitFor(t, "the slow webhook to compile "+want.Ref.String(), func(context.Context) (bool, error) {
		set := s.wh.Policies.Policies()
		return set != nil && set.Get(want.Ref) != nil && set.Get(want.Ref).Hash == want.Hash, nil
	})
}

func (s *slowWebhook) waitRecord(t *testing.T, d name.Digest, p *policy.Policy) {
	t.Helper()
	cached := records.NewStore(s.mgr.GetCache(), nil, nil, nil)
	waitFor(t, "the record in the slow webhook's cache", func(ctx context.Context) (bool, error) {
		_, ok, err := cached.LookupVerified(ctx, d.DigestStr(), p.Hash)
		return ok, err
	})
}

func (s *slowWebhook) recordErrors(t *testing.T) float64 {
	t.Helper()
	fams, err := s.metrics.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if f.GetName() == "imagegate_admission_record_errors_total" {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	return 0
}

// writeVerifiedRecord records d as verified under p for an hour, as the
// gate does.
func (f *fixture) writeVerifiedRecord(t *testing.T, d name.Digest, p *policy.Policy) {
	t.Helper()
	iv := record(d, p)
	if err := f.cl.c.Create(t.Context(), iv); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	iv.Status = igv1.ImageVerificationStatus{Result: igv1.ResultVerified, Reason: string(verify.ReasonVerified),
		VerifiedAt: &metav1.Time{Time: now}, ExpiresAt: &metav1.Time{Time: now.Add(time.Hour)}}
	if err := f.cl.c.Status().Update(t.Context(), iv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.cl.c.Delete(context.Background(), iv) })
}

// podReview is a review of a one-container Pod with image (and, for an
// UPDATE, the old Pod with oldImage).
func podReview(t *testing.T, op admissionv1.Operation, image, oldImage string) []byte {
	t.Helper()
	if oldImage == "" {
		return reviewOf(t, op, podGVK, "alice", pod(image), nil)
	}
	return reviewOf(t, op, podGVK, "alice", pod(image), pod(oldImage))
}
