package gate

import (
	"context"
	"strings"
	"testing"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestClusterFloorJudgesWithTheTenantsPolicy: a ClusterTrustPolicy that
// covers a selection is a floor. The tenant's TrustPolicy (the world's
// "signed") judges too; the selection is written only when both verify
// it, with one Verified-Policy trailer and one ImageVerification each.
func TestClusterFloorJudgesWithTheTenantsPolicy(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	ctx := context.Background()
	floorKey := testenv.NewCosignKey(t)
	floor := testenv.ClusterTrustPolicy("floor-"+w.ns, testenv.KeyPolicySpec(w.reg.Host()+"/**", floorKey.PublicPEM))
	w.create(floor)
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), floor) })

	d := w.publishSigned("web", "v1") // signed for the tenant's policy only
	before := len(w.log())
	w.mustReconcile()
	if got := len(w.log()); got != before {
		t.Fatalf("signed for the tenant only: %d new commits, want 0", got-before)
	}
	row := w.row("web")
	if row.Verified || row.Reason != "NoMatchingSignature" || !strings.Contains(row.TrustPolicy, "floor-"+w.ns) {
		t.Fatalf("row: %+v; want blocked by the floor", row)
	}

	testenv.SignLegacy(t, d, floorKey)
	w.rec.Checker = freshChecker(w)
	w.mustReconcile()
	if got := len(w.log()); got != before+1 {
		t.Fatalf("signed for both: %d new commits, want 1", got-before)
	}
	msg := w.git.CommitMessage(t, w.repo, "main")
	fl := strings.Index(msg, "Verified-Policy: floor-"+w.ns+" (sha256:")
	tn := strings.Index(msg, "Verified-Policy: "+w.ns+"/signed (sha256:")
	if fl < 0 || tn < 0 || fl > tn || strings.Count(msg, "Verified-By: cosign key legacy") != 2 {
		t.Fatalf("want the floor's then the tenant's Verified-Policy, each with its Verified-By:\n%s", msg)
	}
	ts, err := w.rec.loadTrust(w.ns)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ts.set.Policies() {
		if p.Ref.Name != "floor-"+w.ns && p.Ref.Namespace != w.ns {
			continue
		}
		var iv igv1.ImageVerification
		if err := cp.Client.Get(ctx, client.ObjectKey{Name: igv1.ImageVerificationName(d.DigestStr(), p.Hash)}, &iv); err != nil {
			t.Errorf("no ImageVerification under %s: %v", p.Ref, err)
		} else if iv.Status.Result != igv1.ResultVerified {
			t.Errorf("ImageVerification under %s: %s", p.Ref, iv.Status.Result)
		}
	}
}

// TestTrustPolicyAnnotationMustCoverTheImage: the ImagePolicy annotation
// may only name a trust policy whose globs match the selected image; it
// cannot route an image to a policy written for other images.
func TestTrustPolicyAnnotationMustCoverTheImage(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	ctx := context.Background()
	w.create(testenv.TrustPolicy(w.ns, "elsewhere", testenv.KeyPolicySpec("elsewhere.example/**", w.key.PublicPEM)))
	var ip imagev1.ImagePolicy
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "web"}, &ip); err != nil {
		t.Fatal(err)
	}
	ip.Annotations = map[string]string{igv1.TrustPolicyAnnotation: "elsewhere"}
	if err := cp.Client.Update(ctx, &ip); err != nil {
		t.Fatal(err)
	}
	w.publishSigned("web", "v1")
	before := len(w.log())
	w.mustReconcile()
	if got := len(w.log()); got != before {
		t.Fatalf("%d new commits, want 0", got-before)
	}
	row := w.row("web")
	if row.Verified || row.Reason != "NoPolicy" || !strings.Contains(row.Message, "has no images glob that matches") {
		t.Fatalf("row: %+v; want NoPolicy saying the named policy does not cover the image", row)
	}
}

// TestGateRecordsKeepATagOnlyWhenTheRegistryShowsIt: before verifying a
// selection the gate checks that its tag still names the reflected digest
// (one HEAD); the record then keeps the tag, which the webhook accepts as
// proof for tag-scoped globs. A digest the tag no longer names is recorded
// as repo@digest.
func TestGateRecordsKeepATagOnlyWhenTheRegistryShowsIt(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web", "api")
	ctx := context.Background()
	shown := w.publishSigned("web", "v1")
	moved := w.push("api", "v1")
	testenv.SignLegacy(t, moved, w.key)
	w.selectTag("api", "v1", moved)
	w.push("api", "v1") // the tag moves on after the reflector saw it
	w.mustReconcile()
	hash := w.policyHash()
	for _, tc := range []struct {
		digest, want string
	}{
		{shown.DigestStr(), w.reg.Repo("web") + ":v1@" + shown.DigestStr()},
		{moved.DigestStr(), w.reg.Repo("api") + "@" + moved.DigestStr()},
	} {
		var iv igv1.ImageVerification
		if err := cp.Client.Get(ctx, client.ObjectKey{Name: igv1.ImageVerificationName(tc.digest, hash)}, &iv); err != nil {
			t.Fatalf("record of %s: %v", tc.digest, err)
		}
		if iv.Spec.Image != tc.want {
			t.Errorf("record image %q, want %q", iv.Spec.Image, tc.want)
		}
	}
}
