package cache_test

import (
	"net/http"
	"testing"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// TestUnreachableRegistryIsNeverCachedAsADenial: a registry that refuses
// connections is Unavailable every time it is asked, by tag or by digest,
// and nothing is kept; a permanent denial from a registry that answers
// (no credentials) is kept for the denied TTL, in the denied class.
func TestUnreachableRegistryIsNeverCachedAsADenial(t *testing.T) {
	t.Parallel()
	closed := testenv.ClosedAddr(t)
	key := testenv.NewCosignKey(t)
	p := keyPolicy(t, closed, key)
	c := newChecker()
	for i := range 3 {
		for _, image := range []string{closed + "/app:v1", closed + "/app@sha256:" + zeros} {
			d := c.Check(t.Context(), image, p)
			if d.Outcome.Result != verify.ResultUnavailable || d.Outcome.Reason != verify.ReasonUnavailable || d.Source != cache.SourceCall {
				t.Fatalf("check %d of %s: %s %s from %s, want Unavailable from a call", i, image, d.Outcome.Result, d.Outcome.Reason, d.Source)
			}
		}
	}
	if n := c.Cache().Len(cache.ClassDenied) + c.Cache().Len(cache.ClassVerified); n != 0 {
		t.Fatalf("%d outcomes cached for an unreachable registry, want 0", n)
	}
	if n := c.Cache().Calls(); n != 3 {
		t.Fatalf("%d verifications of the digest ran, want 3 (one per check: none cached)", n)
	}

	reg := testenv.NewRegistry(t, testenv.WithMiddleware(deny401))
	p = keyPolicy(t, reg.Host(), key)
	for i, want := range []cache.Source{cache.SourceCall, cache.SourceCache} {
		d := c.Check(t.Context(), reg.Repo("app")+"@sha256:"+zeros, p)
		if d.Outcome.Reason != verify.ReasonCredentialsMissing || d.Source != want {
			t.Fatalf("check %d: %s %s from %s, want CredentialsMissing from %s", i, d.Outcome.Result, d.Outcome.Reason, d.Source, want)
		}
	}
	if n := c.Cache().Len(cache.ClassDenied); n != 1 {
		t.Fatalf("%d denials cached, want 1", n)
	}
}

const zeros = "0000000000000000000000000000000000000000000000000000000000000000"

// deny401 refuses every request, as a private registry does to a client
// without credentials.
func deny401(http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
	})
}
