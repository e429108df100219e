package main

import (
	"context"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imagegate/imagegate/internal/audit"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/verify"
)

// policiesFor returns the policies an entry's digest is verified again
// under, and a key telling apart entries that the same digest must be
// verified for again (the namespace whose policies judge it).
type policiesFor func(e audit.Entry) (set *policy.Set, key string)

// filePolicies: the --policy files judge every entry, as imagegate verify.
func filePolicies(set *policy.Set) policiesFor {
	return func(audit.Entry) (*policy.Set, string) { return set, "" }
}

// reverify verifies every digest the report's entries name again, as
// `imagegate verify` does (the policies that judge an image, the
// strictest decision), once per distinct repository, digest and set of
// policies however many entries name it; the cache.Checker coalesces and
// caches besides. Tag-only entries are left alone: a tag names another
// digest today than when it was written.
func reverify(ctx context.Context, rep *audit.Report, policies policiesFor, allowInsecure bool) {
	reg := registry.New(registry.Options{Keychain: authn.DefaultKeychain, AllowInsecure: allowInsecure})
	checker := cache.NewChecker(reg, verify.New(reg), cache.CheckerOptions{})
	done := map[string]audit.Reverification{}
	for i, e := range rep.Entries {
		img, err := policy.ParseImage(e.Image)
		if err != nil || img.Digest == "" {
			continue
		}
		set, scope := policies(e)
		image := img.Repository + "@" + img.Digest
		key := image + " " + scope
		rv, ok := done[key]
		if !ok {
			rv = reverification(checkImage(ctx, checker, set, image))
			done[key] = rv
			rep.Reverified++
		}
		rep.AddReverification(i, rv)
	}
}

func reverification(d cache.Decision) audit.Reverification {
	rv := audit.Reverification{Result: string(d.Outcome.Result), Reason: string(d.Outcome.Reason)}
	if d.Policy != nil {
		rv.Policy = d.Policy.Ref.String()
	}
	if d.Outcome.Result != verify.ResultVerified {
		rv.Message = d.Outcome.Message
	}
	return rv
}

// trailerNamespace returns the namespace of the first TrustPolicy an
// entry's Verified-Policy trailers name ("NAMESPACE/NAME (sha256:...)"),
// or "" when they name only ClusterTrustPolicies or none.
func trailerNamespace(e audit.Entry) string {
	for _, v := range e.Policies {
		name, _, _ := strings.Cut(strings.TrimSpace(v), " ")
		if ns, _, ok := strings.Cut(name, "/"); ok && ns != "" {
			return ns
		}
	}
	return ""
}
