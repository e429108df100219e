package verify

import (
	"context"
	"fmt"

	"github.com/imagegate/imagegate/internal/registry"
)

// RegistryVerdict is the result and reason every role reports for a
// registry error, as registry.Classify decides: Unavailable for anything
// transient or cut short (never cached as a denial: the gate retries with
// backoff, the webhook denies with a transient message, imagegate verify
// exits 3); TagNotFound, ManifestNotFound, CredentialsRejected and
// CredentialsMissing as such; any other refusal is the step's own reason
// (NotPullable when resolving or probing, SignatureUnreadable when
// reading signatures). hint says what to do, for the message.
func RegistryVerdict(ctx context.Context, err error, refused Reason) (Result, Reason, string) {
	f := registry.Classify(err)
	if f == registry.FailureUnavailable || f == registry.FailureCanceled || ctx.Err() != nil {
		return ResultUnavailable, ReasonUnavailable, "transient: retry"
	}
	switch f {
	case registry.FailureTagNotFound:
		return ResultDenied, ReasonTagNotFound, "push the tag or fix the reference"
	case registry.FailureManifestNotFound:
		return ResultDenied, ReasonManifestNotFound, "the registry holds no manifest with this digest; push the image or fix the digest"
	case registry.FailureCredentialsRejected:
		return ResultDenied, ReasonCredentialsRejected, "the registry refused the credentials imagegate sent; check that the pull secret is current and grants pull access to the repository"
	case registry.FailureCredentialsMissing:
		return ResultDenied, ReasonCredentialsMissing, "the registry wants credentials and imagegate has none for this repository; give it a pull secret"
	}
	return ResultDenied, refused, ""
}

// withHint appends a hint to a message, when there is one.
func withHint(msg, hint string) string {
	if hint == "" {
		return msg
	}
	return fmt.Sprintf("%s (%s)", msg, hint)
}
