package testenv

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	protobundle "github.com/sigstore/protobuf-specs/gen/pb-go/bundle/v1"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	protodsse "github.com/sigstore/protobuf-specs/gen/pb-go/dsse"
	protorekor "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/intoto/v0.0.2" // registers the kind a DSSE bundle is logged as
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	"github.com/sigstore/sigstore-go/pkg/tlog"
)

const inTotoPayloadType = "application/vnd.in-toto+json"

// SignBundleWithKey signs d with key as cosign 3 does with `--key` and the
// log left on: a DSSE in-toto statement with the cosign sign predicate, a
// bundle whose verification material is the key, and the intoto entry of
// s's log with its inclusion proof and signed entry timestamp; pushed as a
// bundle referrer of d.
func (s *TestSigstore) SignBundleWithKey(t testing.TB, d name.Digest, key *CosignKey) {
	t.Helper()
	statement := statementFor(t, d)
	sig, err := key.signer.SignMessage(bytes.NewReader(dssePAE(inTotoPayloadType, statement)))
	if err != nil {
		t.Fatalf("testenv: sign %s: %v", d, err)
	}
	envelope, err := json.Marshal(map[string]any{
		"payloadType": inTotoPayloadType,
		"payload":     base64.StdEncoding.EncodeToString(statement),
		"signatures":  []map[string]string{{"keyid": "", "sig": base64.StdEncoding.EncodeToString(sig)}},
	})
	if err != nil {
		t.Fatalf("testenv: envelope: %v", err)
	}
	body := canonicalBody(t, "intoto", "0.0.2", types.ArtifactProperties{
		ArtifactBytes: envelope, PublicKeyBytes: [][]byte{key.PublicPEM}, PKIFormat: "x509",
	})
	proof, err := s.vs.GetInclusionProof(body)
	if err != nil {
		t.Fatalf("testenv: inclusion proof: %v", err)
	}
	logID, err := s.vs.RekorLogID()
	if err != nil {
		t.Fatalf("testenv: rekor log id: %v", err)
	}
	rawID, err := hex.DecodeString(logID)
	if err != nil {
		t.Fatalf("testenv: rekor log id: %v", err)
	}
	entry, err := tlog.NewEntry(body, time.Now().Unix(), 0, rawID, nil, proof) //nolint:staticcheck // the API form is what a log answers
	if err != nil {
		t.Fatalf("testenv: log entry: %v", err)
	}
	pb := &protobundle.Bundle{
		MediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
		VerificationMaterial: &protobundle.VerificationMaterial{
			Content:     &protobundle.VerificationMaterial_PublicKey{PublicKey: &protocommon.PublicKeyIdentifier{Hint: ""}},
			TlogEntries: []*protorekor.TransparencyLogEntry{s.logEntry(t, entry)},
		},
		Content: &protobundle.Bundle_DsseEnvelope{DsseEnvelope: &protodsse.Envelope{
			Payload:     statement,
			PayloadType: inTotoPayloadType,
			Signatures:  []*protodsse.Signature{{Sig: sig}},
		}},
	}
	b, err := sgbundle.NewBundle(pb)
	if err != nil {
		t.Fatalf("testenv: bundle: %v", err)
	}
	raw, err := b.MarshalJSON()
	if err != nil {
		t.Fatalf("testenv: encode bundle: %v", err)
	}
	s.pushBundle(t, d, raw)
}

// dssePAE is DSSE's pre-authentication encoding, what a DSSE signature
// signs.
func dssePAE(payloadType string, payload []byte) []byte {
	return fmt.Appendf(nil, "DSSEv1 %d %s %d %s", len(payloadType), payloadType, len(payload), payload)
}

// canonicalBody is the body Rekor logs for a proposed entry of kind and
// version: Rekor's own canonical JSON.
func canonicalBody(t testing.TB, kind, version string, props types.ArtifactProperties) []byte {
	t.Helper()
	pe, err := types.NewProposedEntry(t.Context(), kind, version, props)
	if err != nil {
		t.Fatalf("testenv: %s entry: %v", kind, err)
	}
	impl, err := types.CreateVersionedEntry(pe)
	if err != nil {
		t.Fatalf("testenv: %s entry: %v", kind, err)
	}
	can, err := types.CanonicalizeEntry(t.Context(), impl)
	if err != nil {
		t.Fatalf("testenv: canonical %s entry: %v", kind, err)
	}
	return can
}
