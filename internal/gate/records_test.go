package gate

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

// An ImageVerification already exists where the gate looks for the one of
// (digest, policy hash), but it does not say what its name promises. The
// image is unsigned, so only a record could approve it: only a Verified,
// unexpired record of the same digest and the current policy hash may.
func TestOnlyAMatchingUnexpiredVerifiedRecordApproves(t *testing.T) {
	t.Parallel()
	const otherHash = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	const otherDigest = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
	for _, tc := range []struct {
		name    string
		mod     func(*igv1.ImageVerification)
		rotate  bool // the trust policy's key changes after the record was written
		approve bool
	}{
		{name: "verified, unexpired, same digest and policy hash", approve: true},
		{name: "denied", mod: func(iv *igv1.ImageVerification) { iv.Status.Result = igv1.ResultDenied }},
		{name: "an exception's record", mod: func(iv *igv1.ImageVerification) { iv.Status.Result = igv1.ResultException }},
		{name: "expired", mod: func(iv *igv1.ImageVerification) {
			iv.Status.ExpiresAt = &metav1.Time{Time: time.Now().Add(-time.Minute)}
		}},
		{name: "no expiry", mod: func(iv *igv1.ImageVerification) { iv.Status.ExpiresAt = nil }},
		{name: "spec names another policy hash", mod: func(iv *igv1.ImageVerification) { iv.Spec.PolicyHash = otherHash }},
		{name: "spec names another digest", mod: func(iv *igv1.ImageVerification) { iv.Spec.Digest = otherDigest }},
		{name: "written before the trust policy changed", rotate: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "web")
			d := w.push("web", "v1") // unsigned
			w.selectTag("web", "v1", d)
			iv := w.verifiedRecord(d)
			if tc.mod != nil {
				tc.mod(iv)
			}
			w.writeRecord(iv)
			if tc.rotate {
				w.rotateKey(testenv.NewCosignKey(t))
			}
			before, original := len(w.log()), w.file("web")
			w.reg.ResetRequests()

			w.mustReconcile()

			row := w.row("web")
			if tc.approve {
				if len(w.log()) != before+1 || !strings.Contains(w.file("web"), "@"+d.DigestStr()) {
					t.Fatal("the matching record did not approve the image")
				}
				if reqs := w.reg.Requests(); len(reqs) != 0 || !row.Verified || !strings.Contains(row.Message, iv.Name) {
					t.Fatalf("approved with %d registry requests, row %+v; want 0 and the record named", len(reqs), row)
				}
				return
			}
			if len(w.log()) != before || w.file("web") != original {
				t.Fatal("an unsigned image reached Git on a record that does not match")
			}
			if row.Verified || row.Reason != "NoSignature" || len(w.reg.Requests()) == 0 {
				t.Fatalf("row %+v after %d registry requests; want the image verified afresh and blocked", row, len(w.reg.Requests()))
			}
		})
	}
}

// A record that names the right (digest, policy hash) but says something
// else (a denial from before the image was signed; a spec that does not
// match its name) is replaced by the gate's own verification, so that the
// next reconcile approves from it without asking the registry again.
func TestStaleRecordIsReplacedByTheGatesVerification(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		mod  func(*igv1.ImageVerification)
	}{
		{"denied before the image was signed", func(iv *igv1.ImageVerification) { iv.Status.Result = igv1.ResultDenied }},
		{"spec names another policy hash", func(iv *igv1.ImageVerification) {
			iv.Spec.PolicyHash = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, "web")
			d := w.publishSigned("web", "v1")
			iv := w.verifiedRecord(d)
			tc.mod(iv)
			w.writeRecord(iv)
			before := len(w.log())

			w.mustReconcile()
			if len(w.log()) != before+1 || !w.row("web").Verified {
				t.Fatalf("the signed image was not written: row %+v", w.row("web"))
			}
			var got igv1.ImageVerification
			if err := cp.Client.Get(context.Background(), client.ObjectKeyFromObject(iv), &got); err != nil {
				t.Fatal(err)
			}
			if got.Status.Result != igv1.ResultVerified || got.Spec.Digest != d.DigestStr() || got.Spec.PolicyHash != w.policyHash() {
				t.Fatalf("record after the gate verified: spec %+v, result %s", got.Spec, got.Status.Result)
			}

			w.reg.ResetRequests()
			w.rec.Checker = freshChecker(w) // a restarted controller: only the record remembers
			w.mustReconcile()
			if reqs := w.reg.Requests(); len(reqs) != 0 {
				t.Fatalf("the next reconcile sent %d registry requests, want 0 (approved by the record): %q", len(reqs), reqs)
			}
		})
	}
}

// verifiedRecord is the record the gate would write for d under the
// world's trust policy: Verified, valid for an hour.
func (w *world) verifiedRecord(d name.Digest) *igv1.ImageVerification {
	w.t.Helper()
	hash := w.policyHash()
	now := time.Now()
	return &igv1.ImageVerification{
		ObjectMeta: metav1.ObjectMeta{Name: igv1.ImageVerificationName(d.DigestStr(), hash)},
		Spec: igv1.ImageVerificationSpec{Image: d.String(), Digest: d.DigestStr(), PolicyHash: hash,
			Policy: igv1.PolicyReference{Kind: "TrustPolicy", Namespace: w.ns, Name: "signed"}},
		Status: igv1.ImageVerificationStatus{Result: igv1.ResultVerified, Reason: "Verified",
			VerifiedAt: &metav1.Time{Time: now}, ExpiresAt: &metav1.Time{Time: now.Add(time.Hour)}},
	}
}

// writeRecord creates iv with its status, as a writer of records would.
func (w *world) writeRecord(iv *igv1.ImageVerification) {
	w.t.Helper()
	ctx := context.Background()
	status := iv.Status
	if err := cp.Client.Create(ctx, iv); err != nil {
		w.t.Fatalf("creating ImageVerification: %v", err)
	}
	iv.Status = status
	if err := cp.Client.Status().Update(ctx, iv); err != nil {
		w.t.Fatalf("writing ImageVerification status: %v", err)
	}
	w.t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), iv) })
}

// rotateKey makes the world's trust policy trust key instead: its hash
// changes.
func (w *world) rotateKey(key *testenv.CosignKey) {
	w.t.Helper()
	ctx := context.Background()
	var tp igv1.TrustPolicy
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "signed"}, &tp); err != nil {
		w.t.Fatal(err)
	}
	tp.Spec.Authorities[0].Key.Data = string(key.PublicPEM)
	if err := cp.Client.Update(ctx, &tp); err != nil {
		w.t.Fatal(err)
	}
}
