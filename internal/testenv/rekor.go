package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/go-openapi/runtime"
	"github.com/go-openapi/swag/conv"
	"github.com/sigstore/rekor/pkg/generated/models"
	"github.com/sigstore/rekor/pkg/types"
	_ "github.com/sigstore/rekor/pkg/types/hashedrekord/v0.0.1" // registers the kind the fixtures log
	"github.com/sigstore/sigstore-go/pkg/tlog"
	"github.com/transparency-dev/merkle/rfc6962"
)

// RekorEntry is a transparency log entry as the Rekor v1 API serves it,
// keyed by its UUID (the hex RFC 6962 leaf hash of the body).
type RekorEntry struct {
	UUID  string
	Entry models.LogEntryAnon
}

// Rekor is a Rekor v1 API on 127.0.0.1 serving the entries added to it on
// POST /api/v1/log/entries/retrieve (the search by proposed entry that
// cosign.FindTlogEntry sends) as Rekor does: each proposed entry is
// canonicalized with Rekor's own types and looked up by leaf hash. It
// counts the requests it answers.
type Rekor struct {
	srv      *httptest.Server
	requests atomic.Int64

	mu      sync.Mutex
	entries map[string]models.LogEntryAnon
	// handler, when set, answers instead (a lying or broken Rekor).
	handler http.HandlerFunc
}

// NewRekor starts an empty log; it is closed in t.Cleanup.
func NewRekor(t testing.TB) *Rekor {
	t.Helper()
	r := &Rekor{entries: map[string]models.LogEntryAnon{}}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(func() {
		r.srv.CloseClientConnections()
		r.srv.Close()
	})
	return r
}

// URL is the log's base URL, what a policy's tlog.rekorURL names.
func (r *Rekor) URL() string { return r.srv.URL }

// Requests returns how many requests the log answered.
func (r *Rekor) Requests() int64 { return r.requests.Load() }

// Add makes the log hold e.
func (r *Rekor) Add(e RekorEntry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.entries[e.UUID] = e.Entry
}

// Answer replaces the log's behaviour by h, for a log that lies, fails or
// floods; nil restores it.
func (r *Rekor) Answer(h http.HandlerFunc) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.handler = h
}

// Close stops the log: later requests are refused connections.
func (r *Rekor) Close() {
	r.srv.CloseClientConnections()
	r.srv.Close()
}

// AnswerWith is a handler serving e, whatever was asked, as a search
// result: a log that lies.
func AnswerWith(e RekorEntry) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, []map[string]models.LogEntryAnon{{e.UUID: e.Entry}})
	}
}

func (r *Rekor) serve(w http.ResponseWriter, req *http.Request) {
	r.requests.Add(1)
	r.mu.Lock()
	h := r.handler
	r.mu.Unlock()
	if h != nil {
		h(w, req)
		return
	}
	if req.Method != http.MethodPost || req.URL.Path != "/api/v1/log/entries/retrieve" {
		http.Error(w, `{"code":404,"message":"not served by testenv.Rekor"}`, http.StatusNotFound)
		return
	}
	var q struct {
		Entries []json.RawMessage `json:"entries"`
	}
	if err := json.NewDecoder(io.LimitReader(req.Body, 1<<20)).Decode(&q); err != nil {
		http.Error(w, `{"code":400,"message":"bad query"}`, http.StatusBadRequest)
		return
	}
	results := []map[string]models.LogEntryAnon{}
	for _, raw := range q.Entries {
		uuid, err := leafUUIDOfProposed(req.Context(), raw)
		if err != nil {
			continue // a kind the fixture does not register
		}
		r.mu.Lock()
		e, ok := r.entries[uuid]
		r.mu.Unlock()
		if ok {
			results = append(results, map[string]models.LogEntryAnon{uuid: e})
		}
	}
	writeJSON(w, results)
}

// leafUUIDOfProposed canonicalizes a proposed entry as the Rekor server
// does and returns the UUID an equal logged entry has.
func leafUUIDOfProposed(ctx context.Context, raw []byte) (string, error) {
	pe, err := models.UnmarshalProposedEntry(bytes.NewReader(raw), runtime.JSONConsumer())
	if err != nil {
		return "", err
	}
	impl, err := types.CreateVersionedEntry(pe)
	if err != nil {
		return "", err
	}
	can, err := types.CanonicalizeEntry(ctx, impl)
	if err != nil {
		return "", err
	}
	return leafUUID(can), nil
}

func leafUUID(body []byte) string {
	return hex.EncodeToString(rfc6962.DefaultHasher.HashLeaf(body))
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// rekorEntry is the API form of a log entry over body at index and time,
// with a signed entry timestamp by s's virtual log.
func (s *TestSigstore) rekorEntry(t testing.TB, body []byte, integratedTime, logIndex int64) RekorEntry {
	t.Helper()
	logID, err := s.vs.RekorLogID()
	if err != nil {
		t.Fatalf("testenv: rekor log id: %v", err)
	}
	payload := tlog.RekorPayload{
		Body:           base64.StdEncoding.EncodeToString(body),
		IntegratedTime: integratedTime,
		LogIndex:       logIndex,
		LogID:          logID,
	}
	set, err := s.vs.RekorSignPayload(payload)
	if err != nil {
		t.Fatalf("testenv: signed entry timestamp: %v", err)
	}
	return RekorEntry{UUID: leafUUID(body), Entry: models.LogEntryAnon{
		Body:           payload.Body,
		IntegratedTime: conv.Pointer(integratedTime),
		LogIndex:       conv.Pointer(logIndex),
		LogID:          conv.Pointer(logID),
		Verification:   &models.LogEntryAnonVerification{SignedEntryTimestamp: set},
	}}
}

// hashedRekordBody is the canonical body Rekor logs for a signature sig over
// payload by the key or certificate in pubPEM.
func hashedRekordBody(t testing.TB, payload, sig, pubPEM []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(payload)
	return canonicalBody(t, "hashedrekord", "0.0.1", types.ArtifactProperties{
		ArtifactHash:   "sha256:" + hex.EncodeToString(sum[:]),
		SignatureBytes: sig,
		PublicKeyBytes: [][]byte{pubPEM},
		PKIFormat:      "x509",
	})
}
