package testenv

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
)

// SignLegacy signs d keyless in the legacy format, as cosign 2 did: a
// simple-signing payload signed with a certificate for subject from issuer,
// the certificate and chain, a Rekor bundle (hashedrekord entry with signed
// entry timestamp) and an RFC 3161 timestamp as annotations of a layer in
// the .sig tag.
func (s *TestSigstore) SignLegacy(t testing.TB, d name.Digest, issuer, subject string) {
	t.Helper()
	s.signLegacy(t, d, issuer, subject, true)
}

// SignLegacyWithoutEntry signs d as SignLegacy does, but attaches the
// signature without its Rekor bundle annotation (as `cosign attach
// signature` or a copy that drops annotations leaves it), and returns the
// entry s's log holds for it, for a Rekor fixture to serve.
func (s *TestSigstore) SignLegacyWithoutEntry(t testing.TB, d name.Digest, issuer, subject string) RekorEntry {
	t.Helper()
	return s.signLegacy(t, d, issuer, subject, false)
}

func (s *TestSigstore) signLegacy(t testing.TB, d name.Digest, issuer, subject string, withEntry bool) RekorEntry {
	t.Helper()
	payload, err := (&sigpayload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		t.Fatalf("testenv: signature payload for %s: %v", d, err)
	}
	ent, err := s.vs.SignAtTime(subject, issuer, payload, time.Now().Add(time.Minute))
	if err != nil {
		t.Fatalf("testenv: keyless sign %s: %v", d, err)
	}
	vc, err := ent.VerificationContent()
	if err != nil {
		t.Fatalf("testenv: certificate: %v", err)
	}
	sc, err := ent.SignatureContent()
	if err != nil {
		t.Fatalf("testenv: signature: %v", err)
	}
	timestamps, err := ent.Timestamps()
	if err != nil || len(timestamps) != 1 {
		t.Fatalf("testenv: timestamps: %v (%d)", err, len(timestamps))
	}
	entries, err := ent.TlogEntries()
	if err != nil || len(entries) != 1 {
		t.Fatalf("testenv: tlog entries: %v (%d)", err, len(entries))
	}
	certPEM, err := cryptoutils.MarshalCertificateToPEM(vc.Certificate())
	if err != nil {
		t.Fatalf("testenv: certificate PEM: %v", err)
	}
	opts := []static.Option{
		static.WithCertChain(certPEM, s.chainPEM(t)),
		static.WithRFC3161Timestamp(&cbundle.RFC3161Timestamp{SignedRFC3161Timestamp: timestamps[0]}),
	}
	if withEntry {
		opts = append(opts, static.WithBundle(s.rekorBundle(t, entries[0])))
	}
	sig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(sc.Signature()), opts...)
	if err != nil {
		t.Fatalf("testenv: signature layer for %s: %v", d, err)
	}
	attachLegacy(t, d, sig)
	// The virtual log's body is not in Rekor's canonical JSON (sorted
	// keys); a Rekor serves, and is searched by, the canonical one.
	tle := entries[0].TransparencyLogEntry()
	body := hashedRekordBody(t, payload, sc.Signature(), certPEM)
	return s.rekorEntry(t, body, tle.GetIntegratedTime(), tle.GetLogIndex())
}

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

// chainPEM is the Fulcio intermediate and root, as cosign annotates them.
func (s *TestSigstore) chainPEM(t testing.TB) []byte {
	t.Helper()
	fca, ok := s.vs.FulcioCertificateAuthorities()[0].(*root.FulcioCertificateAuthority)
	if !ok {
		t.Fatal("testenv: virtual Fulcio CA has an unexpected type")
	}
	chain, err := cryptoutils.MarshalCertificatesToPEM(append(fca.Intermediates, fca.Root))
	if err != nil {
		t.Fatalf("testenv: chain PEM: %v", err)
	}
	return chain
}

// rekorBundle is cosign 2's annotation form of a log entry: the entry body
// and its coordinates, with a signed entry timestamp by the virtual log.
func (s *TestSigstore) rekorBundle(t testing.TB, e *tlog.Entry) *cbundle.RekorBundle {
	t.Helper()
	tle := e.TransparencyLogEntry()
	payload := tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()),
		IntegratedTime: tle.GetIntegratedTime(),
		LogIndex:       tle.GetLogIndex(),
		LogID:          hex.EncodeToString(tle.GetLogId().GetKeyId()),
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
