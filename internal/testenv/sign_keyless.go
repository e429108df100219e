package testenv

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/secure-systems-lab/go-securesystemslib/dsse"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/testing/ca"
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/sigstore/sigstore/pkg/signature"
	sigdsse "github.com/sigstore/sigstore/pkg/signature/dsse"
)

// CosignSignPredicateType is the in-toto predicate of a cosign 3 image
// signature.
const CosignSignPredicateType = "https://sigstore.dev/cosign/sign/v1"

// TestSigstore is a private Sigstore made at test time: a Fulcio CA that
// issues short-lived certificates for any OIDC issuer and subject, a Rekor
// log key, and a timestamp authority (sigstore-go's VirtualSigstore). Its
// trusted root lists no certificate transparency logs, because the
// virtual CA's certificates carry no SCTs.
type TestSigstore struct {
	vs       *ca.VirtualSigstore // the Rekor log and timestamp authority
	fulcio   *fulcioCA           // issues the signing certificates
	rootJSON []byte
	root     *root.TrustedRoot
}

// NewTestSigstore creates the CA and keys and its trusted root.
func NewTestSigstore(t testing.TB) *TestSigstore {
	t.Helper()
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		t.Fatalf("testenv: virtual sigstore: %v", err)
	}
	// The virtual Rekor log's ID is its hex key ID as bytes; a trusted root
	// carries the raw key ID, so convert before serialising.
	logs := map[string]*root.TransparencyLog{}
	for id, l := range vs.RekorLogs() {
		c := *l
		if c.ID, err = hex.DecodeString(id); err != nil {
			t.Fatalf("testenv: rekor log id %q: %v", id, err)
		}
		logs[id] = &c
	}
	fulcio := newFulcioCA(t)
	tr, err := root.NewTrustedRoot(root.TrustedRootMediaType01, []root.CertificateAuthority{fulcio.authority()},
		map[string]*root.TransparencyLog{}, vs.TimestampingAuthorities(), logs)
	if err != nil {
		t.Fatalf("testenv: trusted root: %v", err)
	}
	raw, err := tr.MarshalJSON()
	if err != nil {
		t.Fatalf("testenv: trusted root JSON: %v", err)
	}
	// Parse the JSON back, so TrustedMaterial is exactly what a policy
	// compiled from TrustedRootJSON holds.
	parsed, err := root.NewTrustedRootFromJSON(raw)
	if err != nil {
		t.Fatalf("testenv: parse trusted root JSON: %v", err)
	}
	return &TestSigstore{vs: vs, fulcio: fulcio, rootJSON: raw, root: parsed}
}

// TrustedMaterial is the trusted root (Fulcio CA, Rekor key, TSA) as a
// compiled keyless authority holds it.
func (s *TestSigstore) TrustedMaterial() root.TrustedMaterial { return s.root }

// TrustedRootJSON is the trusted_root.json form of TrustedMaterial, what a
// TrustPolicy's keyless.trustedRoot Secret holds.
func (s *TestSigstore) TrustedRootJSON(t testing.TB) []byte {
	t.Helper()
	return append([]byte(nil), s.rootJSON...)
}

// SignBundle signs d as cosign 3 does keyless: a certificate for subject
// (as an email SAN) from issuer, a DSSE in-toto statement with the cosign
// sign predicate and d as subject, a Rekor entry with inclusion proof and
// promise, and an RFC 3161 timestamp; pushed as a bundle referrer of d.
func (s *TestSigstore) SignBundle(t testing.TB, d name.Digest, issuer, subject string) {
	t.Helper()
	s.SignBundleAs(t, d, Certificate{Issuer: issuer, Subject: subject})
}

// SignBundleAs is SignBundle with a certificate carrying cert's Fulcio
// extensions.
func (s *TestSigstore) SignBundleAs(t testing.TB, d name.Digest, cert Certificate) {
	t.Helper()
	s.pushBundle(t, d, s.bundle(t, statementFor(t, d), cert, true))
}

// SignBundleWithoutEntry signs d as SignBundle does, but the bundle carries
// no transparency log entry, only the RFC 3161 timestamp (what cosign 3
// writes with a signing config without a log).
func (s *TestSigstore) SignBundleWithoutEntry(t testing.TB, d name.Digest, issuer, subject string) {
	t.Helper()
	s.pushBundle(t, d, s.bundle(t, statementFor(t, d), Certificate{Issuer: issuer, Subject: subject}, false))
}

func (s *TestSigstore) pushBundle(t testing.TB, d name.Digest, b []byte) {
	t.Helper()
	PushReferrer(t, d, SigstoreBundleArtifactType, SigstoreBundleArtifactType, b, map[string]string{
		"dev.sigstore.bundle.content":       "dsse-envelope",
		"dev.sigstore.bundle.predicateType": CosignSignPredicateType,
	})
}

// statementFor is the in-toto statement cosign 3 signs for an image.
func statementFor(t testing.TB, d name.Digest) []byte {
	t.Helper()
	h := d.DigestStr()[len("sha256:"):]
	stmt := map[string]any{
		"_type":         "https://in-toto.io/Statement/v1",
		"subject":       []any{map[string]any{"name": d.Context().Name(), "digest": map[string]string{"sha256": h}}},
		"predicateType": CosignSignPredicateType,
		"predicate":     map[string]any{},
	}
	raw, err := json.Marshal(stmt)
	if err != nil {
		t.Fatalf("testenv: encode statement: %v", err)
	}
	return raw
}

// bundle signs statement and assembles a v0.3 bundle's JSON.
func (s *TestSigstore) bundle(t testing.TB, statement []byte, cert Certificate, withEntry bool) []byte {
	t.Helper()
	leaf, key := s.fulcio.issue(t, cert)
	env := signDSSE(t, key, statement)
	sig, err := base64.StdEncoding.DecodeString(env.Signatures[0].Sig)
	if err != nil {
		t.Fatalf("testenv: envelope signature: %v", err)
	}
	payload, err := base64.StdEncoding.DecodeString(env.Payload)
	if err != nil {
		t.Fatalf("testenv: envelope payload: %v", err)
	}
	// Integrated a minute after now: inside the 10-minute certificate
	// issued from now, whatever the second truncation.
	entry, err := s.vs.GenerateTlogEntry(leaf, env, sig, time.Now().Add(time.Minute).Unix(), true)
	if err != nil {
		t.Fatalf("testenv: log entry: %v", err)
	}
	tsr, err := s.vs.TimestampResponse(sig)
	if err != nil {
		t.Fatalf("testenv: timestamp: %v", err)
	}
	timestamps, entries := [][]byte{tsr}, []*tlog.Entry{entry}
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content: &protobundle.VerificationMaterial_Certificate{
				Certificate: &protocommon.X509Certificate{RawBytes: leaf.Raw},
			},
			TlogEntries:               []*protorekor.TransparencyLogEntry{s.logEntry(t, entries[0])},
			TimestampVerificationData: &protobundle.TimestampVerificationData{},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     payload,
			PayloadType: env.PayloadType,
			Signatures:  []*protodsse.Signature{{Sig: sig}},
		}},
	}
	if !withEntry {
		pb.VerificationMaterial.TlogEntries = nil
	}
	for _, ts := range timestamps {
		pb.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps = append(
			pb.VerificationMaterial.TimestampVerificationData.Rfc3161Timestamps,
			&protocommon.RFC3161SignedTimestamp{SignedTimestamp: ts})
	}
	b, err := sgbundle.NewBundle(pb) // validates the v0.3 rules
	if err != nil {
		t.Fatalf("testenv: bundle: %v", err)
	}
	raw, err := b.MarshalJSON()
	if err != nil {
		t.Fatalf("testenv: encode bundle: %v", err)
	}
	return raw
}

// signDSSE signs statement as an in-toto DSSE envelope with key, as cosign
// 3 signs an image.
func signDSSE(t testing.TB, key *ecdsa.PrivateKey, statement []byte) *dsse.Envelope {
	t.Helper()
	sv, err := signature.LoadECDSASignerVerifier(key, crypto.SHA256)
	if err != nil {
		t.Fatalf("testenv: signer: %v", err)
	}
	raw, err := sigdsse.WrapSigner(sv, "application/vnd.in-toto+json").SignMessage(bytes.NewReader(statement))
	if err != nil {
		t.Fatalf("testenv: DSSE sign: %v", err)
	}
	env := &dsse.Envelope{}
	if err := json.Unmarshal(raw, env); err != nil || len(env.Signatures) != 1 {
		t.Fatalf("testenv: DSSE envelope: %v", err)
	}
	return env
}

// logEntry completes the virtual log's entry with what a bundle needs: the
// kind and version of the body and a signed entry timestamp (the inclusion
// promise), which the virtual log keeps unexported.
func (s *TestSigstore) logEntry(t testing.TB, e *tlog.Entry) *protorekor.TransparencyLogEntry {
	t.Helper()
	tle := e.TransparencyLogEntry()
	var body struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := json.Unmarshal(tle.GetCanonicalizedBody(), &body); err != nil {
		t.Fatalf("testenv: log entry body: %v", err)
	}
	set, err := s.vs.RekorSignPayload(tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(tle.GetCanonicalizedBody()),
		IntegratedTime: tle.GetIntegratedTime(),
		LogIndex:       tle.GetLogIndex(),
		LogID:          hex.EncodeToString(tle.GetLogId().GetKeyId()),
	})
	if err != nil {
		t.Fatalf("testenv: signed entry timestamp: %v", err)
	}
	tle.KindVersion = &protorekor.KindVersion{Kind: body.Kind, Version: body.APIVersion}
	tle.InclusionPromise = &protorekor.InclusionPromise{SignedEntryTimestamp: set}
	return tle
}
