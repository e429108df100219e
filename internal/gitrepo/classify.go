package gitrepo

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"golang.org/x/crypto/ssh/knownhosts"
)

// classifyTransport maps an error of a network operation to a sentinel, or
// nil when the error is none of the transport failures we know.
func classifyTransport(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.DeadlineExceeded):
		// The caller's deadline ran out while talking to the server: for the
		// caller this is a server too slow to answer, a transient failure.
		return ErrTimeout
	case errors.Is(err, transport.ErrAuthenticationRequired),
		errors.Is(err, transport.ErrAuthorizationFailed),
		errors.Is(err, transport.ErrInvalidAuthMethod):
		return ErrAuth
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return ErrRepositoryNotFound
	case errors.Is(err, transport.ErrEmptyRemoteRepository):
		return ErrBranchNotFound
	}
	for _, cause := range causes(err) {
		if kind := classifyCause(cause); kind != nil {
			return kind
		}
	}
	return nil
}

func classifyCause(err error) error {
	var keyErr *knownhosts.KeyError
	var revoked *knownhosts.RevokedError
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var netErr net.Error
	var statusErr *githttp.Err
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	switch {
	case errors.As(err, &keyErr), errors.As(err, &revoked):
		return ErrAuth
	case errors.As(err, &certErr), errors.As(err, &unknownCA), errors.As(err, &badHost):
		// The HTTPS twin of an unknown SSH host key: the server could not
		// prove who it is.
		return ErrAuth
	case isSSHAuthFailure(err):
		return ErrAuth
	case errors.As(err, &netErr) && netErr.Timeout():
		// A connection deadline (see deadline.go) or a dial timeout.
		return ErrTimeout
	case errors.As(err, &dnsErr), errors.As(err, &opErr):
		return ErrUnreachable
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// The connection ended before the server answered: it went away
		// in the middle of the exchange, as a restarting server does.
		return ErrUnreachable
	case errors.As(err, &statusErr) && statusErr.StatusCode() >= http.StatusInternalServerError:
		return ErrUnreachable
	}
	return nil
}

// isSSHAuthFailure recognises x/crypto/ssh's client authentication failure,
// which it reports only as text.
func isSSHAuthFailure(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "ssh: unable to authenticate") ||
		strings.Contains(msg, "ssh: no auth passed yet")
}

// causes returns err followed by the errors go-git hides inside its
// UnexpectedError and PermanentError, which have no Unwrap method.
func causes(err error) []error {
	var out []error
	for err != nil && len(out) < 8 {
		out = append(out, err)
		var unexpected *plumbing.UnexpectedError
		var permanent *plumbing.PermanentError
		switch {
		case errors.As(err, &unexpected):
			err = unexpected.Err
		case errors.As(err, &permanent):
			err = permanent.Err
		default:
			err = nil
		}
	}
	return out
}

// isRefUpdateRejection recognises a push refused by the server in its
// report-status (go-git reports those only as text).
func isRefUpdateRejection(err error) bool {
	msg := err.Error()
	return strings.Contains(msg, "command error on ") || strings.Contains(msg, "unpack error")
}
