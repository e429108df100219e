package verify_test

import (
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// TestPublicGoodOCIAttestationIsNotASignature: a real public-good Sigstore
// bundle that cosign made for an OCI image, read from cosign's module in the
// Go module cache (github.com/sigstore/cosign/v2, pkg/cosign/testdata/
// oci-attestation.sigstore.json, not copied here): a keyless attestation
// (predicate https://cosign.sigstore.dev/attestation/v1) by
// cody@soyland.com through GitHub's OAuth issuer, for the image digest
// sha256:732112..., with a Rekor entry. Served in an in-process registry as
// a bundle referrer of that digest, with a policy trusting exactly that
// identity under the public-good root (sigstore-go's module,
// pkg/testing/data/trusted-roots/public-good.json), it is refused: its
// signature, certificate chain, SCT, log entry and digest binding all
// verify offline (the refusal comes after them, and says so), but an
// attestation does not approve an image.
func TestPublicGoodOCIAttestationIsNotASignature(t *testing.T) {
	t.Parallel()
	raw := testenv.ModuleFile(t, "github.com/sigstore/cosign/v2", "pkg/cosign/testdata/oci-attestation.sigstore.json")
	tr, err := root.NewTrustedRootFromJSON(testenv.ModuleFile(t, "github.com/sigstore/sigstore-go", "pkg/testing/data/trusted-roots/public-good.json"))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, testenv.WithReferrersAPI())
	// The image cosign attested; its manifest is not in the module, and
	// verification never reads it: the registry holds only the referrer.
	const attested = "sha256:732112270d7e59418a8c080b134b24cabd67d250d0d0147a97ed95ba5c280aa4"
	d, err := name.NewDigest(e.reg.Repo("app") + "@" + attested)
	if err != nil {
		t.Fatal(err)
	}
	h, err := v1.NewHash(attested)
	if err != nil {
		t.Fatal(err)
	}
	testenv.PushReferrerOf(t, d.Context(), v1.Descriptor{MediaType: types.OCIManifestSchema1, Digest: h, Size: 1024},
		testenv.SigstoreBundleArtifactType, testenv.SigstoreBundleArtifactType, raw, map[string]string{
			"dev.sigstore.bundle.content":       "dsse-envelope",
			"dev.sigstore.bundle.predicateType": "https://cosign.sigstore.dev/attestation/v1",
		})
	id := policy.Identity{Issuer: "https://github.com/login/oauth", Subject: "cody@soyland.com"}
	p := newPolicy([]policy.Authority{{Name: "cody", Keyless: &policy.KeylessAuthority{Identities: []policy.Identity{id}, TrustedRoot: tr}}})

	out, reqs := e.verify(t, d, p)
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
	wantRequests(t, reqs, ping, legacyTag, referrersAPI, bundleMan, bundleBlob)
	if want := `bundle is an attestation with predicate "https://cosign.sigstore.dev/attestation/v1", not an image signature`; !strings.Contains(out.Message, want) {
		t.Fatalf("message %q lacks %q", out.Message, want)
	}
}
