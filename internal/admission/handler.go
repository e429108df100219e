package admission

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/imagegate/imagegate/internal/verify"

	"github.com/imagegate/imagegate/internal/policy"
)

// Defaults of Options.
const (
	// DefaultTimeout is the overall deadline of one request: inside the
	// configuration's timeoutSeconds (10), with room for the network.
	DefaultTimeout = 8 * time.Second
	// MaxTimeout is the configuration's timeoutSeconds: a deadline beyond it
	// would let the API server give up first.
	MaxTimeout = 10 * time.Second
	// maxBody is the largest review read, as controller-runtime's: an
	// object and its old version of up to etcd's 1.5 MiB each, and slack.
	maxBody = 7 << 20
)

// Deps are the parts the webhook decides with. Policies, Records and
// Checker are required; Owners and Recorder may be nil (no child
// approvals; nothing recorded).
type Deps struct {
	Policies PolicySource
	Owners   OwnerReader
	Records  RecordReader
	Checker  ImageChecker
	Recorder Recorder
	// Credentials, when set, makes each verification pull with the pod
	// spec's imagePullSecrets and ServiceAccount, the process's
	// credentials as the fallback; nil: the process's alone.
	Credentials PullCredentials
}

// Options configure a Handler.
type Options struct {
	// ExemptNamespaces are admitted unchecked (kube-system and the
	// webhook's own namespace, typically).
	ExemptNamespaces []string
	// ExemptImages are globs (policy glob syntax) of images admitted
	// unchecked.
	ExemptImages []string
	// TrustedWriters are the usernames that may create, update and delete
	// ImageVerifications (system:serviceaccount:NS:NAME of imagegate).
	TrustedWriters []string
	// PodsOnly checks Pods and admits every other kind unchecked.
	PodsOnly bool
	// Timeout is the overall deadline of one request; default
	// DefaultTimeout, at most MaxTimeout.
	Timeout time.Duration
	// MaxImagesPerObject is how many distinct images one object may name;
	// an object naming more is denied with none of them checked. Default
	// DefaultMaxImagesPerObject.
	MaxImagesPerObject int
	// Audit receives one JSON line per request; default os.Stderr.
	Audit io.Writer
	// Log receives operational errors; default discarded.
	Log *slog.Logger
	// Metrics, if set, counts decisions and latency.
	Metrics *Metrics
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Handler serves admission reviews (admission.k8s.io/v1) over HTTP: mount
// it on controller-runtime's webhook server.
type Handler struct {
	opts    Options
	deps    deps
	trusted map[string]bool
	audit   *auditor
}

// ErrInvalidOptions wraps every reason NewHandler refuses its options.
var ErrInvalidOptions = errors.New("invalid admission webhook options")

// NewHandler returns a Handler.
func NewHandler(d Deps, opts Options) (*Handler, error) {
	if d.Policies == nil || d.Records == nil || d.Checker == nil {
		return nil, fmt.Errorf("%w: Policies, Records and Checker are required", ErrInvalidOptions)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Timeout >= MaxTimeout {
		return nil, fmt.Errorf("%w: timeout %s must be below the webhook's timeoutSeconds (%s)", ErrInvalidOptions, opts.Timeout, MaxTimeout)
	}
	if opts.MaxImagesPerObject < 0 {
		return nil, fmt.Errorf("%w: max images per object %d must not be negative", ErrInvalidOptions, opts.MaxImagesPerObject)
	}
	if opts.MaxImagesPerObject == 0 {
		opts.MaxImagesPerObject = DefaultMaxImagesPerObject
	}
	if opts.Audit == nil {
		opts.Audit = os.Stderr
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &Handler{opts: opts, trusted: map[string]bool{}, audit: newAuditor(opts.Audit)}
	for _, w := range opts.TrustedWriters {
		h.trusted[w] = true
	}
	if opts.PodsOnly {
		// With --pods-only, controllers are admitted unchecked: their
		// templates prove nothing about their Pods' images.
		d.Owners = nil
	}
	h.deps = deps{policies: d.Policies, owners: d.Owners, records: d.Records, checker: d.Checker, recorder: d.Recorder,
		credentials: d.Credentials, log: opts.Log, now: opts.Now, exemptNamespaces: map[string]bool{}}
	for _, ns := range opts.ExemptNamespaces {
		h.deps.exemptNamespaces[ns] = true
	}
	for _, g := range opts.ExemptImages {
		glob, err := policy.ParseGlob(g)
		if err != nil {
			return nil, fmt.Errorf("%w: exempt image %q: %w", ErrInvalidOptions, g, err)
		}
		h.deps.exemptImages = append(h.deps.exemptImages, glob)
	}
	if opts.Metrics != nil {
		h.deps.onRecordError = opts.Metrics.recordErrors.Inc
	}
	return h, nil
}

// bodies recycles request buffers: an unchanged Deployment UPDATE is tens
// of KB, and allocating them afresh is a large part of a request's cost.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooled keeps the rare huge review from pinning its buffer.
const maxPooled = 1 << 20

func putBody(b *bytes.Buffer) {
	if b.Cap() <= maxPooled {
		bodies.Put(b)
	}
}

// ServeHTTP answers one AdmissionReview. A body that is not a review (no
// readable uid) gets HTTP 400; a review that cannot be judged (unknown
// kind, malformed object) gets a denial naming the problem, never a
// panic.
func (h *Handler) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	reserveStack(0)
	start := h.opts.Now()
	if req.Method != http.MethodPost {
		http.Error(w, "admission reviews are POSTed", http.StatusMethodNotAllowed)
		return
	}
	buf, ok := readBody(w, req)
	if !ok {
		return
	}
	rv, err := decodeReview(buf.Bytes())
	putBody(buf)
	var out outcome
	switch {
	case err != nil && (rv == nil || rv.UID == ""):
		h.opts.Log.ErrorContext(req.Context(), "malformed admission review", "error", err)
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	case err != nil:
		// The uid came before the part that does not decode: answer with
		// a denial that says why, which the API server shows the user.
		out = refused(verify.ReasonMalformedObject, fmt.Sprintf("%s of %s %q cannot be read: %v", rv.Operation, rv.Kind, rv.displayName(), err))
	default:
		ctx, cancel := context.WithTimeout(req.Context(), h.opts.Timeout)
		out = h.decide(ctx, rv)
		cancel()
	}
	writeResponse(w, rv.UID, &out)
	latency := h.opts.Now().Sub(start)
	h.audit.write(req.Context(), start, rv, &out, latency)
	if h.opts.Metrics != nil {
		h.opts.Metrics.observe(&out, latency)
	}
}

// stackReserve is the stack ServeHTTP asks for before it starts. net/http
// serves each request on a new goroutine whose stack starts small; the
// chain grew it while deep in policy matching, and growing a stack copies
// and adjusts every frame on it: 7% of the webhook's CPU on a Pod CREATE
// under ../shared/bench (pprof: runtime.newstack under policy.(*Set).match).
// Growing it once at the top, a dozen frames deep, costs a fraction.
const stackReserve = 8 << 10

// reserveStack has a frame of stackReserve bytes, so that calling it
// grows the stack once to hold the whole request.
//
//go:noinline
func reserveStack(i int) byte {
	var b [stackReserve]byte
	b[i%stackReserve] = 1
	return b[(i+1)%stackReserve]
}

// readBody reads the request body into a pooled buffer, or answers the
// error itself.
func readBody(w http.ResponseWriter, req *http.Request) (*bytes.Buffer, bool) {
	buf, _ := bodies.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	buf.Reset()
	if n := req.ContentLength; n > 0 && n <= maxBody {
		buf.Grow(int(n))
	}
	_, err := buf.ReadFrom(io.LimitReader(req.Body, maxBody+1))
	switch {
	case err != nil:
		putBody(buf)
		http.Error(w, "reading the review: "+err.Error(), http.StatusBadRequest)
		return nil, false
	case buf.Len() > maxBody:
		putBody(buf)
		http.Error(w, fmt.Sprintf("review larger than %d bytes", maxBody), http.StatusRequestEntityTooLarge)
		return nil, false
	}
	return buf, true
}
