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
// Transparency log, by key.tlog (the policy's tlog mode governs keyless
// authorities only):
//   - optional (the default): the log is not looked at, so keys that sign
//     without uploading to Rekor keep verifying; a key, unlike a Fulcio
//     certificate, needs no log timestamp to be valid. Signer.RekorLogIndex
//     is -1.
//   - required: a signature counts only with a Rekor entry for exactly that
//     signature and key, whose signed entry timestamp (or, in a bundle,
//     inclusion proof) verifies offline against the Rekor keys of the
//     authority's trusted root; nothing else of that root is trusted.
//     Never looked up online.
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
	var material root.TrustedMaterial = root.NewTrustedPublicKeyMaterial(func(string) (root.TimeConstrainedVerifier, error) {
		return root.NewExpiringKey(bundleVerifier, time.Time{}, time.Time{}), nil
	})
	// WithNoObserverTimestamps must be the only verifier option: a key
	// signature needs no timestamp, and sigstore-go refuses the combination.
	verifierOpts := []sgverify.VerifierOption{sgverify.WithNoObserverTimestamps()}
	legacyOpts := cosign.CheckOpts{SigVerifier: legacyVerifier, IgnoreTlog: true, Offline: true}
	if k.TLogRequired {
		if k.TrustedRoot == nil {
			return nil, errors.New("key authority with tlog required but no trusted root")
		}
		logs := rekorLogsOnly{TrustedMaterial: material, logs: k.TrustedRoot.RekorLogs()}
		material = logs
		// The key has no validity window: the current time does.
		verifierOpts = []sgverify.VerifierOption{sgverify.WithTransparencyLog(1), sgverify.WithCurrentTime()}
		legacyOpts.IgnoreTlog = false
		legacyOpts.TrustedMaterial = logs
	}
	sgv, err := sgverify.NewVerifier(material, verifierOpts...)
	if err != nil {
		return nil, fmt.Errorf("bundle verifier: %w", err)
	}
	hint := "; key.tlog required needs one: sign with upload to Rekor, or set key.tlog optional"
	return &checkers{
		legacy: &legacyChecker{
			opts:         legacyOpts,
			identity:     func(oci.Signature) string { return identity },
			requireEntry: k.TLogRequired,
			noEntryHint:  hint,
		},
		bundle: &bundleChecker{
			verifier:     sgv,
			policy:       []sgverify.PolicyOption{sgverify.WithKey()},
			identity:     func(*sgverify.VerificationResult) string { return identity },
			requireEntry: k.TLogRequired,
			noEntryHint:  hint,
		},
	}, nil
}

// rekorLogsOnly is a key's trusted material plus the Rekor logs of a
// trusted root, and nothing else of it: a key authority must not start
// trusting the root's Fulcio certificates.
type rekorLogsOnly struct {
	root.TrustedMaterial
	logs map[string]*root.TransparencyLog
}

// RekorLogs implements root.TrustedMaterial.
func (m rekorLogsOnly) RekorLogs() map[string]*root.TransparencyLog { return m.logs }

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
