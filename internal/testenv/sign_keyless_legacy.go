package testenv

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
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
	s.signLegacy(t, d, Certificate{Issuer: issuer, Subject: subject}, true)
}

// SignLegacyAs is SignLegacy with a certificate carrying cert's Fulcio
// extensions.
func (s *TestSigstore) SignLegacyAs(t testing.TB, d name.Digest, cert Certificate) {
	t.Helper()
	s.signLegacy(t, d, cert, true)
}

// SignLegacyWithoutEntry signs d as SignLegacy does, but attaches the
// signature without its Rekor bundle annotation (as `cosign attach
// signature` or a copy that drops annotations leaves it), and returns the
// entry s's log holds for it, for a Rekor fixture to serve.
func (s *TestSigstore) SignLegacyWithoutEntry(t testing.TB, d name.Digest, issuer, subject string) RekorEntry {
	t.Helper()
	return s.signLegacy(t, d, Certificate{Issuer: issuer, Subject: subject}, false)
}

func (s *TestSigstore) signLegacy(t testing.TB, d name.Digest, cert Certificate, withEntry bool) RekorEntry {
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
	// Integrated a minute after now, inside the certificate's validity; the
	// body in Rekor's canonical JSON, which a Rekor serves and is searched by.
	e := s.rekorEntry(t, hashedRekordBody(t, payload, sig, certPEM), time.Now().Add(time.Minute).Unix(), legacyLogIndex)
	opts := []static.Option{
		static.WithCertChain(certPEM, chainPEM),
		static.WithRFC3161Timestamp(&cbundle.RFC3161Timestamp{SignedRFC3161Timestamp: tsr}),
	}
	if withEntry {
		opts = append(opts, static.WithBundle(cbundle.EntryToBundle(&e.Entry)))
	}
	osig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(sig), opts...)
	if err != nil {
		t.Fatalf("testenv: signature layer for %s: %v", d, err)
	}
	attachLegacy(t, d, osig)
	return e
}

// legacyLogIndex is the log index of every keyless legacy signature's entry.
const legacyLogIndex = 1000

// SignLegacyWithKey writes a legacy signature of d made with key, as
// SignLegacy (the package function) does, uploaded to s's log: the
// annotation carries the hashedrekord entry with a signed entry timestamp,
// as `cosign sign --key` of cosign 2 with the log left on writes it.
func (s *TestSigstore) SignLegacyWithKey(t testing.TB, d name.Digest, key *CosignKey) RekorEntry {
	t.Helper()
	payload, err := (&sigpayload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		t.Fatalf("testenv: signature payload for %s: %v", d, err)
	}
	raw, err := key.signer.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("testenv: sign %s: %v", d, err)
	}
	e := s.rekorEntry(t, hashedRekordBody(t, payload, raw, key.PublicPEM), time.Now().Unix(), 2000)
	sig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(raw), static.WithBundle(cbundle.EntryToBundle(&e.Entry)))
	if err != nil {
		t.Fatalf("testenv: signature layer for %s: %v", d, err)
	}
	attachLegacy(t, d, sig)
	return e
}

// SignLegacyWithRekorBundle writes a legacy signature of d made with key
// whose Rekor bundle annotation is b, whatever it holds: what a hostile
// registry can serve.
func SignLegacyWithRekorBundle(t testing.TB, d name.Digest, key *CosignKey, b *cbundle.RekorBundle) {
	t.Helper()
	payload, err := (&sigpayload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		t.Fatalf("testenv: signature payload for %s: %v", d, err)
	}
	raw, err := key.signer.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("testenv: sign %s: %v", d, err)
	}
	sig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(raw), static.WithBundle(b))
	if err != nil {
		t.Fatalf("testenv: signature layer for %s: %v", d, err)
	}
	attachLegacy(t, d, sig)
}
