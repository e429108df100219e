package cache_test

import (
	"context"
	"testing"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// TestViaKeepsOneTenantsVerdictFromAnother is the attack on the verdict
// cache: tenant A's credentials verify a private image's digest; tenant B,
// without credentials, names the same digest under the same policy. The
// cache, keyed by digest and policy alone, would admit it for B from A's
// verdict and tell B that the private digest exists and is signed. Keyed
// by scope too, B's check runs with B's access, is refused by the
// registry, and is not Verified; A's verdict is still served to A from
// the cache, and to a second client of A's scope.
func TestViaKeepsOneTenantsVerdictFromAnother(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	auth := testenv.NewBasicAuth("robot", "s3cret-for-A")
	auth.Armed.Store(false)
	reg := testenv.NewRegistry(t, auth.Option())
	p, d := signedImage(t, reg)
	auth.Armed.Store(true)

	base := registry.New(registry.Options{AllowInsecure: true})
	checker := cache.NewChecker(base, verify.New(base), cache.CheckerOptions{})
	kc, err := registry.KeychainFromDockerConfigJSON(auth.DockerConfigJSON(reg.Host()))
	if err != nil {
		t.Fatal(err)
	}
	regA, err := base.With(registry.Access{Keychain: kc})
	if err != nil {
		t.Fatal(err)
	}
	tenantA := checker.Via("scope-a", regA, verify.New(regA))
	tenantB := checker.Via("scope-b", base, verify.New(base))

	if got := tenantA.Check(ctx, d.String(), p); got.Outcome.Result != verify.ResultVerified || got.Source != cache.SourceCall {
		t.Fatalf("tenant A with credentials: %s %s (%s), want Verified from a call", got.Outcome.Result, got.Outcome.Reason, got.Source)
	}
	reg.ResetRequests()
	refusedBefore := auth.Refused()
	got := tenantB.Check(ctx, d.String(), p)
	if got.Outcome.Result == verify.ResultVerified || got.Source != cache.SourceCall {
		t.Fatalf("tenant B without credentials: %s %s (%s): A's verdict served B", got.Outcome.Result, got.Outcome.Reason, got.Source)
	}
	if got.Outcome.Reason != verify.ReasonCredentialsMissing {
		t.Fatalf("tenant B: reason %s, want CredentialsMissing (the registry refused B, who sent none): %s", got.Outcome.Reason, got.Outcome.Message)
	}
	if auth.Refused() == refusedBefore || len(reg.Requests()) == 0 {
		t.Fatalf("tenant B's check never reached the registry (%d refusals): it was answered from A's verdict", auth.Refused()-refusedBefore)
	}
	if again := checker.Check(ctx, d.String(), p); again.Outcome.Result == verify.ResultVerified {
		t.Fatalf("the process's own scope got A's verdict: %+v", again.Outcome)
	}

	reg.ResetRequests()
	if again := tenantA.Check(ctx, d.String(), p); again.Outcome.Result != verify.ResultVerified || again.Source != cache.SourceCache {
		t.Fatalf("tenant A again: %s (%s), want Verified from the cache", again.Outcome.Result, again.Source)
	}
	if n := len(reg.Requests()); n != 0 {
		t.Fatalf("tenant A's cached verdict sent %d requests: %v", n, reg.Requests())
	}
	if calls := checker.Cache().Calls(); calls != 3 {
		t.Fatalf("%d verifications ran, want 3 (A, B, the process), one per scope", calls)
	}
}
