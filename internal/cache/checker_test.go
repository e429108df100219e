package cache_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/prometheus/client_golang/prometheus/testutil"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

func keyPolicy(t *testing.T, host string, key *testenv.CosignKey) *policy.Policy {
	t.Helper()
	spec := testenv.KeyPolicySpec(host+"/**", key.PublicPEM)
	p, err := policy.Compile(context.Background(), policy.Ref{Kind: "ClusterTrustPolicy", Name: "p"}, &spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// signedImage pushes app:v1, signs it with a new key and returns a policy
// trusting that key, and the image's digest.
func signedImage(t *testing.T, reg *testenv.Registry) (*policy.Policy, name.Digest) {
	t.Helper()
	key := testenv.NewCosignKey(t)
	d := reg.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, d, key)
	return keyPolicy(t, reg.Host(), key), d
}

func newChecker() *cache.Checker {
	reg := registry.New(registry.Options{AllowInsecure: true})
	return cache.NewChecker(reg, verify.New(reg), cache.CheckerOptions{})
}

// signatureRequests counts the requests of a verification, leaving out the
// tag resolution that every caller of a tag makes.
func signatureRequests(reqs []string) int {
	n := 0
	for _, r := range reqs {
		if !strings.HasPrefix(r, "HEAD ") && r != "GET /v2/" {
			n++
		}
	}
	return n
}

func TestFiftyConcurrentChecksOfANewDigestVerifyOnce(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	p, d := signedImage(t, reg)

	// One verification alone, on its own checker, for the reference count.
	reg.ResetRequests()
	if got := newChecker().Check(context.Background(), d.String(), p); got.Outcome.Result != verify.ResultVerified {
		t.Fatalf("single check: %+v", got.Outcome)
	}
	one := signatureRequests(reg.Requests())
	if one == 0 {
		t.Fatalf("a verification sent no signature requests: %v", reg.Requests())
	}

	reg.ResetRequests()
	c := newChecker()
	var wg sync.WaitGroup
	var verified atomic.Int32
	for range 50 {
		wg.Go(func() {
			if c.Check(context.Background(), d.String(), p).Outcome.Result == verify.ResultVerified {
				verified.Add(1)
			}
		})
	}
	wg.Wait()
	if verified.Load() != 50 {
		t.Fatalf("%d of 50 verified", verified.Load())
	}
	if got := signatureRequests(reg.Requests()); got != one || c.Cache().Calls() != 1 {
		t.Fatalf("50 concurrent checks: %d signature requests and %d verifications, want %d and 1: %v", got, c.Cache().Calls(), one, reg.Requests())
	}
}

func TestUnavailableIsNotCachedAsADenial(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	reg := testenv.NewRegistry(t, testenv.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if down.Load() && strings.Contains(r.URL.Path, "/manifests/sha256-") {
				http.Error(w, "unavailable", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	p, d := signedImage(t, reg)
	c := newChecker()

	down.Store(true)
	if got := c.Check(context.Background(), d.String(), p); got.Outcome.Result != verify.ResultUnavailable {
		t.Fatalf("registry down: %+v", got.Outcome)
	}
	down.Store(false)
	got := c.Check(context.Background(), d.String(), p)
	if got.Outcome.Result != verify.ResultVerified || got.Source != cache.SourceCall {
		t.Fatalf("registry back: %+v from %s, want a new verification", got.Outcome, got.Source)
	}
	if again := c.Check(context.Background(), d.String(), p); again.Source != cache.SourceCache {
		t.Fatalf("verified result not cached: source %s", again.Source)
	}
}

func TestTagIsResolvedAndKeyedByDigest(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	p, d := signedImage(t, reg)
	reg.Tag(t, d, "also")
	c := newChecker()
	byTag := c.Check(context.Background(), reg.Repo("app")+":v1", p)
	other := c.Check(context.Background(), reg.Repo("app")+":also", p)
	if byTag.Digest != d.DigestStr() || other.Source != cache.SourceCache || c.Cache().Calls() != 1 {
		t.Fatalf("two tags of one digest: %s/%s, %s, %d verifications", byTag.Digest, other.Digest, other.Source, c.Cache().Calls())
	}
	if nf := c.Check(context.Background(), reg.Repo("app")+":missing", p); nf.Outcome.Reason != verify.ReasonTagNotFound {
		t.Fatalf("missing tag: %+v", nf.Outcome)
	}
}

// TestTagScopedExceptionNeedsTheTagToNameTheDigest: in repo:tag@digest the
// runtime pulls the digest, so an exception scoped to the tag applies only
// when the tag, resolved now (one HEAD), names that digest; an exception
// scoped to the repository needs no resolve.
func TestTagScopedExceptionNeedsTheTagToNameTheDigest(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	legacy := reg.PushImage(t, "app", "legacy-1")
	unsigned := reg.PushImage(t, "app", "other") // legacy-1 does not name it
	spec := testenv.KeyPolicySpec(reg.Host()+"/**", testenv.NewCosignKey(t).PublicPEM)
	spec.Exceptions = []igv1.Exception{{Glob: reg.Repo("app") + ":legacy-*", Reason: "vendor image"}}
	p, err := policy.Compile(context.Background(), policy.Ref{Kind: "ClusterTrustPolicy", Name: "p"}, &spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newChecker()
	heads := func() int {
		n := 0
		for _, r := range reg.Requests() {
			if strings.HasPrefix(r, "HEAD ") && strings.Contains(r, "/manifests/legacy-1") {
				n++
			}
		}
		return n
	}

	borrowed := c.Check(context.Background(), reg.Repo("app")+":legacy-1@"+unsigned.DigestStr(), p)
	if borrowed.Outcome.Result != verify.ResultDenied || borrowed.Exception != nil {
		t.Fatalf("tag naming another digest: %s %s, exception %v; want denied without the exception", borrowed.Outcome.Result, borrowed.Outcome.Reason, borrowed.Exception)
	}
	if heads() != 1 {
		t.Fatalf("%d resolves of the tag, want 1", heads())
	}
	pinned := c.Check(context.Background(), reg.Repo("app")+":legacy-1@"+legacy.DigestStr(), p)
	if pinned.Outcome.Result != verify.ResultException || pinned.Parsed.PinnedWithTag() {
		t.Fatalf("tag naming its digest: %s %s; want the exception", pinned.Outcome.Result, pinned.Outcome.Reason)
	}
	if heads() != 2 {
		t.Fatalf("%d resolves of the tag, want 2", heads())
	}
}

// stallSignatures, once armed (signing in setup goes through it),
// holds every signature lookup of repository repo until release is
// closed, and says on entered when the first one arrived.
func stallSignatures(repo string, armed *atomic.Bool, entered chan<- struct{}, release <-chan struct{}) testenv.RegistryOption {
	var once sync.Once
	return testenv.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if armed.Load() && strings.HasPrefix(r.URL.Path, "/v2/"+repo+"/") && strings.HasSuffix(r.URL.Path, ".sig") {
				once.Do(func() { close(entered) })
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	})
}

// With one verification slot held by a verification the registry stalls,
// a check of another digest waits for the slot until its context ends and
// is Unavailable, having sent no request; nothing is cached, so once the
// stall clears the same check verifies afresh.
func TestFullVerificationSlotsEndInUnavailableWithoutRequests(t *testing.T) {
	t.Parallel()
	entered, release := make(chan struct{}), make(chan struct{})
	var armed atomic.Bool
	reg := testenv.NewRegistry(t, stallSignatures("stalled", &armed, entered, release))
	key := testenv.NewCosignKey(t)
	stalled, other := reg.PushImage(t, "stalled", "v1"), reg.PushImage(t, "other", "v1")
	testenv.SignLegacy(t, stalled, key)
	testenv.SignLegacy(t, other, key)
	p := keyPolicy(t, reg.Host(), key)
	armed.Store(true)
	reg.ResetRequests() // signing in setup is recorded
	client := registry.New(registry.Options{AllowInsecure: true})
	c := cache.NewChecker(client, verify.New(client), cache.CheckerOptions{MaxConcurrent: 1})
	collectors := c.Collectors(client.Requests)
	inFlight, timeouts := collectors[4], collectors[5] // after requests, hits, verifications and cache entries

	first := make(chan cache.Decision, 1)
	go func() { first <- c.Check(context.Background(), stalled.String(), p) }()
	<-entered
	if got := testutil.ToFloat64(inFlight); got != 1 {
		t.Fatalf("in-flight gauge = %v while one verification stalls, want 1", got)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond) // only how long the test waits, no assertion depends on it
	defer cancel()
	got := c.Check(ctx, other.String(), p)
	if got.Outcome.Result != verify.ResultUnavailable || got.Outcome.Reason != verify.ReasonUnavailable {
		t.Fatalf("check behind a full slot: %+v, want Unavailable", got.Outcome)
	}
	if reqs := requestsOf(reg, "other"); len(reqs) != 0 {
		t.Fatalf("the queued check sent %d registry requests, want 0: %v", len(reqs), reqs)
	}
	waitFor(t, func() bool { return testutil.ToFloat64(timeouts) == 1 })

	close(release)
	if d := <-first; d.Outcome.Result != verify.ResultVerified {
		t.Fatalf("stalled check after the release: %+v", d.Outcome)
	}
	again := c.Check(context.Background(), other.String(), p)
	if again.Outcome.Result != verify.ResultVerified || again.Source != cache.SourceCall {
		t.Fatalf("check after the stall cleared: %+v from %s, want a new verification", again.Outcome, again.Source)
	}
	if n, calls := testutil.ToFloat64(inFlight), c.Cache().Calls(); n != 0 || calls != 3 {
		t.Fatalf("after both: in-flight %v, verifications %d; want 0 and 3 (stalled, timed out, verified)", n, calls)
	}
}

// requestsOf lists the requests sent for repository repo (the stalled
// verification's other lookups keep arriving meanwhile).
func requestsOf(reg *testenv.Registry, repo string) []string {
	var out []string
	for _, r := range reg.Requests() {
		if strings.Contains(r, "/v2/"+repo+"/") {
			out = append(out, r)
		}
	}
	return out
}

// waitFor polls cond; the give-up deadline bounds only a broken test.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition never held")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
