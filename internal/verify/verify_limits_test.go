package verify_test

import (
	"bytes"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// A .sig layer far larger than any simple-signing payload is reported
// unusable and never downloaded.
func TestVerifyOversizedLegacyPayloadNotFetched(t *testing.T) {
	t.Parallel()
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	sig, err := static.NewSignature(bytes.Repeat([]byte("a"), 300<<10), "c2ln")
	if err != nil {
		t.Fatal(err)
	}
	opts := ociremote.WithRemoteOptions(remote.WithContext(t.Context()))
	se, err := ociremote.SignedEntity(d, opts)
	if err != nil {
		t.Fatal(err)
	}
	if se, err = mutate.AttachSignatureToEntity(se, sig); err != nil {
		t.Fatal(err)
	}
	if err := ociremote.WriteSignatures(d.Context(), se, opts); err != nil {
		t.Fatal(err)
	}
	out, reqs := e.verify(t, d, newPolicy([]policy.Authority{keyAuthority(t, "a", testenv.NewCosignKey(t))}))
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
	wantRequests(t, reqs, ping, legacyTag, referrersAPI)
}
