package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strings"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Failure is what a failed registry operation means for a verdict. Every
// role decides from it: imagegate verify (its exit status), the gate
// (retry with backoff or block), the webhook (deny with a transient or a
// permanent message) and the verification cache (cache a denial briefly, or
// not at all). Classify is the only function that produces one.
type Failure string

// Failures.
const (
	// FailureNone: there was no error.
	FailureNone Failure = ""
	// FailureUnavailable: the registry could not be asked or did not
	// answer in time: connection refused or reset, a host that does not
	// resolve, a TLS handshake that failed (a certificate imagegate does
	// not trust or that is for another name), a timeout, 5xx, 429, 408.
	// Transient: retry; never cache as a denial. A TLS or DNS failure is
	// fixed by whoever runs the registry or the network, never by changing
	// the image, so denying the image for a while would only deny good
	// images.
	FailureUnavailable Failure = "Unavailable"
	// FailureCanceled: the caller's own context was cancelled. Nothing was
	// proven either way, but it is not the registry's fault and not worth
	// a retry by this caller.
	FailureCanceled Failure = "Canceled"
	// FailureTagNotFound: 404 on a manifest asked for by tag.
	FailureTagNotFound Failure = "TagNotFound"
	// FailureManifestNotFound: 404 on a manifest asked for by digest: the
	// registry does not hold that image (deleted, or never pushed there).
	FailureManifestNotFound Failure = "ManifestNotFound"
	// FailureCredentialsRejected: 401 or 403 to a request sent with
	// credentials for the repository: they are wrong, expired, or lack
	// pull access.
	FailureCredentialsRejected Failure = "CredentialsRejected"
	// FailureCredentialsMissing: 401 or 403 to an anonymous request: the
	// repository needs credentials and imagegate has none for it.
	FailureCredentialsMissing Failure = "CredentialsMissing"
	// FailureRefused: any other permanent refusal: other 4xx (a Harbor
	// policy blocking the pull, 404 on a blob, 412), an image without a
	// wanted platform, and what the guarded transport refuses (oversized
	// or lying manifests, redirect loops, the byte budget, plain HTTP
	// without --allow-insecure-registry).
	FailureRefused Failure = "Refused"
	// FailureOther: an error that is not a registry's answer (a parse
	// error, "no signatures found"); the caller's own context decides.
	FailureOther Failure = "Other"
)

// Classify decides what err, from any registry operation of this package
// or from go-containerregistry and cosign calls made with RemoteOptions,
// means for a verdict. It reads only err: statuses and URLs from
// *transport.Error and *PullError, whether credentials were sent from what
// the guarded transport noted on the refused request, network failures
// from the error chain.
//
// Order matters for go-containerregistry's ping of a loopback or insecure
// registry, which tries HTTPS and HTTP and reports both failures in one
// error: an attempt that failed on the network makes the registry
// Unavailable even though the other was refused as insecure (it was never
// sent); an answer to one attempt (503 over HTTP) decides over the other
// attempt's scheme mismatch; only an HTTPS attempt answered in plain HTTP
// with plain HTTP not allowed is Refused.
func Classify(err error) Failure {
	switch {
	case err == nil:
		return FailureNone
	case errors.Is(err, ErrUnavailable):
		return FailureUnavailable
	case errors.Is(err, context.Canceled):
		return FailureCanceled
	case errorsIsAny(err, ErrManifestTooLarge, ErrDigestMismatch, ErrTooManyRedirects, ErrByteBudgetExceeded):
		return FailureRefused
	case errors.Is(err, ErrTagNotFound):
		return FailureTagNotFound
	case unreachable(err):
		return FailureUnavailable
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return statusFailure(te.StatusCode, te.Request)
	}
	if errors.Is(err, ErrInsecureNotAllowed) || schemeMismatch(err) {
		return FailureRefused
	}
	var pe *PullError
	if errors.As(err, &pe) {
		return pe.classify()
	}
	return FailureOther
}

// IsTransient reports whether err is worth retrying: Classify says
// Unavailable. Everything else is permanent, including the caller's own
// cancellation, oversized or lying manifests and redirect loops.
func IsTransient(err error) bool { return Classify(err) == FailureUnavailable }

// statusFailure classifies a registry's answer to req (which may be nil).
func statusFailure(code int, req *http.Request) Failure {
	switch {
	case transientStatus(code):
		return FailureUnavailable
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		if req != nil && credentialsSent(req) {
			return FailureCredentialsRejected
		}
		return FailureCredentialsMissing
	case code == http.StatusNotFound && req != nil:
		return notFound(req)
	}
	return FailureRefused
}

// notFound tells a missing tag from a missing manifest by the path asked
// for: /v2/<name>/manifests/<tag or digest>. A 404 on anything else (a
// blob) is a refusal to serve part of the image.
func notFound(req *http.Request) Failure {
	kind, ref := apiPath(firstRequest(req).URL.Path)
	switch {
	case kind != "manifests":
		return FailureRefused
	case strings.Contains(ref, ":"):
		return FailureManifestNotFound
	}
	return FailureTagNotFound
}

// unreachable reports a failure to reach the registry or to get its whole
// answer in time: what a retry may cure.
func unreachable(err error) bool {
	if transientNetwork(err) {
		return true
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		return true
	}
	return tlsFailure(err)
}

// schemeMismatch reports a server that answered HTTPS in plain HTTP:
// plain HTTP is a choice (--allow-insecure-registry), not an outage.
func schemeMismatch(err error) bool {
	var header tls.RecordHeaderError
	return errors.Is(err, http.ErrSchemeMismatch) ||
		errors.As(err, &header) && string(header.RecordHeader[:]) == "HTTP/"
}

// tlsFailure reports a TLS handshake that failed: a certificate the
// client does not trust, one for another name, an expired one, or an alert
// from the server.
func tlsFailure(err error) bool {
	var (
		verr   *tls.CertificateVerificationError
		unk    x509.UnknownAuthorityError
		host   x509.HostnameError
		inv    x509.CertificateInvalidError
		alert  tls.AlertError
		header tls.RecordHeaderError
	)
	if errors.As(err, &header) && !schemeMismatch(err) {
		return true // not TLS at all: a proxy or another service on the port
	}
	return errors.As(err, &verr) || errors.As(err, &unk) || errors.As(err, &host) ||
		errors.As(err, &inv) || errors.As(err, &alert)
}
