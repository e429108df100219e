package main

import (
	"context"

	"github.com/google/go-containerregistry/pkg/authn"

	"github.com/imagegate/imagegate/internal/audit"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/verify"
)

// reverify verifies every digest the report's entries name again under
// set, as `imagegate verify` does (the policies that judge an image, the
// strictest decision), once per distinct repository and digest however
// many entries name it; the cache.Checker coalesces and caches besides.
// Tag-only entries are left alone: a tag names another digest today than
// when it was written.
func reverify(ctx context.Context, rep *audit.Report, set *policy.Set, allowInsecure bool) {
	reg := registry.New(registry.Options{Keychain: authn.DefaultKeychain, AllowInsecure: allowInsecure})
	checker := cache.NewChecker(reg, verify.New(reg), cache.CheckerOptions{})
	byDigest := map[string]audit.Reverification{}
	for i, e := range rep.Entries {
		img, err := policy.ParseImage(e.Image)
		if err != nil || img.Digest == "" {
			continue
		}
		key := img.Repository + "@" + img.Digest
		rv, ok := byDigest[key]
		if !ok {
			rv = reverification(checkImage(ctx, checker, set, key))
			byDigest[key] = rv
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
