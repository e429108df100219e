package records

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

var cp *testenv.ControlPlane

func TestMain(m *testing.M) { testenv.RunMain(m, &cp) }

const (
	digestA = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	digestB = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
	hash1   = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	hash2   = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
)

func decision(digest, hash string, r verify.Result) cache.Decision {
	return cache.Decision{
		Image: "registry.example/app:v1", Digest: digest,
		Policy:  &policy.Policy{Ref: policy.Ref{Kind: "ClusterTrustPolicy", Name: "p"}, Hash: hash},
		Outcome: verify.Outcome{Digest: digest, Result: r, Reason: verify.Reason(r), Signers: []verify.Signer{{Authority: "k", Format: verify.FormatBundle, Identity: "key sha256:00", RekorLogIndex: 7}}},
	}
}

func TestOnlyUnexpiredVerifiedRecordsOfTheSameHashApprove(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	ttl := func(o verify.Outcome) time.Duration {
		if o.Result == verify.ResultVerified {
			return time.Hour
		}
		return time.Minute
	}
	s := NewStore(cp.Client, cp.Client, ttl, clock)
	iv, err := s.Record(ctx, decision(digestA, hash1, verify.ResultVerified))
	if err != nil {
		t.Fatal(err)
	}
	if iv.Status.RekorLogIndex == nil || *iv.Status.RekorLogIndex != 7 || iv.Status.Signers[0].Format != "bundle" || !iv.Status.ExpiresAt.Time.Equal(now.Add(time.Hour)) {
		t.Fatalf("record status: %+v", iv.Status)
	}
	if _, err := s.Record(ctx, decision(digestB, hash1, verify.ResultDenied)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(ctx, decision(digestB, hash1, verify.ResultUnavailable)); err != nil {
		t.Fatal(err) // not recorded
	}

	cases := []struct {
		name         string
		digest, hash string
		at           time.Time
		want         bool
	}{
		{"verified, same hash", digestA, hash1, now, true},
		{"verified, policy changed", digestA, hash2, now, false},
		{"verified, expired", digestA, hash1, now.Add(time.Hour), false},
		{"denied", digestB, hash1, now, false},
	}
	for _, tc := range cases {
		at := tc.at
		s.now = func() time.Time { return at }
		_, ok, err := s.LookupVerified(ctx, tc.digest, tc.hash)
		if err != nil || ok != tc.want {
			t.Errorf("%s: approved=%v err=%v, want %v", tc.name, ok, err, tc.want)
		}
	}

	// A newer verdict overwrites the record of the same (digest, hash).
	s.now = clock
	if _, err := s.Record(ctx, decision(digestA, hash1, verify.ResultDenied)); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.LookupVerified(ctx, digestA, hash1); ok {
		t.Fatal("a record overwritten with a denial still approves")
	}
}

// Anyone who may create a Pod can have imagegate deny digests nobody
// pushed: a denial must not create an object, or the cluster grows with
// every one. Admitted outcomes are recorded; a denial only overwrites a
// record that exists, which withdraws its approval and adds nothing.
func TestOnlyAdmittedOutcomesCreateRecords(t *testing.T) {
	ctx := context.Background()
	const (
		digestD = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"
		digestE = "sha256:eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
		digestF = "sha256:ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	)
	s := NewStore(cp.Client, cp.Client, func(verify.Outcome) time.Duration { return time.Hour }, nil)
	before := countRecords(t)
	for _, tc := range []struct {
		digest string
		result verify.Result
		want   igv1.VerificationResult // "": no object
	}{
		{digestD, verify.ResultDenied, ""},
		{digestD, verify.ResultUnavailable, ""},
		{digestE, verify.ResultVerified, igv1.ResultVerified},
		{digestF, verify.ResultException, igv1.ResultException},
		{digestE, verify.ResultDenied, igv1.ResultDenied},
	} {
		iv, err := s.Record(ctx, decision(tc.digest, hash2, tc.result))
		if err != nil {
			t.Fatal(err)
		}
		var got igv1.ImageVerification
		err = cp.Client.Get(ctx, client.ObjectKey{Name: igv1.ImageVerificationName(tc.digest, hash2)}, &got)
		switch {
		case tc.want == "" && (iv != nil || !apierrors.IsNotFound(err)):
			t.Fatalf("%s of %s: record %v, err %v; want none", tc.result, tc.digest, iv, err)
		case tc.want != "" && (err != nil || got.Status.Result != tc.want):
			t.Fatalf("%s of %s: result %q, err %v; want %s", tc.result, tc.digest, got.Status.Result, err, tc.want)
		}
		if tc.want != "" {
			t.Cleanup(func() { _ = cp.Client.Delete(context.Background(), &got) })
		}
	}
	if n := countRecords(t) - before; n != 2 {
		t.Fatalf("%d records added, want 2 (the verified and the excepted digest)", n)
	}
}

func countRecords(t *testing.T) int {
	t.Helper()
	var l igv1.ImageVerificationList
	if err := cp.Client.List(context.Background(), &l); err != nil {
		t.Fatal(err)
	}
	return len(l.Items)
}
