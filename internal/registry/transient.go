package registry

import (
	"context"
	"errors"
	"io"
	"net"
	"net/url"
	"syscall"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// IsTransient reports whether err is worth retrying: timeouts, refused,
// reset or dropped connections, 5xx, 429 (and anything wrapped in
// ErrUnavailable). Everything else is permanent, including the caller's own
// cancellation, oversized or lying manifests and redirect loops. It accepts
// errors that did not pass through this package (cosign's, ggcr's), so the
// verifiers can classify their failures the same way.
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	if errorsIsAny(err, permanent...) {
		return false
	}
	var te *transport.Error
	if errors.As(err, &te) {
		return transientStatus(te.StatusCode)
	}
	return transientNetwork(err)
}

func transientNetwork(err error) bool {
	switch {
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	case errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	// A bare EOF from a round trip is a server that hung up before
	// answering; elsewhere EOF means something else.
	var ue *url.Error
	return errors.As(err, &ue) && errors.Is(ue.Err, io.EOF)
}
