package admission

import (
	"context"
	"strings"
	"testing"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/verify"
)

// stepCase is one row of a step's table: the step must decide (path set)
// or pass to the next step (path empty).
type stepCase struct {
	name  string
	r     *request
	image string
	setup func(*deps, *recordMap)
	path  Path
	allow bool
	want  string // substring of the message
}

func runStepCases(t *testing.T, s step, set *policy.Set, cases []stepCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, recs, _, _ := testDeps(set)
			if tc.setup != nil {
				tc.setup(d, recs)
			}
			if tc.r.set == nil {
				tc.r.set = set
			}
			v, ok := s(context.Background(), d, tc.r, check(tc.image))
			if tc.path == "" {
				if ok {
					t.Fatalf("decided %+v, want next", v)
				}
				return
			}
			if !ok || v.Path != tc.path || v.Allowed != tc.allow || !strings.Contains(v.Message, tc.want) {
				t.Fatalf("got %+v (decided %v), want path %s allowed %v message containing %q", v, ok, tc.path, tc.allow, tc.want)
			}
		})
	}
}

func TestStepExempt(t *testing.T) {
	t.Parallel()
	set := policy.NewSet(nil)
	exemptNS := func(d *deps, _ *recordMap) { d.exemptNamespaces["apps"] = true }
	exemptImg := func(d *deps, _ *recordMap) {
		d.exemptImages = []policy.Glob{policy.MustParseGlob("registry.example/mirror/**")}
	}
	runStepCases(t, stepExempt, set, []stepCase{
		{name: "exempt namespace", r: req(kindPod, opCreate), image: "anything:1", setup: exemptNS, path: PathExempt, allow: true, want: `namespace "apps"`},
		{name: "exempt image glob", r: req(kindPod, opCreate), image: "registry.example/mirror/pause:3.9", setup: exemptImg, path: PathExempt, allow: true, want: "registry.example/mirror/**"},
		{name: "image outside the glob", r: req(kindPod, opCreate), image: "registry.example/team/web:1", setup: exemptImg},
		{name: "unparsable image with globs", r: req(kindPod, opCreate), image: "Bad Image", setup: exemptImg},
		{name: "nothing exempt", r: req(kindPod, opCreate), image: "registry.example/mirror/pause:3.9"},
	})
}

func TestStepUnchanged(t *testing.T) {
	t.Parallel()
	team := compiledPolicy(t, "", "team", nil, teamPolicyGlob)
	set := policy.NewSet([]*policy.Policy{team})
	web := "registry.example/team/web:v1.4.2@" + webDigest
	recorded := func(_ *deps, recs *recordMap) { recs.add(webDigest, team.Hash) }
	runStepCases(t, stepUnchanged, set, []stepCase{
		{name: "same reference", r: req(kindDeployment, opUpdate, withOld(web)), image: web, path: PathUnchanged, allow: true, want: "unchanged"},
		{name: "same image, other spelling", r: req(kindDeployment, opUpdate, withOld("index.docker.io/library/nginx:latest")), image: "nginx", path: PathUnchanged, allow: true},
		{name: "same digest, other tag", r: req(kindDeployment, opUpdate, withOld("registry.example/team/web:old@"+webDigest)), image: web, path: PathUnchanged, allow: true},
		{name: "digest changed", r: req(kindDeployment, opUpdate, withOld("registry.example/team/web:v1.4.2@"+otherDigest)), image: web},
		{name: "tag changed", r: req(kindDeployment, opUpdate, withOld("registry.example/team/web:v1.4.1")), image: "registry.example/team/web:v1.4.2"},
		{name: "digest dropped", r: req(kindDeployment, opUpdate, withOld(web)), image: "registry.example/team/web:v1.4.2"},
		{name: "tag gained a recorded digest", r: req(kindDeployment, opUpdate, withOld("registry.example/team/web:v1.4.2")), image: web, setup: recorded, path: PathUnchanged, allow: true, want: "recorded as verified"},
		{name: "tag gained an unrecorded digest", r: req(kindDeployment, opUpdate, withOld("registry.example/team/web:v1.4.2")), image: web},
		{name: "tag gained a digest no policy covers", r: req(kindDeployment, opUpdate, withOld("elsewhere.example/web:v1")), image: "elsewhere.example/web:v1@" + webDigest},
		{name: "create", r: req(kindDeployment, opCreate), image: web},
		{name: "update without old object", r: req(kindDeployment, opUpdate), image: web},
	})
}

func TestStepChild(t *testing.T) {
	t.Parallel()
	set := policy.NewSet(nil)
	web := "registry.example/team/web:v1@" + webDigest
	owners := func(d *deps, _ *recordMap) {
		d.owners = ownerMap{
			"ReplicaSet/apps/web-5d": ownerOf("rs-uid", "registry.example/team/init:v1", web),
			"Deployment/apps/web":    ownerOf("dep-uid", web),
			"ReplicaSet/apps/nginx":  ownerOf("nginx-uid", "nginx"),
		}
	}
	rs := withController("apps/v1", "ReplicaSet", "web-5d", "rs-uid")
	runStepCases(t, stepChild, set, []stepCase{
		{name: "pod of a replicaset", r: req(kindPod, opCreate, rs), image: web, setup: owners, path: PathChild, allow: true, want: "ReplicaSet apps/web-5d"},
		{name: "replicaset of a deployment", r: req(kindReplicaSet, opCreate, withController("apps/v1", "Deployment", "web", "dep-uid")), image: web, setup: owners, path: PathChild, allow: true},
		{name: "same image, other spelling", r: req(kindPod, opCreate, withController("apps/v1", "ReplicaSet", "nginx", "nginx-uid")), image: "docker.io/library/nginx:latest", setup: owners, path: PathChild, allow: true},
		{name: "image not in the template", r: req(kindPod, opCreate, rs), image: "registry.example/team/other:v1", setup: owners},
		{name: "owner UID differs", r: req(kindPod, opCreate, withController("apps/v1", "ReplicaSet", "web-5d", "forged")), image: web, setup: owners},
		{name: "owner not cached", r: req(kindPod, opCreate, withController("apps/v1", "ReplicaSet", "gone", "x")), image: web, setup: owners},
		{name: "deployment cannot own a pod", r: req(kindPod, opCreate, withController("apps/v1", "Deployment", "web", "dep-uid")), image: web, setup: owners},
		{name: "owner reference not controller", r: req(kindPod, opCreate, func(r *request) {
			r.Object.Owners = []ownerRef{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-5d", UID: "rs-uid"}}
		}), image: web, setup: owners},
		{name: "update", r: req(kindPod, opUpdate, rs), image: web, setup: owners},
		{name: "no owner reader", r: req(kindPod, opCreate, rs), image: web},
	})
}

func TestStepRecorded(t *testing.T) {
	t.Parallel()
	team := compiledPolicy(t, "", "team", nil, teamPolicyGlob)
	other := compiledPolicy(t, "", "other", nil, "registry.example/other/**")
	set := policy.NewSet([]*policy.Policy{team, other})
	web := "registry.example/team/web:v1@" + webDigest
	recorded := func(_ *deps, recs *recordMap) { recs.add(webDigest, team.Hash) }
	runStepCases(t, stepRecorded, set, []stepCase{
		{name: "recorded digest", r: req(kindPod, opCreate), image: web, setup: recorded, path: PathRecorded, allow: true, want: "ClusterTrustPolicy team"},
		{name: "digest only", r: req(kindPod, opCreate), image: "registry.example/team/web@" + webDigest, setup: recorded, path: PathRecorded, allow: true},
		{name: "not recorded", r: req(kindPod, opCreate), image: web},
		{name: "recorded under another policy", r: req(kindPod, opCreate), image: "registry.example/other/web@" + webDigest, setup: recorded},
		{name: "tag only", r: req(kindPod, opCreate), image: "registry.example/team/web:v1", setup: recorded},
		{name: "no policy", r: req(kindPod, opCreate), image: "elsewhere.example/web@" + webDigest, setup: recorded},
		{name: "cache error", r: req(kindPod, opCreate), image: web, setup: func(_ *deps, recs *recordMap) { recs.add(webDigest, team.Hash); recs.err = errLookup }},
	})
}

func TestStepVerify(t *testing.T) {
	t.Parallel()
	team := compiledPolicy(t, "", "team", nil, teamPolicyGlob)
	strict := compiledPolicy(t, "strict", "strict", func(s *igv1.TrustPolicySpec) { s.RequireDigest = true }, "registry.example/team/web")
	warn := compiledPolicy(t, "warned", "warn", func(s *igv1.TrustPolicySpec) { s.Mode = "warn"; s.RequireDigest = true }, "registry.example/team/web")
	set := policy.NewSet([]*policy.Policy{team, strict, warn})
	tenantsOnly := policy.NewSet([]*policy.Policy{strict, warn})
	web := "registry.example/team/web:v1@" + webDigest
	inNS := func(ns string) func(*request) { return func(r *request) { r.Namespace = ns } }
	dry := func(r *request) { r.DryRun = true }
	cases := []struct {
		name    string
		r       *request
		image   string
		result  verify.Result
		reason  verify.Reason
		source  cache.Source
		path    Path
		allow   bool
		warn    bool
		checks  int64
		records int64
		want    string
	}{
		{"verified and recorded", req(kindPod, opCreate), web, verify.ResultVerified, verify.ReasonVerified, cache.SourceCall, PathVerified, true, false, 1, 1, ""},
		{"coalesced: recorded by the caller that ran it", req(kindPod, opCreate), web, verify.ResultVerified, verify.ReasonVerified, cache.SourceCoalesced, PathVerified, true, false, 1, 0, ""},
		{"dry run records nothing", req(kindPod, opCreate, dry), web, verify.ResultVerified, verify.ReasonVerified, cache.SourceCall, PathVerified, true, false, 1, 0, ""},
		{"denied", req(kindPod, opCreate), web, verify.ResultDenied, verify.ReasonNoSignature, cache.SourceCall, PathDenied, false, false, 1, 1, "scripted NoSignature"},
		{"unavailable is not recorded", req(kindPod, opCreate), web, verify.ResultUnavailable, verify.ReasonUnavailable, cache.SourceCall, PathDenied, false, false, 1, 0, "scripted Unavailable"},
		{"exception: evaluated at each admission, not recorded", req(kindPod, opCreate), web, verify.ResultException, verify.ReasonException, cache.SourceCall, PathException, true, false, 1, 0, ""},
		{"no policy", req(kindPod, opCreate), "elsewhere.example/web:v1", verify.ResultVerified, "", "", PathDenied, false, false, 0, 0, "no trust policy covers"},
		{"invalid reference", req(kindPod, opCreate), "Not An Image", verify.ResultVerified, "", "", PathDenied, false, false, 0, 0, "cannot be parsed"},
		// The cluster policy team is a floor: a tenant's policy judges in
		// addition, with its own mode and requireDigest.
		{"requireDigest of the tenant denies a tag the floor admits", req(kindPod, opCreate, inNS("strict")), "registry.example/team/web:v1", verify.ResultVerified, verify.ReasonVerified, cache.SourceCall, PathDenied, false, false, 1, 1, "requires a digest"},
		{"floor and tenant each verify a digest", req(kindPod, opCreate, inNS("strict")), web, verify.ResultVerified, verify.ReasonVerified, cache.SourceCall, PathVerified, true, false, 2, 2, ""},
		{"a tenant's warn mode does not weaken the floor", req(kindPod, opCreate, inNS("warned")), web, verify.ResultDenied, verify.ReasonNoSignature, cache.SourceCall, PathDenied, false, false, 2, 2, "scripted NoSignature"},
		// Without a cluster policy, the tenant's rules alone apply.
		{"requireDigest denies a tag", req(kindPod, opCreate, inNS("strict"), with(tenantsOnly)), "registry.example/team/web:v1", verify.ResultVerified, "", "", PathDenied, false, false, 0, 0, "requires a digest"},
		{"requireDigest admits a digest", req(kindPod, opCreate, inNS("strict"), with(tenantsOnly)), web, verify.ResultVerified, verify.ReasonVerified, cache.SourceCall, PathVerified, true, false, 1, 1, ""},
		{"warn mode admits a tag with a warning", req(kindPod, opCreate, inNS("warned"), with(tenantsOnly)), "registry.example/team/web:v1", verify.ResultVerified, "", "", PathDenied, true, true, 0, 0, "requires a digest"},
		{"warn mode admits a denial with a warning", req(kindPod, opCreate, inNS("warned"), with(tenantsOnly)), web, verify.ResultDenied, verify.ReasonNoSignature, cache.SourceCall, PathDenied, true, true, 1, 1, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			d, _, chk, rec := testDeps(set)
			chk.result, chk.reason, chk.source = tc.result, tc.reason, tc.source
			if tc.r.set == nil {
				tc.r.set = set
			}
			v, ok := stepVerify(context.Background(), d, tc.r, check(tc.image))
			if !ok {
				t.Fatal("the last step passed")
			}
			if v.Path != tc.path || v.Allowed != tc.allow || v.Warn != tc.warn || !strings.Contains(v.Message, tc.want) {
				t.Fatalf("got %+v, want path %s allowed %v warn %v message containing %q", v, tc.path, tc.allow, tc.warn, tc.want)
			}
			if chk.calls.Load() != tc.checks || rec.calls.Load() != tc.records {
				t.Fatalf("checks %d records %d, want %d and %d", chk.calls.Load(), rec.calls.Load(), tc.checks, tc.records)
			}
		})
	}
}
