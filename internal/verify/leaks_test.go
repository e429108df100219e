package verify_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"go.uber.org/goleak"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// fault misbehaves on the requests it matches once armed, so that signing
// during setup goes through.
type fault struct {
	armed atomic.Bool
	match func(*http.Request) bool
	serve http.HandlerFunc
}

func (f *fault) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.armed.Load() && f.match(r) {
			f.serve(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// legacySig matches the legacy signature manifest; sigBlob any blob (the
// test images' layers are never fetched without pullability).
func legacySig(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, ".sig") }
func sigBlob(r *http.Request) bool   { return strings.Contains(r.URL.Path, "/blobs/") }

func answer(code int, header, value, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		if header != "" {
			w.Header().Set(header, value)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}
}

func hangUp(w http.ResponseWriter, _ *http.Request) {
	if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
		_ = conn.Close()
	}
}

// stallBody sends headers and a little of the body, then waits for the
// client to give up.
func stallBody(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	w.Header().Set("Content-Length", "4000")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"schemaVersion":`))
	_ = http.NewResponseController(w).Flush()
	<-r.Context().Done()
}

// endless streams a manifest without end until the client stops reading.
func endless(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/vnd.oci.image.manifest.v1+json")
	chunk := []byte(strings.Repeat(" ", 32<<10))
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}

// stallHeaders answers nothing until the client gives up.
func stallHeaders(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

func redirectToSelf(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, r.URL.Path, http.StatusTemporaryRedirect)
}

// keepAlive ignores idle keep-alive connections held by an http.Transport
// (their read and write loops): under a full package run one can belong to
// a server that outlives the case, and it is the transport's pool, not a
// goroutine the verifier leaked. Everything else is still checked.
var keepAlive = []goleak.Option{
	goleak.IgnoreAnyFunction("net/http.(*persistConn).readLoop"),
	goleak.IgnoreAnyFunction("net/http.(*persistConn).writeLoop"),
}

// TestRegistryFaultsLeaveNoGoroutines verifies a legacy-signed image while
// the registry misbehaves in each way the verifier handles: the outcome
// is Unavailable for what may pass (never cached as a denial by callers),
// a denial with its reason for what will not, never Verified; and every
// goroutine the verification started is gone once the registry is
// closed.
//
// Not parallel: it compares the process's goroutines.
func TestRegistryFaultsLeaveNoGoroutines(t *testing.T) {
	warmUpVerify(t)
	for _, tc := range []struct {
		name   string
		match  func(*http.Request) bool
		serve  http.HandlerFunc
		result verify.Result
		reason verify.Reason
	}{
		{"503 on the signature manifest", legacySig, answer(http.StatusServiceUnavailable, "", "", `{"errors":[{"code":"UNAVAILABLE"}]}`), verify.ResultUnavailable, verify.ReasonUnavailable},
		{"429 with Retry-After", legacySig, answer(http.StatusTooManyRequests, "Retry-After", "30", `{"errors":[{"code":"TOOMANYREQUESTS"}]}`), verify.ResultUnavailable, verify.ReasonUnavailable},
		{"connection reset on the signature manifest", legacySig, hangUp, verify.ResultUnavailable, verify.ReasonUnavailable},
		{"signature manifest stalls mid-body", legacySig, stallBody, verify.ResultUnavailable, verify.ReasonUnavailable},
		{"signature payload stalls", sigBlob, stallHeaders, verify.ResultUnavailable, verify.ReasonUnavailable},
		{"endless signature manifest", legacySig, endless, verify.ResultDenied, verify.ReasonSignatureUnreadable},
		// A signature whose payload cannot be read is an unusable
		// signature: the denial names it.
		{"signature payload missing", sigBlob, answer(http.StatusNotFound, "", "", `{"errors":[{"code":"BLOB_UNKNOWN"}]}`), verify.ResultDenied, verify.ReasonNoMatchingSignature},
		{"signature payload redirects to itself", sigBlob, redirectToSelf, verify.ResultDenied, verify.ReasonNoMatchingSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.CheckGoroutines(t, keepAlive...)
			f := &fault{match: tc.match, serve: tc.serve}
			out := verifyUnderFault(t, f)
			wantOutcome(t, out, tc.result, tc.reason)
		})
	}
	t.Run("connection refused", func(t *testing.T) {
		testenv.CheckGoroutines(t, keepAlive...)
		e, key := signedEnv(t, nil)
		gone, err := name.NewDigest("127.0.0.1:1/app@sha256:"+strings.Repeat("0", 64), name.Insecure)
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, e.v.Verify(t.Context(), gone, newPolicy([]policy.Authority{keyAuthority(t, "a", key)})), verify.ResultUnavailable, verify.ReasonUnavailable)
	})
	t.Run("caller gives up mid-request", func(t *testing.T) {
		testenv.CheckGoroutines(t, keepAlive...)
		arrived := make(chan struct{})
		f := &fault{match: legacySig, serve: func(w http.ResponseWriter, r *http.Request) {
			close(arrived)
			<-r.Context().Done()
		}}
		e, key := signedEnv(t, f)
		d := e.reg.PushImage(t, "app", "v2")
		testenv.SignLegacy(t, d, key)
		f.armed.Store(true)
		ctx, cancel := context.WithCancel(t.Context())
		go func() { <-arrived; cancel() }()
		wantOutcome(t, e.v.Verify(ctx, d, newPolicy([]policy.Authority{keyAuthority(t, "a", key)})), verify.ResultUnavailable, verify.ReasonUnavailable)
	})
}

// signedEnv is an env whose registry passes requests through f (if any),
// with a short per-request timeout so stalls end quickly, and a key.
func signedEnv(t *testing.T, f *fault) (*env, *testenv.CosignKey) {
	t.Helper()
	var opts []testenv.RegistryOption
	if f != nil {
		opts = append(opts, testenv.WithMiddleware(f.middleware))
	}
	reg := testenv.NewRegistry(t, opts...)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	client := registry.New(registry.Options{AllowInsecure: true, Transport: tr, RequestTimeout: 500 * time.Millisecond})
	return &env{reg: reg, client: client, v: verify.New(client, verify.WithClock(func() time.Time { return fixedNow }))}, testenv.NewCosignKey(t)
}

// verifyUnderFault signs a fresh image, arms f and verifies the image.
func verifyUnderFault(t *testing.T, f *fault) verify.Outcome {
	t.Helper()
	e, key := signedEnv(t, f)
	d := e.reg.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, d, key)
	f.armed.Store(true)
	out := e.v.Verify(t.Context(), d, newPolicy([]policy.Authority{keyAuthority(t, "a", key)}))
	t.Logf("outcome %s/%s: %s", out.Result, out.Reason, out.Message)
	return out
}

// warmUpVerify runs one good verification before goroutines are counted,
// so that what cosign and net/http start once per process is not taken for
// a leak.
func warmUpVerify(t *testing.T) {
	t.Helper()
	f := &fault{match: func(*http.Request) bool { return false }, serve: hangUp}
	if out := verifyUnderFault(t, f); out.Result != verify.ResultVerified {
		t.Fatalf("warm-up verification: %s/%s: %s", out.Result, out.Reason, out.Message)
	}
}
