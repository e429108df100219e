package recordgc

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

var cp *testenv.ControlPlane

func TestMain(m *testing.M) { testenv.RunMain(m, &cp) }

// The tests of this package list every record of the control plane, so
// they run one at a time and clean up what they wrote.

const (
	hashOld = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	hashNow = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

type recordSpec struct {
	name      string
	result    igv1.VerificationResult // "": no status written
	verified  time.Time
	expires   time.Time // zero: no expiry
	policy    string
	hash      string
	collected string // the reason it is collected for; "": it stays
}

func writeRecord(t *testing.T, i int, r recordSpec) *igv1.ImageVerification {
	t.Helper()
	ctx := context.Background()
	digest := fmt.Sprintf("sha256:%064x", i)
	iv := &igv1.ImageVerification{
		ObjectMeta: metav1.ObjectMeta{Name: igv1.ImageVerificationName(digest, r.hash)},
		Spec: igv1.ImageVerificationSpec{Image: "registry.example/" + r.name, Digest: digest, PolicyHash: r.hash,
			Policy: igv1.PolicyReference{Kind: "ClusterTrustPolicy", Name: r.policy}},
	}
	if err := cp.Client.Create(ctx, iv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), iv) })
	if r.result == "" {
		return iv
	}
	iv.Status = igv1.ImageVerificationStatus{Result: r.result, Reason: string(r.result), VerifiedAt: &metav1.Time{Time: r.verified}}
	if !r.expires.IsZero() {
		iv.Status.ExpiresAt = &metav1.Time{Time: r.expires}
	}
	if err := cp.Client.Status().Update(ctx, iv); err != nil {
		t.Fatal(err)
	}
	return iv
}

// policyWithHash creates a ClusterTrustPolicy whose status says hash, as
// the trust policy controller would have written it.
func policyWithHash(t *testing.T, name, hash string) {
	t.Helper()
	ctx := context.Background()
	p := testenv.ClusterTrustPolicy(name, testenv.KeyPolicySpec("registry.example/**", testenv.NewCosignKey(t).PublicPEM))
	if err := cp.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), p) })
	p.Status.PolicyHash = hash
	if err := cp.Client.Status().Update(ctx, p); err != nil {
		t.Fatal(err)
	}
}

// Records that approve nothing any more are deleted a grace period after
// they stopped approving, each counted under its reason; every other
// record stays.
func TestExpiredRecordsAreCollected(t *testing.T) {
	ctx := context.Background()
	// The collector's clock runs two hours ahead of the API server's, so
	// that a record created now is "two hours old" to it.
	created := time.Now()
	now := created.Add(2 * time.Hour)
	const grace = time.Hour
	policyWithHash(t, "current", hashNow)
	policyWithHash(t, "compiling", "") // no hash in its status yet

	old := now.Add(-2 * time.Hour)
	records := []recordSpec{
		{name: "expired", result: igv1.ResultVerified, verified: old, expires: now.Add(-grace - time.Minute), policy: "current", hash: hashNow, collected: ReasonExpired},
		{name: "expired-denial", result: igv1.ResultDenied, verified: old, expires: now.Add(-grace - time.Minute), policy: "current", hash: hashNow, collected: ReasonExpired},
		{name: "expired-within-grace", result: igv1.ResultVerified, verified: old, expires: now.Add(-grace + time.Minute), policy: "current", hash: hashNow},
		{name: "fresh", result: igv1.ResultVerified, verified: now, expires: now.Add(12 * time.Hour), policy: "current", hash: hashNow},
		{name: "no-status", policy: "current", hash: hashNow, collected: ReasonIncomplete},
		{name: "exception-current", result: igv1.ResultException, verified: old, policy: "current", hash: hashNow},
		{name: "exception-policy-edited", result: igv1.ResultException, verified: old, policy: "current", hash: hashOld, collected: ReasonPolicyChanged},
		{name: "exception-policy-deleted", result: igv1.ResultException, verified: old, policy: "deleted", hash: hashNow, collected: ReasonPolicyChanged},
		{name: "exception-policy-not-compiled", result: igv1.ResultException, verified: old, policy: "compiling", hash: hashNow},
		{name: "verified-just-now-under-another-hash", result: igv1.ResultVerified, verified: now.Add(-time.Minute), expires: now.Add(12 * time.Hour), policy: "current", hash: hashOld},
	}
	ivs := make([]*igv1.ImageVerification, len(records))
	for i, r := range records {
		ivs[i] = writeRecord(t, i, r)
	}

	reg := prometheus.NewRegistry()
	c, err := New(cp.Client, cp.Client, Options{Grace: grace, Now: func() time.Time { return now }, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.Collect(ctx)
	if err != nil {
		t.Fatal(err)
	}

	want := map[string]int{}
	for i, r := range records {
		err := cp.Client.Get(ctx, client.ObjectKeyFromObject(ivs[i]), &igv1.ImageVerification{})
		if gone := apierrors.IsNotFound(err); gone != (r.collected != "") || (!gone && err != nil) {
			t.Errorf("%s: deleted=%v (err %v), want deleted=%v", r.name, gone, err, r.collected != "")
		}
		if r.collected != "" {
			want[r.collected]++
		}
	}
	if n != 5 {
		t.Errorf("Collect deleted %d records, want 5", n)
	}
	for _, reason := range []string{ReasonExpired, ReasonIncomplete, ReasonPolicyChanged} {
		if got := testutil.ToFloat64(c.collected.WithLabelValues(reason)); got != float64(want[reason]) {
			t.Errorf("imagegate_records_collected_total{reason=%q} = %v, want %d", reason, got, want[reason])
		}
	}
	if n, err := c.Collect(ctx); n != 0 || err != nil {
		t.Errorf("a second pass deleted %d (err %v), want 0", n, err)
	}
}

// A record the collector judged expired, but that a writer refreshed
// before the delete arrived (the informer cache it listed from lagged),
// is not deleted: the delete's precondition names the resourceVersion
// that was judged.
func TestARecordRefreshedSinceListedIsNotCollected(t *testing.T) {
	ctx := context.Background()
	now := time.Now()
	policyWithHash(t, "refreshed", hashNow)
	iv := writeRecord(t, 100, recordSpec{name: "refreshed", result: igv1.ResultVerified, verified: now.Add(-24 * time.Hour),
		expires: now.Add(-12 * time.Hour), policy: "refreshed", hash: hashNow})
	listed := *iv.DeepCopy()

	iv.Status.VerifiedAt, iv.Status.ExpiresAt = &metav1.Time{Time: now}, &metav1.Time{Time: now.Add(12 * time.Hour)}
	if err := cp.Client.Status().Update(ctx, iv); err != nil {
		t.Fatal(err)
	}

	c, err := New(cp.Client, cp.Client, Options{Now: func() time.Time { return now }, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.collect(ctx, []igv1.ImageVerification{listed})
	if err != nil || n != 0 {
		t.Fatalf("collect deleted %d (err %v), want 0", n, err)
	}
	var got igv1.ImageVerification
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(iv), &got); err != nil || !got.Status.ExpiresAt.Equal(iv.Status.ExpiresAt) {
		t.Fatalf("the refreshed record: %v, expires %v", err, got.Status.ExpiresAt)
	}
	if got := testutil.ToFloat64(c.collected.WithLabelValues(ReasonExpired)); got != 0 {
		t.Fatalf("counted %v collections, want 0", got)
	}
	// Judged on what it is now, it stays too.
	if n, err := c.Collect(ctx); n != 0 || err != nil {
		t.Fatalf("a fresh pass deleted %d (err %v), want 0", n, err)
	}
}

// The manager starts the collector on the leader only; it collects at once
// and then every interval, and returns when the manager stops it.
func TestStartCollectsAtOnceAndStopsWithItsContext(t *testing.T) {
	now := time.Now()
	policyWithHash(t, "started", hashNow)
	iv := writeRecord(t, 200, recordSpec{name: "started", result: igv1.ResultVerified, verified: now.Add(-24 * time.Hour),
		expires: now.Add(-12 * time.Hour), policy: "started", hash: hashNow})
	c, err := New(cp.Client, cp.Client, Options{Interval: time.Hour, Now: func() time.Time { return now }, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	if !c.NeedLeaderElection() {
		t.Fatal("the collector would run on every replica")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Start(ctx) }()
	// The deadline only bounds a broken test.
	err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		err := cp.Client.Get(ctx, client.ObjectKeyFromObject(iv), &igv1.ImageVerification{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	cancel()
	if err != nil {
		t.Fatalf("the first pass did not collect the expired record: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatalf("Start returned %v when its context ended, want nil", err)
	}
	if got := testutil.ToFloat64(c.collected.WithLabelValues(ReasonExpired)); got != 1 {
		t.Fatalf("counted %v, want 1", got)
	}
}
