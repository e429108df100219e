package testenv

import (
	"crypto"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// TUFRepo is a TUF repository made at test time with go-tuf/v2's metadata
// package (one ed25519 key per top-level role, threshold 1), laid out and
// served as Sigstore's mirror is, with consistent snapshots:
// N.root.json, timestamp.json, N.snapshot.json, N.targets.json and
// targets/SHA256.NAME, over HTTP on 127.0.0.1. It counts the requests it
// answers and can be taken down (every request then gets a 503).
type TUFRepo struct {
	t    testing.TB
	srv  *httptest.Server
	keys map[string]ed25519.PrivateKey

	mu        sync.Mutex
	root      *metadata.Metadata[metadata.RootType]
	rootJSON  []byte // 1.root.json, the client's trust anchor
	targets   *metadata.Metadata[metadata.TargetsType]
	snapshot  *metadata.Metadata[metadata.SnapshotType]
	timestamp *metadata.Metadata[metadata.TimestampType]
	files     map[string][]byte // served path -> content
	requests  []string
	down      bool
}

// NewTUFRepo creates a repository holding the given targets (name ->
// content) and serves it.
func NewTUFRepo(t testing.TB, targets map[string][]byte) *TUFRepo {
	t.Helper()
	r := &TUFRepo{t: t, keys: map[string]ed25519.PrivateKey{}, files: map[string][]byte{}}
	r.root = metadata.Root(time.Now().Add(365 * 24 * time.Hour))
	for _, role := range []string{metadata.ROOT, metadata.TARGETS, metadata.SNAPSHOT, metadata.TIMESTAMP} {
		_, priv, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatalf("testenv: tuf key: %v", err)
		}
		key, err := metadata.KeyFromPublicKey(priv.Public())
		if err != nil {
			t.Fatalf("testenv: tuf key: %v", err)
		}
		if err := r.root.Signed.AddKey(key, role); err != nil {
			t.Fatalf("testenv: tuf root key: %v", err)
		}
		r.keys[role] = priv
	}
	tufSign(t, r.root, r.keys[metadata.ROOT])
	r.rootJSON = tufEncode(t, r.root)
	r.files["1.root.json"] = r.rootJSON
	r.targets = metadata.Targets(time.Now().Add(7 * 24 * time.Hour))
	r.targets.Signed.Version = 0
	r.snapshot = metadata.Snapshot(time.Now().Add(7 * 24 * time.Hour))
	r.snapshot.Signed.Version = 0
	r.timestamp = metadata.Timestamp(time.Now().Add(24 * time.Hour))
	r.timestamp.Signed.Version = 0
	r.mu.Lock()
	for name, data := range targets {
		r.addTarget(name, data)
	}
	r.publish(time.Now().Add(24 * time.Hour))
	r.mu.Unlock()
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

// URL is the repository's base URL (http://127.0.0.1:PORT).
func (r *TUFRepo) URL() string { return r.srv.URL }

// Root is the repository's first root.json: what a client embeds as its
// trust anchor, as sigstore-go embeds the public-good one.
func (r *TUFRepo) Root() []byte { return append([]byte(nil), r.rootJSON...) }

// SetTarget adds or replaces a target and publishes new targets, snapshot
// and timestamp versions.
func (r *TUFRepo) SetTarget(name string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addTarget(name, data)
	r.publish(time.Now().Add(24 * time.Hour))
}

// ExpireTimestamp publishes a new timestamp version that expired an hour
// ago, as a mirror frozen in the past (or an attacker replaying) serves.
func (r *TUFRepo) ExpireTimestamp() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timestamp.Signed.Version++
	r.timestamp.Signed.Expires = time.Now().Add(-time.Hour)
	r.signTimestamp()
}

// TamperTarget serves data in place of a target's content, under the
// name its signed hash gives it, and publishes new metadata versions
// without changing the target's entry: what a mirror (or a CDN in front
// of it) serving other bytes does.
func (r *TUFRepo) TamperTarget(name string, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tf := r.targets.Signed.Targets[name]
	r.files[fmt.Sprintf("targets/%s.%s", hex.EncodeToString(tf.Hashes["sha256"]), name)] = data
	// A new targets version makes clients look at the target again.
	r.publish(time.Now().Add(24 * time.Hour))
}

// SetDown makes every request fail with 503 (down) or be served again.
func (r *TUFRepo) SetDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// Requests returns the paths requested so far, in order, and forgets them.
func (r *TUFRepo) Requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.requests
	r.requests = nil
	return out
}

func (r *TUFRepo) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.requests = append(r.requests, req.URL.Path)
	data, ok := r.files[strings.TrimPrefix(req.URL.Path, "/")]
	down := r.down
	r.mu.Unlock()
	switch {
	case req.Method != http.MethodGet:
		http.Error(w, "GET only", http.StatusMethodNotAllowed)
	case down:
		http.Error(w, "down", http.StatusServiceUnavailable)
	case !ok:
		http.NotFound(w, req)
	default:
		_, _ = w.Write(data)
	}
}

// addTarget records a target in the targets metadata and serves its
// content under its hash-prefixed name. Callers hold mu.
func (r *TUFRepo) addTarget(name string, data []byte) {
	tf, err := metadata.TargetFile().FromBytes(name, data, "sha256")
	if err != nil {
		r.t.Fatalf("testenv: tuf target %s: %v", name, err)
	}
	r.targets.Signed.Targets[name] = tf
	r.files[fmt.Sprintf("targets/%s.%s", hex.EncodeToString(tf.Hashes["sha256"]), name)] = data
}

// publish signs and serves the next targets, snapshot and timestamp
// versions. Callers hold mu.
func (r *TUFRepo) publish(timestampExpires time.Time) {
	r.targets.Signed.Version++
	tufSign(r.t, r.targets, r.keys[metadata.TARGETS])
	r.files[fmt.Sprintf("%d.targets.json", r.targets.Signed.Version)] = tufEncode(r.t, r.targets)
	r.snapshot.Signed.Version++
	r.snapshot.Signed.Meta["targets.json"] = metadata.MetaFile(r.targets.Signed.Version)
	tufSign(r.t, r.snapshot, r.keys[metadata.SNAPSHOT])
	r.files[fmt.Sprintf("%d.snapshot.json", r.snapshot.Signed.Version)] = tufEncode(r.t, r.snapshot)
	r.timestamp.Signed.Version++
	r.timestamp.Signed.Expires = timestampExpires
	r.timestamp.Signed.Meta["snapshot.json"] = metadata.MetaFile(r.snapshot.Signed.Version)
	r.signTimestamp()
}

func (r *TUFRepo) signTimestamp() {
	tufSign(r.t, r.timestamp, r.keys[metadata.TIMESTAMP])
	r.files["timestamp.json"] = tufEncode(r.t, r.timestamp)
}

func tufSign[T metadata.Roles](t testing.TB, m *metadata.Metadata[T], key ed25519.PrivateKey) {
	t.Helper()
	signer, err := signature.LoadSigner(key, crypto.Hash(0))
	if err != nil {
		t.Fatalf("testenv: tuf signer: %v", err)
	}
	m.ClearSignatures()
	if _, err := m.Sign(signer); err != nil {
		t.Fatalf("testenv: tuf sign: %v", err)
	}
}

func tufEncode[T metadata.Roles](t testing.TB, m *metadata.Metadata[T]) []byte {
	t.Helper()
	b, err := m.ToBytes(false)
	if err != nil {
		t.Fatalf("testenv: tuf encode: %v", err)
	}
	return b
}
