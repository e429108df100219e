package testenv

import (
	"context"
	"crypto"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"
)

// verifyLegacy checks d's legacy signatures with cosign/v2's own verifier,
// digest claim included.
func verifyLegacy(t *testing.T, d name.Digest, key *CosignKey) error {
	t.Helper()
	sv, err := signature.LoadVerifier(key.PublicKey(t), crypto.SHA256)
	if err != nil {
		t.Fatalf("load verifier: %v", err)
	}
	_, _, err = cosign.VerifyImageSignatures(t.Context(), d, &cosign.CheckOpts{
		SigVerifier:        sv,
		IgnoreTlog:         true,
		ClaimVerifier:      cosign.SimpleClaimVerifier,
		RegistryClientOpts: []ociremote.Option{ociremote.WithRemoteOptions(remote.WithContext(t.Context()))},
	})
	return err
}

// bundlesOf reads d's Sigstore bundles as cosign/v2 finds them.
func bundlesOf(t *testing.T, d name.Digest) []*sgbundle.Bundle {
	t.Helper()
	bundles, _, err := cosign.GetBundles(t.Context(), d, &cosign.CheckOpts{
		RegistryClientOpts: []ociremote.Option{ociremote.WithRemoteOptions(remote.WithContext(t.Context()))},
	})
	if err != nil {
		t.Fatalf("bundles of %s: %v", d, err)
	}
	return bundles
}

func digestBytes(t *testing.T, d name.Digest) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.TrimPrefix(d.DigestStr(), "sha256:"))
	if err != nil {
		t.Fatalf("digest %s: %v", d, err)
	}
	return b
}

// verifyKeyBundle verifies b for d with key, as sigstore-go does for keys.
func verifyKeyBundle(t *testing.T, b *sgbundle.Bundle, d name.Digest, key *CosignKey) error {
	t.Helper()
	v, err := signature.LoadDefaultVerifier(key.PublicKey(t))
	if err != nil {
		t.Fatalf("load verifier: %v", err)
	}
	material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(v, time.Time{}, time.Time{}), nil
	})
	sv, err := sgverify.NewVerifier(material, sgverify.WithNoObserverTimestamps())
	if err != nil {
		t.Fatalf("verifier: %v", err)
	}
	_, err = sv.Verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest("sha256", digestBytes(t, d)), sgverify.WithKey()))
	return err
}

func TestSignLegacyVerifiesWithCosign(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t)
	d := reg.PushImage(t, "app", "v1")
	other := reg.PushImage(t, "app", "v2")
	key, stranger := NewCosignKey(t), NewCosignKey(t)
	SignLegacy(t, d, key)
	SignLegacy(t, d, stranger) // appended, not replacing
	CopySignatures(t, d, other)

	if err := verifyLegacy(t, d, key); err != nil {
		t.Errorf("signature by key: %v", err)
	}
	if err := verifyLegacy(t, d, stranger); err != nil {
		t.Errorf("second signature by another key: %v", err)
	}
	if err := verifyLegacy(t, other, key); err == nil || !strings.Contains(err.Error(), "invalid or missing digest in claim") {
		t.Errorf("copied signature: err = %v, want the digest claim to fail", err)
	}
}

func TestSignBundleWithCosignCLI(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []RegistryOption
	}{
		{"referrers API", []RegistryOption{WithReferrersAPI()}},
		{"tag schema", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			reg := NewRegistry(t, tc.opts...)
			d := reg.PushImage(t, "app", "v1")
			other := reg.PushImage(t, "app", "v2")
			key := NewCosignKey(t)
			SignBundle(t, d, key)
			CopySignatures(t, d, other)

			bundles := bundlesOf(t, d)
			if len(bundles) != 1 {
				t.Fatalf("got %d bundles, want the 1 cosign wrote", len(bundles))
			}
			if err := verifyKeyBundle(t, bundles[0], d, key); err != nil {
				t.Errorf("bundle by key: %v", err)
			}
			if err := verifyKeyBundle(t, bundles[0], d, NewCosignKey(t)); err == nil {
				t.Error("bundle verified with another key")
			}
			copied := bundlesOf(t, other)
			if len(copied) != 1 {
				t.Fatalf("got %d bundles on the copy target, want 1", len(copied))
			}
			if err := verifyKeyBundle(t, copied[0], other, key); err == nil || !strings.Contains(err.Error(), "digest") {
				t.Errorf("copied bundle: err = %v, want a digest mismatch", err)
			}
		})
	}
}

func TestTestSigstoreKeylessBundle(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t, WithReferrersAPI())
	d := reg.PushImage(t, "app", "v1")
	ss := NewTestSigstore(t)
	ss.SignBundle(t, d, "https://issuer.example", "release@example.com")

	// The JSON form parses to a root that verifies the bundle.
	tr, err := root.NewTrustedRootFromJSON(ss.TrustedRootJSON(t))
	if err != nil {
		t.Fatalf("trusted root JSON: %v", err)
	}
	sv, err := sgverify.NewVerifier(tr, sgverify.WithTransparencyLog(1), sgverify.WithObserverTimestamps(1))
	if err != nil {
		t.Fatalf("verifier: %v", err)
	}
	bundles := bundlesOf(t, d)
	if len(bundles) != 1 {
		t.Fatalf("got %d bundles, want 1", len(bundles))
	}
	for _, tc := range []struct {
		subject string
		ok      bool
	}{
		{"release@example.com", true},
		{"intruder@example.com", false},
	} {
		id, err := sgverify.NewShortCertificateIdentity("https://issuer.example", "", tc.subject, "")
		if err != nil {
			t.Fatalf("identity: %v", err)
		}
		res, err := sv.Verify(bundles[0], sgverify.NewPolicy(
			sgverify.WithArtifactDigest("sha256", digestBytes(t, d)), sgverify.WithCertificateIdentity(id)))
		if (err == nil) != tc.ok {
			t.Errorf("subject %s: err = %v, want ok=%v", tc.subject, err, tc.ok)
		}
		if tc.ok && err == nil && res.Statement.GetPredicateType() != CosignSignPredicateType {
			t.Errorf("predicate = %q, want %q", res.Statement.GetPredicateType(), CosignSignPredicateType)
		}
	}
}

func TestPushSBOMReferrer(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t, WithReferrersAPI())
	d := reg.PushImage(t, "app", "v1")
	PushSBOMReferrer(t, d)
	idx, err := remote.Referrers(d, remote.WithContext(context.Background()))
	if err != nil {
		t.Fatalf("referrers: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatalf("index: %v", err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].ArtifactType != SPDXArtifactType {
		t.Fatalf("referrers = %+v, want one %s", im.Manifests, SPDXArtifactType)
	}
}

func TestTestSigstoreKeylessLegacy(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t)
	d := reg.PushImage(t, "app", "v1")
	ss := NewTestSigstore(t)
	ss.SignLegacy(t, d, "https://issuer.example", "release@example.com")
	for _, tc := range []struct {
		subject string
		ok      bool
	}{
		{"release@example.com", true},
		{"intruder@example.com", false},
	} {
		_, bundleVerified, err := cosign.VerifyImageSignatures(t.Context(), d, &cosign.CheckOpts{
			TrustedMaterial:    ss.TrustedMaterial(),
			Identities:         []cosign.Identity{{Issuer: "https://issuer.example", Subject: tc.subject}},
			IgnoreSCT:          true, // the virtual CA embeds no SCTs
			Offline:            true,
			ClaimVerifier:      cosign.SimpleClaimVerifier,
			RegistryClientOpts: []ociremote.Option{ociremote.WithRemoteOptions(remote.WithContext(t.Context()))},
		})
		if (err == nil) != tc.ok {
			t.Errorf("subject %s: err = %v, want ok=%v", tc.subject, err, tc.ok)
		}
		if tc.ok && !bundleVerified {
			t.Errorf("subject %s: the Rekor bundle was not verified", tc.subject)
		}
	}
}
