package verify

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	httptransport "github.com/go-openapi/runtime/client"
	"github.com/go-openapi/strfmt"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	rekorclient "github.com/sigstore/rekor/pkg/generated/client"
	"github.com/sigstore/rekor/pkg/generated/models"
)

// Bounds of the Rekor lookups of tlog mode online. Rekor is a hostile
// input like the registry: what it answers is verified (the signed entry
// timestamp against the trusted root's Rekor keys, the body against the
// signature) and bounded before it is parsed.
const (
	// MaxRekorResponseBytes bounds one Rekor answer. A hashedrekord entry
	// with a Fulcio certificate, its signed entry timestamp and inclusion
	// proof is under 10 KiB; a longer answer is refused.
	MaxRekorResponseBytes = 64 << 10
	// MaxRekorCacheEntries bounds the lookups remembered (by Rekor URL and
	// signature digest): each holds at most one entry of at most
	// MaxRekorResponseBytes, so the cache holds at most 32 MiB; an answer
	// is a few KiB in practice (2.1 KiB with the test CA's certificate,
	// more with a public-good certificate and inclusion proof), so a full
	// cache holds a few MiB. The oldest is dropped first.
	MaxRekorCacheEntries = 512
	// rekorTimeout bounds one Rekor request, connection to last byte.
	rekorTimeout = 10 * time.Second
)

// errRekorResponseTooLarge marks an answer over MaxRekorResponseBytes.
var errRekorResponseTooLarge = fmt.Errorf("answer longer than %d bytes", MaxRekorResponseBytes)

// rekor looks up transparency log entries in Rekor v1 APIs, counting and
// caching its requests. One serves every policy; the URL comes from each
// policy. It is safe for concurrent use.
type rekor struct {
	http     *http.Client
	requests atomic.Int64

	mu    sync.Mutex
	cache map[[sha256.Size]byte]*models.LogEntryAnon // nil value: Rekor has none
	order [][sha256.Size]byte                        // insertion order, for eviction
}

func newRekor() *rekor {
	r := &rekor{cache: map[[sha256.Size]byte]*models.LogEntryAnon{}}
	r.http = &http.Client{Transport: &rekorTransport{next: http.DefaultTransport, sent: &r.requests}, Timeout: rekorTimeout}
	return r
}

// rekorCall records what the transport saw of one lookup's request, so
// that the error can be classified whatever go-openapi made of the body.
type rekorCall struct {
	status   int
	tooLarge bool
}

type rekorCallKey struct{}

// rekorTransport counts requests, records each answer's status and cuts
// bodies at MaxRekorResponseBytes.
type rekorTransport struct {
	next http.RoundTripper
	sent *atomic.Int64
}

func (t *rekorTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	t.sent.Add(1)
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	call, _ := req.Context().Value(rekorCallKey{}).(*rekorCall)
	if call != nil {
		call.status = resp.StatusCode
	}
	if resp.ContentLength > MaxRekorResponseBytes {
		_ = resp.Body.Close()
		if call != nil {
			call.tooLarge = true
		}
		return nil, errRekorResponseTooLarge
	}
	resp.Body = &boundedBody{rc: resp.Body, left: MaxRekorResponseBytes, call: call}
	return resp, nil
}

type boundedBody struct {
	rc   io.ReadCloser
	left int64
	call *rekorCall
}

func (b *boundedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// One more byte than allowed tells a long body from an exact one.
		var one [1]byte
		if n, _ := b.rc.Read(one[:]); n > 0 {
			if b.call != nil {
				b.call.tooLarge = true
			}
			return 0, errRekorResponseTooLarge
		}
		return b.rc.Read(p)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *boundedBody) Close() error { return b.rc.Close() }

// rekorError is a lookup that failed; transient ones make the outcome
// Unavailable (retry), the others are reported with the signature.
type rekorError struct {
	url       string
	transient bool
	err       error
}

func (e *rekorError) Error() string { return fmt.Sprintf("Rekor %s: %v", e.url, e.err) }
func (e *rekorError) Unwrap() error { return e.err }

// lookup returns the entry Rekor at base holds for the hashedrekord of a
// signature (base64 signature, signed payload, PEM certificate or key), or
// nil when it holds none. One POST /api/v1/log/entries/retrieve per
// signature not yet cached (cosign.FindTlogEntry, which also drops entries
// whose body does not hash to their UUID); the answer, found or not, is
// cached. The entry is returned unverified: the caller verifies it as it
// verifies an entry carried by the signature.
func (r *rekor) lookup(ctx context.Context, base, b64sig string, payload, pubPEM []byte) (*models.LogEntryAnon, error) {
	key := rekorCacheKey(base, b64sig, payload, pubPEM)
	if e, ok := r.cached(key); ok {
		return e, nil
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, &rekorError{url: base, err: err}
	}
	path := u.Path
	if path == "" || path == "/" {
		path = rekorclient.DefaultBasePath
	}
	rt := httptransport.NewWithClient(u.Host, path, []string{u.Scheme}, r.http)
	client := rekorclient.New(rt, strfmt.Default)
	call := &rekorCall{}
	entries, err := cosign.FindTlogEntry(context.WithValue(ctx, rekorCallKey{}, call), client, b64sig, payload, pubPEM)
	var entry *models.LogEntryAnon
	switch {
	case err == nil && len(entries) > 0:
		entry = &entries[0]
		if err := checkEntryFields(entry); err != nil {
			return nil, &rekorError{url: base, err: err}
		}
	case err == nil, call.status == http.StatusNotFound,
		call.status == http.StatusOK && !call.tooLarge && isNotFound(err):
		// No entry for this signature.
	default:
		return nil, classifyRekor(ctx, base, call, err)
	}
	r.remember(key, entry)
	return entry, nil
}

// isNotFound matches cosign.FindTlogEntry's error for an empty answer.
func isNotFound(err error) bool {
	return err != nil && err.Error() == "signature not found in transparency log"
}

func classifyRekor(ctx context.Context, base string, call *rekorCall, err error) *rekorError {
	switch {
	case call.tooLarge || errors.Is(err, errRekorResponseTooLarge):
		return &rekorError{url: base, err: fmt.Errorf("%w; a Rekor entry is a few KiB", errRekorResponseTooLarge)}
	case ctx.Err() != nil, call.status == 0:
		// No answer at all: refused, reset, unresolvable, timed out.
		return &rekorError{url: base, transient: true, err: err}
	case call.status >= 500, call.status == http.StatusTooManyRequests, call.status == http.StatusRequestTimeout:
		return &rekorError{url: base, transient: true, err: fmt.Errorf("HTTP %d: %w", call.status, err)}
	default:
		return &rekorError{url: base, err: fmt.Errorf("HTTP %d: %w", call.status, err)}
	}
}

// checkEntryFields refuses an entry cosign would dereference or
// type-assert without checking.
func checkEntryFields(e *models.LogEntryAnon) error {
	if e.IntegratedTime == nil || e.LogIndex == nil || e.LogID == nil || e.Verification == nil || len(e.Verification.SignedEntryTimestamp) == 0 {
		return errors.New("entry without integratedTime, logIndex, logID or signed entry timestamp")
	}
	if _, ok := e.Body.(string); !ok {
		return errors.New("entry body is not a base64 string")
	}
	return nil
}

func rekorCacheKey(base, b64sig string, payload, pubPEM []byte) [sha256.Size]byte {
	h := sha256.New()
	for _, part := range [][]byte{[]byte(base), []byte(b64sig), payload, pubPEM} {
		h.Write([]byte(strconv.Itoa(len(part)) + ":"))
		h.Write(part)
	}
	var k [sha256.Size]byte
	h.Sum(k[:0])
	return k
}

func (r *rekor) cached(k [sha256.Size]byte) (*models.LogEntryAnon, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.cache[k]
	return e, ok
}

func (r *rekor) remember(k [sha256.Size]byte, e *models.LogEntryAnon) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.cache[k]; ok {
		return
	}
	if len(r.order) >= MaxRekorCacheEntries {
		delete(r.cache, r.order[0])
		r.order = r.order[1:]
	}
	r.cache[k] = e
	r.order = append(r.order, k)
}

// cacheLen is how many lookups are remembered.
func (r *rekor) cacheLen() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.cache)
}
