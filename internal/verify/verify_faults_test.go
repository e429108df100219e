package verify_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// failing answers 503 to requests whose path matches, once armed (so test
// setup is not affected).
type failing struct {
	armed atomic.Bool
	match func(path string) bool
}

func (f *failing) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.armed.Load() && f.match(r.URL.Path) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"errors":[{"code":"UNAVAILABLE","message":"maintenance"}]}`))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func signatureLookup(path string) bool {
	return strings.HasSuffix(path, ".sig") || strings.Contains(path, "/referrers/") || strings.Contains(path, "/manifests/sha256-")
}

func referrersOnly(path string) bool { return strings.Contains(path, "/referrers/") }

func TestVerifyRegistryUnavailable(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		match    func(string) bool
		legacy   bool // sign with a legacy signature (else a bundle)
		result   verify.Result
		reason   verify.Reason
		requests []string
	}{
		{"503 on every signature lookup", signatureLookup, false, verify.ResultUnavailable, verify.ReasonUnavailable,
			[]string{ping, legacyTag, referrersAPI}},
		{"503 on the referrers endpoint, bundle-signed", referrersOnly, false, verify.ResultUnavailable, verify.ReasonUnavailable,
			[]string{ping, legacyTag, referrersAPI}},
		// What verified is proven: a legacy signature that satisfies the
		// policy stands although the referrers lookup failed.
		{"503 on the referrers endpoint, legacy-signed", referrersOnly, true, verify.ResultVerified, verify.ReasonVerified,
			[]string{ping, legacyTag, payloadBlob, referrersAPI}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &failing{match: tc.match}
			e := newEnv(t, testenv.WithReferrersAPI(), testenv.WithMiddleware(f.middleware))
			a := testenv.NewCosignKey(t)
			d := e.reg.PushImage(t, "app", "v1")
			if tc.legacy {
				testenv.SignLegacy(t, d, a)
			} else {
				testenv.SignBundle(t, d, a)
			}
			f.armed.Store(true)
			out, reqs := e.verify(t, d, newPolicy([]policy.Authority{keyAuthority(t, "a", a)}))
			wantOutcome(t, out, tc.result, tc.reason)
			wantRequests(t, reqs, tc.requests...)
			if tc.result == verify.ResultUnavailable && !strings.Contains(out.Message, "maintenance") {
				t.Errorf("message %q does not carry the registry's answer", out.Message)
			}
		})
	}
}

func TestVerifyRefusedConnection(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := testenv.NewCosignKey(t)
	d := e.reg.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, d, a)
	// The same image named on a port nobody listens on.
	gone, err := name.NewDigest("127.0.0.1:1/app@"+d.DigestStr(), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	out := e.v.Verify(t.Context(), gone, newPolicy([]policy.Authority{keyAuthority(t, "a", a)}))
	wantOutcome(t, out, verify.ResultUnavailable, verify.ReasonUnavailable)
}

func TestVerifyCancelledContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testenv.WithReferrersAPI())
	a := testenv.NewCosignKey(t)
	d := e.reg.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, d, a)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	out := e.v.Verify(ctx, d, newPolicy([]policy.Authority{keyAuthority(t, "a", a)}))
	wantOutcome(t, out, verify.ResultUnavailable, verify.ReasonUnavailable)
}

func TestVerifyPullability(t *testing.T) {
	t.Parallel()
	signatures := []string{ping, legacyTag, payloadBlob, referrersAPI}
	// The probe (internal/registry) pings with its own client, GETs the
	// manifest and the config, and reads the first byte of each layer in
	// turn until one fails.
	const manifest, blob = "GET /v2/app/manifests/sha256:D", "GET /v2/app/blobs/sha256:X"
	for _, tc := range []struct {
		name        string
		enabled     bool
		deleteLayer bool
		result      verify.Result
		reason      verify.Reason
		probe       []string
	}{
		{"enabled, layer deleted", true, true, verify.ResultDenied, verify.ReasonNotPullable, []string{ping, manifest, blob, blob}},
		{"enabled, image served", true, false, verify.ResultVerified, verify.ReasonVerified, []string{ping, manifest, blob, blob, blob}},
		{"disabled, layer deleted", false, true, verify.ResultVerified, verify.ReasonVerified, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, testenv.WithReferrersAPI())
			a := testenv.NewCosignKey(t)
			d := e.reg.PushImage(t, "app", "v1")
			testenv.SignLegacy(t, d, a)
			if tc.deleteLayer {
				e.reg.DeleteBlob(t, "app", imageLayer(t, d))
			}
			out, reqs := e.verify(t, d, newPolicy([]policy.Authority{keyAuthority(t, "a", a)}, pullability(tc.enabled)))
			wantOutcome(t, out, tc.result, tc.reason)
			wantRequests(t, reqs, append(slices.Clone(signatures), tc.probe...)...)
			if tc.reason == verify.ReasonNotPullable && !strings.Contains(out.Message, "404") {
				t.Errorf("message %q does not carry the registry's answer", out.Message)
			}
			if tc.reason == verify.ReasonNotPullable && len(out.Signers) != 1 {
				t.Errorf("signers = %+v, want the verified signer kept", out.Signers)
			}
		})
	}
}

// An unsigned image is never probed.
func TestVerifyPullabilityNotProbedWhenDenied(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	out, reqs := e.verify(t, d, newPolicy([]policy.Authority{keyAuthority(t, "a", testenv.NewCosignKey(t))}, pullability(true)))
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoSignature)
	wantRequests(t, reqs, ping, legacyTag, referrersAPI)
}
