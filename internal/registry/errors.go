package registry

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Sentinel errors, matched with errors.Is.
var (
	// ErrTagNotFound: the registry does not know the tag (404,
	// MANIFEST_UNKNOWN or NAME_UNKNOWN).
	ErrTagNotFound = errors.New("tag not found in registry")
	// ErrNotPullable: the registry refuses to serve something a pull needs
	// (401, 403, 404, 412, ...), or the image lacks a configured platform.
	// The chain holds a *PullError with the registry's own message.
	ErrNotPullable = errors.New("image is not pullable")
	// ErrManifestTooLarge: a manifest or referrers response exceeds
	// Options.MaxManifestBytes.
	ErrManifestTooLarge = errors.New("manifest exceeds the size limit")
	// ErrDigestMismatch: content fetched by digest does not hash to it.
	ErrDigestMismatch = errors.New("content does not match its digest")
	// ErrTooManyRedirects: one request was redirected more than
	// Options.MaxRedirects times.
	ErrTooManyRedirects = errors.New("too many redirects")
	// ErrUnavailable wraps transient failures (timeouts, refused or reset
	// connections, 5xx, 429): retry later, never cache as a denial.
	ErrUnavailable = errors.New("registry unavailable, retry later")
	// ErrInsecureNotAllowed: a request would use plain HTTP but the client
	// was built without Options.AllowInsecure.
	ErrInsecureNotAllowed = errors.New("plain HTTP to the registry is not allowed")
)

// PullError is the registry's answer to a request that a pull needs. Status
// is 0 when the registry answered fine but the image lacks what a pull
// needs (a configured platform). It matches ErrNotPullable; Classify tells
// a missing manifest and refused or missing credentials from other
// refusals.
type PullError struct {
	Status  int
	Message string
	URL     string // without query: redirect URLs may carry signed tokens
	// failure is what Classify says, decided from the refused request
	// when the error was made; empty for errors built without one.
	failure Failure
}

// newPullError records the registry's refusal of req (nil when unknown).
func newPullError(status int, message string, req *http.Request) *PullError {
	pe := &PullError{Status: status, Message: message}
	if req != nil && req.URL != nil {
		pe.URL = redactURL(req.URL)
		pe.failure = statusFailure(status, req)
	}
	return pe
}

// Error renders the status, the URL and the registry's message.
func (e *PullError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("%s: %s", e.URL, e.Message)
	}
	return fmt.Sprintf("registry answered %d %s for %s: %s", e.Status, http.StatusText(e.Status), e.URL, e.Message)
}

// Is makes every PullError match ErrNotPullable.
func (e *PullError) Is(target error) bool { return target == ErrNotPullable }

func (e *PullError) classify() Failure {
	switch {
	case e.failure != FailureNone:
		return e.failure
	case e.Status == 0:
		return FailureRefused
	}
	return statusFailure(e.Status, nil)
}

// permanent lists the sentinels that classify returns as they are.
var permanent = []error{
	ErrManifestTooLarge, ErrDigestMismatch, ErrTooManyRedirects,
	ErrInsecureNotAllowed, ErrNotPullable, ErrTagNotFound, ErrByteBudgetExceeded,
}

// classify wraps an error of a registry operation on subject with the
// package's sentinels, as Classify decides: ErrUnavailable, ErrTagNotFound,
// or a *PullError carrying the registry's own message.
func classify(op, subject string, err error) error {
	f := Classify(err)
	switch {
	case f == FailureUnavailable && !errors.Is(err, ErrUnavailable):
		// Also when a refused plain-HTTP fallback of the ping is in err.
		return fmt.Errorf("%s %s: %w: %w", op, subject, ErrUnavailable, err)
	case f == FailureUnavailable || errorsIsAny(err, permanent...):
		return fmt.Errorf("%s %s: %w", op, subject, err)
	}
	var te *transport.Error
	if !errors.As(err, &te) {
		return fmt.Errorf("%s %s: %w", op, subject, err)
	}
	if f == FailureTagNotFound {
		return fmt.Errorf("%s %s: %w; push the tag or fix the reference: %w", op, subject, ErrTagNotFound, te)
	}
	pe := newPullError(te.StatusCode, diagnostics(te), te.Request)
	return fmt.Errorf("%s %s: %w", op, subject, pe)
}

// diagnostics joins the registry's error messages; ggcr's own rendering is
// the fallback when the body had none (HEAD responses, plain-text bodies).
func diagnostics(te *transport.Error) string {
	msgs := make([]string, 0, len(te.Errors))
	for _, d := range te.Errors {
		msgs = append(msgs, diagnosticText(string(d.Code), d.Message))
	}
	if len(msgs) == 0 {
		return te.Error()
	}
	return strings.Join(msgs, "; ")
}

func diagnosticText(code, msg string) string {
	switch {
	case code == "":
		return msg
	case msg == "":
		return code
	}
	return code + ": " + msg
}

func transientStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
}
