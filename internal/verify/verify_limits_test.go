package verify_test

import (
	"bytes"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// A .sig layer far larger than any simple-signing payload is reported
// unusable and never downloaded.
func TestVerifyOversizedLegacyPayloadNotFetched(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	sig, err := static.NewSignature(bytes.Repeat([]byte("a"), 300<<10), "c2ln")
	if err != nil {
		t.Fatal(err)
	}
	opts := ociremote.WithRemoteOptions(remote.WithContext(t.Context()))
	se, err := ociremote.SignedEntity(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	if se, err = mutate.AttachSignatureToEntity(se, sig); err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteSignatures(d.Context(), se, opts); err != nil {
		t.Fatal(err)
	}
	out, reqs := e.verify(t, d, newPolicy([]policy.Authority{keyAuthority(t, "a", testenv.NewCosignKey(t))}))
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
	wantRequests(t, reqs, ping, legacyTag, referrersAPI)
}

// countingTransport counts the response body bytes the client reads, below
// the registry client's own guards, so the count does not rely on them.
type countingTransport struct {
	base http.RoundTripper
	read atomic.Int64
}

func (c *countingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	if err == nil {
		resp.Body = &testenv.CountingBody{ReadCloser: resp.Body, N: &c.read}
	}
	return resp, err
}

// attachLegacySignatures writes n legacy signatures of size bytes each
// (distinct payloads) to d's .sig manifest in one push.
func attachLegacySignatures(t *testing.T, reg *testenv.Registry, d name.Digest, n, size int) {
	t.Helper()
	opts := ociremote.WithRemoteOptions(reg.SetupOptions(t)...)
	se, err := ociremote.SignedEntity(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		payload := append(bytes.Repeat([]byte("p"), size-8), fmt.Sprintf("%08d", i)...)
		sig, err := static.NewSignature(payload, "c2ln")
		if err != nil {
			t.Fatal(err)
		}
		if se, err = mutate.AttachSignatureToEntity(se, sig); err != nil {
			t.Fatal(err)
		}
	}
	if err := ociremote.WriteSignatures(d.Context(), se, opts); err != nil {
		t.Fatal(err)
	}
}

// attachBundles attaches n bundle referrers to d sharing one layer of size
// bytes (each referrer manifest differs by an annotation; the client
// fetches the layer once per referrer, as it would distinct ones).
func attachBundles(t *testing.T, d name.Digest, n, size int) {
	t.Helper()
	layer := bytes.Repeat([]byte("b"), size)
	for i := range n {
		testenv.PushReferrer(t, d, "application/vnd.dev.sigstore.bundle.v0.3+json", "application/vnd.dev.sigstore.bundle.v0.3+json",
			layer, map[string]string{"n": fmt.Sprint(i)})
	}
}

// A registry serving the most signatures imagegate reads, each as large as
// allowed (32 bundles of 3 MiB, 32 legacy payloads of 250 KiB: ~104 MiB,
// which imagegate read and held at once before the byte budget), makes one
// verification read no more than verify.DefaultMaxBytes, counted below
// the client's guards, and allocate a bounded amount; the image is Denied
// with SignatureLimitExceeded, a permanent decision (retrying reads the
// same material).
func TestVerifyReadsNoMoreThanTheByteBudget(t *testing.T) {
	// Not parallel: it measures allocations, which other tests would skew.
	reg := testenv.NewRegistry(t, testenv.WithReferrersAPI())
	d := reg.PushImage(t, "app", "v1")
	attachLegacySignatures(t, reg, d, 32, 250<<10)
	attachBundles(t, d, 32, 3<<20)

	counter := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	client := registry.New(registry.Options{AllowInsecure: true, Transport: counter})
	v := verify.New(client)
	p := newPolicy([]policy.Authority{keyAuthority(t, "a", testenv.NewCosignKey(t))})

	reg.ResetRequests()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	out := v.Verify(t.Context(), d, p)
	runtime.ReadMemStats(&after)
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonSignatureLimit)
	if !strings.Contains(out.Message, fmt.Sprintf("signature material exceeds %d bytes", verify.DefaultMaxBytes)) {
		t.Errorf("message does not name the limit: %s", out.Message)
	}
	read, alloc := counter.read.Load(), after.TotalAlloc-before.TotalAlloc
	t.Logf("read %.1f MiB in %d requests, allocated %.1f MiB", float64(read)/(1<<20), len(reg.Requests()), float64(alloc)/(1<<20))
	if read > verify.DefaultMaxBytes {
		t.Fatalf("read %d bytes, more than the %d budget", read, verify.DefaultMaxBytes)
	}
	// Every byte read is held at most once more while parsed; the rest is
	// the client's own (requests, TLS-free buffers, JSON of manifests).
	if alloc > 3*verify.DefaultMaxBytes {
		t.Fatalf("allocated %d MiB, want < %d MiB", alloc>>20, 3*verify.DefaultMaxBytes>>20)
	}
}

// The same hostile registry under a small budget: what is read stops at
// the budget exactly as configured (verify.WithMaxBytes).
func TestVerifyByteBudgetIsConfigurable(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t, testenv.WithReferrersAPI())
	d := reg.PushImage(t, "app", "v1")
	attachBundles(t, d, 8, 64<<10)
	counter := &countingTransport{base: http.DefaultTransport.(*http.Transport).Clone()}
	client := registry.New(registry.Options{AllowInsecure: true, Transport: counter})
	p := newPolicy([]policy.Authority{keyAuthority(t, "a", testenv.NewCosignKey(t))})

	const budget = 200 << 10 // less than 8 bundles of 64 KiB and their manifests
	out := verify.New(client, verify.WithMaxBytes(budget)).Verify(t.Context(), d, p)
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonSignatureLimit)
	if read := counter.read.Load(); read > budget {
		t.Fatalf("read %d bytes, more than the %d budget", read, budget)
	}
	// With room for them, the same bundles are read and judged: they are
	// not bundles, so nothing verifies, for that reason.
	counter.read.Store(0)
	out = verify.New(client).Verify(t.Context(), d, p)
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
	if read := counter.read.Load(); read < 8*64<<10 {
		t.Fatalf("read %d bytes with the default budget, want every bundle (%d)", read, 8*64<<10)
	}
}

// One signature over the count limits is Denied with SignatureLimitExceeded
// having read only the listing: no payload or bundle is fetched.
func TestVerifyTooManySignaturesAreNotFetched(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		attach func(t *testing.T, reg *testenv.Registry, d name.Digest)
		want   []string
	}{
		{"33 legacy signatures", func(t *testing.T, reg *testenv.Registry, d name.Digest) {
			attachLegacySignatures(t, reg, d, 33, 64)
		}, []string{ping, legacyTag, referrersAPI}},
		{"33 bundle referrers", func(t *testing.T, _ *testenv.Registry, d name.Digest) {
			attachBundles(t, d, 33, 64)
		}, []string{ping, legacyTag, referrersAPI}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, testenv.WithReferrersAPI())
			d := e.reg.PushImage(t, "app", "v1")
			tc.attach(t, e.reg, d)
			out, reqs := e.verify(t, d, newPolicy([]policy.Authority{keyAuthority(t, "a", testenv.NewCosignKey(t))}))
			wantOutcome(t, out, verify.ResultDenied, verify.ReasonSignatureLimit)
			if !strings.Contains(out.Message, "more than the 32 imagegate reads") {
				t.Errorf("message does not name the limit: %s", out.Message)
			}
			wantRequests(t, reqs, tc.want...)
		})
	}
}
