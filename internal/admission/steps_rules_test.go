package admission

import (
	"context"
	"testing"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/verify"
)

// TestDigestOutranksTagInTheChain: in repo:tag@digest the runtime pulls
// the digest, so a tag-scoped policy or exempt glob applies only when a
// record or a resolve shows that the tag names that digest; otherwise the
// reference is judged as repo@digest.
func TestDigestOutranksTagInTheChain(t *testing.T) {
	t.Parallel()
	strict := compiledPolicy(t, "", "strict", nil, "registry.example/**")
	lenient := compiledPolicy(t, "", "lenient", func(s *igv1.TrustPolicySpec) { s.Mode = "warn" }, "registry.example/app:v1.*")
	set := policy.NewSet([]*policy.Policy{strict, lenient})
	pinned := "registry.example/app:v1.2@" + webDigest
	cases := []struct {
		name      string
		tagNames  bool   // the registry says v1.2 names webDigest
		record    string // image of a record of webDigest under lenient, if any
		exempt    string // an exempt glob, if any
		path      Path
		allow     bool
		policy    string
		resolves  int64
		verifying int64
	}{
		{name: "unproven tag: judged by the repository policy", path: PathDenied, policy: "strict", resolves: 1, verifying: 1},
		{name: "tag resolved to the digest: the tag policy applies", tagNames: true, path: PathDenied, allow: true, policy: "lenient", resolves: 1, verifying: 1},
		{name: "a record names the tag: no resolve", record: "registry.example/app:v1.2@" + webDigest, path: PathRecorded, allow: true, policy: "lenient"},
		{name: "a record of the digest without the tag proves nothing", record: "registry.example/app@" + webDigest, path: PathDenied, policy: "strict", resolves: 1, verifying: 1},
		{name: "a record of another tag proves nothing", record: "registry.example/app:v1.3@" + webDigest, path: PathDenied, policy: "strict", resolves: 1, verifying: 1},
		{name: "tag-scoped exempt glob needs the tag to name the digest", exempt: "registry.example/app:v1.*", path: PathDenied, policy: "strict", resolves: 2, verifying: 1},
		{name: "tag-scoped exempt glob with the tag naming the digest", exempt: "registry.example/app:v1.*", tagNames: true, path: PathExempt, allow: true, resolves: 1},
		{name: "digest-scoped exempt glob needs no resolve", exempt: "registry.example/app@" + webDigest, path: PathExempt, allow: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, recs, chk, _ := testDeps(set)
			chk.result, chk.reason = verify.ResultDenied, verify.ReasonNoSignature
			if tc.tagNames {
				chk.tagDigests = map[string]string{"registry.example/app:v1.2": webDigest}
			}
			if tc.record != "" {
				recs.add(webDigest, lenient.Hash)
				recs.records[webDigest+"/"+lenient.Hash].Spec.Image = tc.record
			}
			if tc.exempt != "" {
				d.exemptImages = []policy.Glob{policy.MustParseGlob(tc.exempt)}
			}
			r := req(kindPod, opCreate, with(set))
			v := d.run(context.Background(), r, check(pinned))
			if v.Path != tc.path || v.Allowed != tc.allow {
				t.Fatalf("got %s allowed %v (%s), want %s allowed %v", v.Path, v.Allowed, v.Message, tc.path, tc.allow)
			}
			if tc.policy != "" && (v.Policy == nil || v.Policy.Ref.Name != tc.policy) {
				t.Fatalf("judged under %v, want %s", v.Policy, tc.policy)
			}
			if chk.resolves.Load() != tc.resolves || chk.calls.Load() != tc.verifying {
				t.Fatalf("tag resolves %d, checks %d; want %d and %d", chk.resolves.Load(), chk.calls.Load(), tc.resolves, tc.verifying)
			}
		})
	}
}

// TestClusterPolicyIsAFloor: a tenant who may write TrustPolicies in its
// namespace cannot admit what the cluster policy denies; each policy is
// judged with its own mode and exceptions, and a record under one policy
// does not stand in for the other's.
func TestClusterPolicyIsAFloor(t *testing.T) {
	t.Parallel()
	floor := compiledPolicy(t, "", "floor", nil, "registry.example/**")
	// lax is a tenant's policy in warn mode; the checker below plays each
	// policy's exceptions (cache.Checker applies them per policy).
	lax := compiledPolicy(t, "apps", "lax", func(s *igv1.TrustPolicySpec) { s.Mode = "warn" }, "registry.example/team/web")
	image := "registry.example/team/web@" + webDigest
	cases := []struct {
		name       string
		set        *policy.Set
		results    map[string]verify.Result // by policy name; others verified
		recordedBy []*policy.Policy
		path       Path
		allow      bool
		warn       bool
		checks     int64
	}{
		{name: "the tenant's warn mode and exception cannot admit what the floor denies",
			set: policy.NewSet([]*policy.Policy{floor, lax}), results: map[string]verify.Result{"floor": verify.ResultDenied, "lax": verify.ResultException},
			path: PathDenied, checks: 2},
		{name: "both admit", set: policy.NewSet([]*policy.Policy{floor, lax}), results: map[string]verify.Result{"lax": verify.ResultException},
			path: PathException, allow: true, checks: 2},
		{name: "the floor's own exception admits under the floor; the tenant still judges",
			set: policy.NewSet([]*policy.Policy{floor, lax}), results: map[string]verify.Result{"floor": verify.ResultException, "lax": verify.ResultDenied},
			path: PathDenied, allow: true, warn: true, checks: 2},
		{name: "a record under the tenant's policy does not stand in for the floor's",
			set: policy.NewSet([]*policy.Policy{floor, lax}), results: map[string]verify.Result{"floor": verify.ResultDenied}, recordedBy: []*policy.Policy{lax},
			path: PathDenied, checks: 1},
		{name: "records under both: no verification", set: policy.NewSet([]*policy.Policy{floor, lax}), recordedBy: []*policy.Policy{floor, lax},
			path: PathRecorded, allow: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, recs, _, _ := testDeps(tc.set)
			chk := &perPolicyChecker{results: tc.results}
			d.checker = chk
			for _, p := range tc.recordedBy {
				recs.add(webDigest, p.Hash)
			}
			v := d.run(context.Background(), req(kindPod, opCreate, with(tc.set)), check(image))
			if v.Path != tc.path || v.Allowed != tc.allow || v.Warn != tc.warn {
				t.Fatalf("got %s allowed %v warn %v (%s), want %s allowed %v warn %v", v.Path, v.Allowed, v.Warn, v.Message, tc.path, tc.allow, tc.warn)
			}
			if chk.calls != tc.checks {
				t.Fatalf("%d checks, want %d", chk.calls, tc.checks)
			}
		})
	}
}

// perPolicyChecker answers each policy with its own result.
type perPolicyChecker struct {
	results map[string]verify.Result
	calls   int64
}

func (c *perPolicyChecker) TagNamesDigest(context.Context, policy.Image) bool { return false }

func (c *perPolicyChecker) CheckImage(_ context.Context, image string, img policy.Image, p *policy.Policy) cache.Decision {
	c.calls++
	res, ok := c.results[p.Ref.Name]
	if !ok {
		res = verify.ResultVerified
	}
	return cache.Decision{Image: image, Parsed: img, Digest: webDigest, Policy: p, Source: cache.SourceCall,
		Outcome: verify.Outcome{Digest: webDigest, Result: res, Reason: verify.Reason(res), Message: string(res) + " under " + p.Ref.Name}}
}

// TestSpellingsCannotEscapeTheirPolicy: a registry spelled with capitals,
// an explicit :443 or another Docker Hub alias reaches the same bytes, so
// it is judged by the same policy, exempt glob and old reference as the
// canonical spelling.
func TestSpellingsCannotEscapeTheirPolicy(t *testing.T) {
	t.Parallel()
	strict := compiledPolicy(t, "", "strict", nil, "registry.example/team/**", "docker.io/library/nginx")
	catchAll := compiledPolicy(t, "", "catch-all", func(s *igv1.TrustPolicySpec) { s.Mode = "warn" }, "**")
	set := policy.NewSet([]*policy.Policy{strict, catchAll})
	for _, image := range []string{
		"Registry.Example/team/web@" + webDigest,
		"REGISTRY.EXAMPLE:443/team/web@" + webDigest,
		"registry-1.docker.io/library/nginx@" + webDigest,
		"Index.Docker.IO/nginx@" + webDigest,
		"docker.io:443/nginx@" + webDigest,
	} {
		d, _, chk, _ := testDeps(set)
		chk.result, chk.reason = verify.ResultDenied, verify.ReasonNoSignature
		v := d.run(context.Background(), req(kindPod, opCreate, with(set)), check(image))
		if v.Allowed || v.Policy == nil || v.Policy.Ref.Name != "strict" {
			t.Errorf("%s: got %s allowed %v under %v; want denied under strict", image, v.Path, v.Allowed, v.Policy)
		}
	}
	// Exempt globs and the unchanged comparison fold spellings the same way.
	d, _, chk, _ := testDeps(set)
	d.exemptImages = []policy.Glob{policy.MustParseGlob("index.docker.io/library/busybox")}
	if v := d.run(context.Background(), req(kindPod, opCreate, with(set)), check("Registry-1.Docker.IO:443/busybox:1.37")); v.Path != PathExempt {
		t.Errorf("exempt glob in another spelling: got %s (%s)", v.Path, v.Message)
	}
	if v := d.run(context.Background(), req(kindDeployment, opUpdate, with(set), withOld("nginx:1.27")), check("registry-1.docker.io/library/nginx:1.27")); v.Path != PathUnchanged {
		t.Errorf("old reference in another spelling: got %s (%s)", v.Path, v.Message)
	}
	if chk.calls.Load() != 0 {
		t.Errorf("%d checks for exempt and unchanged images, want 0", chk.calls.Load())
	}
}
