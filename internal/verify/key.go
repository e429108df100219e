package verify

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/signature"

	"github.com/imagegate/imagegate/internal/policy"
)

// newKeyCheckers verifies signatures made with one public key.
//
// Transparency log: a key authority is checked without the log, whatever
// the policy's tlog mode. The compiled KeyAuthority carries no Rekor public
// key (only keyless authorities have a trusted root), so a log entry in the
// signature could not be verified offline, and a key, unlike a Fulcio
// certificate, needs no log timestamp to be valid. Signer.RekorLogIndex is
// therefore -1 for keys. Giving key authorities a Rekor key in the policy
// would let offline mode require the entry; see the package report.
func newKeyCheckers(k *policy.KeyAuthority) (*checkers, error) {
	if k.PublicKey == nil {
		return nil, errors.New("key authority without a public key")
	}
	// cosign 2 signs legacy signatures with SHA-256 whatever the key.
	legacyVerifier, err := signature.LoadVerifier(k.PublicKey, crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("loading public key: %w", err)
	}
	bundleVerifier, err := signature.LoadDefaultVerifier(k.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("loading public key: %w", err)
	}
	fp, err := keyFingerprint(k.PublicKey)
	if err != nil {
		return nil, err
	}
	identity := "key " + fp
	material := root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(bundleVerifier, time.Time{}, time.Time{}), nil
	})
	// WithNoObserverTimestamps must be the only verifier option: a key
	// signature needs no timestamp, and sigstore-go refuses the combination.
	sgv, err := sgverify.NewVerifier(material, sgverify.WithNoObserverTimestamps())
	if err != nil {
		return nil, fmt.Errorf("bundle verifier: %w", err)
	}
	return &checkers{
		legacy: &legacyChecker{
			opts:     cosign.CheckOpts{SigVerifier: legacyVerifier, IgnoreTlog: true, Offline: true},
			identity: func(oci.Signature) string { return identity },
		},
		bundle: &bundleChecker{
			verifier: sgv,
			policy:   []sgverify.PolicyOption{sgverify.WithKey()},
			identity: func(*sgverify.VerificationResult) string { return identity },
		},
	}, nil
}

// keyFingerprint is "sha256:<hex>" of the DER (PKIX) public key, the form
// Signer.Identity records for keys.
func keyFingerprint(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encoding public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:]), nil
}
