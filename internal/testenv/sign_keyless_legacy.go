package testenv

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
)

// SignLegacy signs d keyless in the legacy format, as cosign 2 did: a
// simple-signing payload signed with a certificate for subject from issuer,
// the certificate and chain, a Rekor bundle (hashedrekord entry with signed
// entry timestamp) and an RFC 3161 timestamp as annotations of a layer in
// the .sig tag.
func (s *TestSigstore) SignLegacy(t testing.TB, d name.Digest, issuer, subject string) {
	t.Helper()
	s.SignLegacyAs(t, d, Certificate{Issuer: issuer, Subject: subject})
}

// SignLegacyAs is SignLegacy with a certificate carrying cert's Fulcio
// extensions.
func (s *TestSigstore) SignLegacyAs(t testing.TB, d name.Digest, cert Certificate) {
	t.Helper()
	payload, err := (&sigpayload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		t.Fatalf("testenv: signature payload for %s: %v", d, err)
	}
	leaf, key := s.fulcio.issue(t, cert)
	sv, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		t.Fatalf("testenv: signer: %v", err)
	}
	sig, err := sv.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("testenv: sign %s: %v", d, err)
	}
	tsr, err := s.vs.TimestampResponse(sig)
	if err != nil {
		t.Fatalf("testenv: timestamp: %v", err)
	}
	certPEM, err := cryptoutils.MarshalCertificateToPEM(leaf)
	if err != nil {
		t.Fatalf("testenv: certificate PEM: %v", err)
	}
	chainPEM, err := cryptoutils.MarshalCertificatesToPEM(s.fulcio.chain())
	if err != nil {
		t.Fatalf("testenv: chain PEM: %v", err)
	}
	body := hashedRekord(t, payload, sig, certPEM)
	// Integrated a minute after now, inside the certificate's validity.
	osig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(sig),
		static.WithCertChain(certPEM, chainPEM),
		static.WithBundle(s.rekorBundle(t, body, time.Now().Add(time.Minute).Unix())),
		static.WithRFC3161Timestamp(&cbundle.RFC3161Timestamp{SignedRFC3161Timestamp: tsr}))
	if err != nil {
		t.Fatalf("testenv: signature layer for %s: %v", d, err)
	}
	attachLegacy(t, d, osig)
}

// legacyLogIndex is the log index of every legacy signature's entry.
const legacyLogIndex = 1000

// hashedRekord is the Rekor entry cosign 2 uploads for a signature: the
// payload's SHA-256, the signature and the certificate.
func hashedRekord(t testing.TB, payload, sig, certPEM []byte) []byte {
	t.Helper()
	h := sha256.Sum256(payload)
	raw, err := json.Marshal(map[string]any{
		"apiVersion": "0.0.1",
		"kind":       "hashedrekord",
		"spec": map[string]any{
			"data": map[string]any{"hash": map[string]string{"algorithm": "sha256", "value": hex.EncodeToString(h[:])}},
			"signature": map[string]any{
				"content":   base64.StdEncoding.EncodeToString(sig),
				"publicKey": map[string]string{"content": base64.StdEncoding.EncodeToString(certPEM)},
			},
		},
	})
	if err != nil {
		t.Fatalf("testenv: hashedrekord entry: %v", err)
	}
	return raw
}

// rekorBundle is cosign 2's annotation form of a log entry: the entry body
// and its coordinates, with a signed entry timestamp by the virtual log.
func (s *TestSigstore) rekorBundle(t testing.TB, body []byte, integratedTime int64) *cbundle.RekorBundle {
	t.Helper()
	logID, err := s.vs.RekorLogID()
	if err != nil {
		t.Fatalf("testenv: rekor log id: %v", err)
	}
	payload := tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(body),
		IntegratedTime: integratedTime,
		LogIndex:       legacyLogIndex,
		LogID:          logID,
	}
	set, err := s.vs.RekorSignPayload(payload)
	if err != nil {
		t.Fatalf("testenv: signed entry timestamp: %v", err)
	}
	return &cbundle.RekorBundle{
		SignedEntryTimestamp: set,
		Payload: cbundle.RekorPayload{
			Body: payload.Body, IntegratedTime: payload.IntegratedTime, LogIndex: payload.LogIndex, LogID: payload.LogID,
		},
	}
}
