package records

import (
	"context"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/verify"
)

// A record found under the name of (digest, policy hash) whose spec says
// something else never approves; writing a new verdict must fix the spec
// too, or the verdict is lost and every later check verifies again.
func TestRecordRewritesASpecThatDoesNotMatchItsName(t *testing.T) {
	ctx := context.Background()
	const digestC = "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	s := NewStore(cp.Client, cp.Client, func(verify.Outcome) time.Duration { return time.Hour }, func() time.Time { return now })
	wrong := &igv1.ImageVerification{
		ObjectMeta: metav1.ObjectMeta{Name: igv1.ImageVerificationName(digestC, hash1)},
		Spec: igv1.ImageVerificationSpec{Image: "registry.example/app:v1", Digest: digestC, PolicyHash: hash2,
			Policy: igv1.PolicyReference{Kind: "ClusterTrustPolicy", Name: "other"}},
	}
	if err := cp.Client.Create(ctx, wrong); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), wrong) })

	if _, err := s.Record(ctx, decision(digestC, hash1, verify.ResultVerified)); err != nil {
		t.Fatal(err)
	}
	var got igv1.ImageVerification
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(wrong), &got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.PolicyHash != hash1 || got.Spec.Policy.Name != "p" || got.Status.Result != igv1.ResultVerified {
		t.Fatalf("record after Record: spec %+v, result %s", got.Spec, got.Status.Result)
	}
	if _, ok, err := s.LookupVerified(ctx, digestC, hash1); err != nil || !ok {
		t.Fatalf("the rewritten record does not approve: %v, %v", ok, err)
	}
}
