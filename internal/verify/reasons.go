package verify

// Result is the verdict of a verification.
type Result string

// Results. Verify itself returns only Verified, Denied and Unavailable;
// Exception is recorded by callers that admit an image under a policy
// exception without verifying it.
const (
	// ResultVerified: enough authorities verified the exact digest.
	ResultVerified Result = "Verified"
	// ResultDenied: a permanent failure; retrying will not change it until
	// the image, its signatures or the policy change.
	ResultDenied Result = "Denied"
	// ResultException: admitted unverified under an active policy exception.
	ResultException Result = "Exception"
	// ResultUnavailable: the registry could not be asked (timeouts, 5xx,
	// 429, refused connections); retry, never cache as a denial.
	ResultUnavailable Result = "Unavailable"
)

// Reason is a machine-readable code saying why a Result was reached. Every
// reason imagegate reports is defined here.
type Reason string

// Reasons.
const (
	// ReasonVerified: the signatures of enough authorities verified.
	ReasonVerified Reason = "Verified"
	// ReasonNoSignature: the image has no cosign signature at all, neither a
	// legacy .sig tag nor a Sigstore bundle referrer. Sign the image.
	ReasonNoSignature Reason = "NoSignature"
	// ReasonNoMatchingSignature: signatures exist but none verified for any
	// authority (other key, other identity, or made for another digest).
	ReasonNoMatchingSignature Reason = "NoMatchingSignature"
	// ReasonThresholdNotMet: some authorities verified, fewer than the
	// policy's require rule needs.
	ReasonThresholdNotMet Reason = "ThresholdNotMet"
	// ReasonStaticFail: every authority that did not verify is a static
	// authority with action fail.
	ReasonStaticFail Reason = "StaticFail"
	// ReasonSignatureUnreadable: the registry answered the signature lookup
	// with a permanent error (401, 403, a malformed index) and nothing
	// verified. Check pull credentials and the signature artifacts.
	ReasonSignatureUnreadable Reason = "SignatureUnreadable"
	// ReasonSignatureLimit: the registry serves more signature material
	// than one verification reads (more than 32 legacy signatures or 32
	// bundle referrers, or more than --max-signature-bytes in all); a
	// registry doing so is hostile or broken, and a retry would read the
	// same. Remove stale signatures.
	ReasonSignatureLimit Reason = "SignatureLimitExceeded"
	// ReasonNotPullable: signatures verified but the registry refuses to
	// serve the image (pullability probe enabled in the policy).
	ReasonNotPullable Reason = "NotPullable"
	// ReasonUnavailable: the registry could not be asked (refused
	// connection, a host that does not resolve, a failed TLS handshake, a
	// timeout, 5xx, 429); transient, never cached as a denial.
	ReasonUnavailable Reason = "Unavailable"
	// ReasonTrustRootUnavailable: a keyless authority relies on Sigstore's
	// public-good trusted root and imagegate has none (the TUF mirror could
	// not be reached and nothing was persisted); transient, Result
	// Unavailable, never cached as a denial.
	ReasonTrustRootUnavailable Reason = "TrustRootUnavailable"
	// ReasonInvalidPolicy: the compiled policy cannot verify anything (no
	// authorities, a keyless authority without a trusted root, ...). Fix
	// the TrustPolicy.
	ReasonInvalidPolicy Reason = "InvalidPolicy"
	// ReasonNoPolicy: no TrustPolicy matches the image (orchestration).
	ReasonNoPolicy Reason = "NoPolicy"
	// ReasonTagNotFound: the tag does not exist in the registry
	// (orchestration, when resolving a tag to a digest).
	ReasonTagNotFound Reason = "TagNotFound"
	// ReasonManifestNotFound: the registry answered 404 for the manifest
	// of the digest (the pullability probe, or a lookup by digest): the
	// image was deleted or never pushed there. Permanent; cached for the
	// short denied TTL.
	ReasonManifestNotFound Reason = "ManifestNotFound"
	// ReasonCredentialsRejected: the registry answered 401 or 403 to a
	// request that carried credentials for the repository: they are wrong,
	// expired, or lack pull access. Fix the pull secret.
	ReasonCredentialsRejected Reason = "CredentialsRejected"
	// ReasonCredentialsMissing: the registry answered 401 or 403 to an
	// anonymous request: imagegate has no credentials for the repository.
	// Give it a pull secret.
	ReasonCredentialsMissing Reason = "CredentialsMissing"
	// ReasonInvalidReference: the image reference cannot be parsed
	// (orchestration).
	ReasonInvalidReference Reason = "InvalidReference"
	// ReasonCredentialsInvalid: the registry credentials the
	// ImageRepository names (secretRef, serviceAccountName, certSecretRef,
	// proxySecretRef, provider) cannot be read or used: a Secret missing
	// or malformed, a provider imagegate does not support; or a pull
	// secret of the pod (webhook) is not a docker config (orchestration).
	// Fix the ImageRepository, the pod spec or the Secrets.
	ReasonCredentialsInvalid Reason = "CredentialsInvalid"
	// ReasonException: admitted under an active policy exception
	// (orchestration); recorded as unverified.
	ReasonException Reason = "Exception"
)

// Format says how a signature was stored and checked.
type Format string

// Formats.
const (
	// FormatBundle: a Sigstore bundle attached as an OCI referrer (cosign 3).
	FormatBundle Format = "bundle"
	// FormatLegacy: a simple-signing signature in a sha256-<hex>.sig tag
	// (cosign 2 default).
	FormatLegacy Format = "legacy"
	// FormatStatic: a static authority; nothing was read from the image.
	FormatStatic Format = "static"
)

// Reasons of the admission webhook's paths and requests (internal/admission).
const (
	// ReasonExempt: the namespace or the image is exempt (--exempt-namespaces,
	// --exempt-images), or the kind is not checked (--pods-only).
	ReasonExempt Reason = "Exempt"
	// ReasonUnchanged: the reference was already in the object before the
	// update.
	ReasonUnchanged Reason = "Unchanged"
	// ReasonOwnerTemplate: the object's controller has the reference in its
	// pod template.
	ReasonOwnerTemplate Reason = "OwnerTemplate"
	// ReasonRecorded: an unexpired Verified ImageVerification exists for the
	// digest under the matching policy.
	ReasonRecorded Reason = "Recorded"
	// ReasonDigestRequired: the policy has requireDigest and the reference
	// has no digest. Pin one.
	ReasonDigestRequired Reason = "DigestRequired"
	// ReasonTrustedWriter: an ImageVerification written by a trusted writer.
	ReasonTrustedWriter Reason = "TrustedWriter"
	// ReasonUntrustedWriter: an ImageVerification write by anyone else.
	ReasonUntrustedWriter Reason = "UntrustedWriter"
	// ReasonUnsupportedKind: the webhook was sent a kind it does not
	// validate; fix the ValidatingWebhookConfiguration's rules.
	ReasonUnsupportedKind Reason = "UnsupportedKind"
	// ReasonMalformedObject: the request cannot be read.
	ReasonMalformedObject Reason = "MalformedObject"
	// ReasonNotChecked: an operation that carries no new image (DELETE,
	// CONNECT).
	ReasonNotChecked Reason = "NotChecked"
	// ReasonTooManyImages: the object names more distinct images than
	// --max-images-per-object; none of them was checked. Split the
	// workload or raise the cap.
	ReasonTooManyImages Reason = "TooManyImages"
	// ReasonNotDecided: no step decided; a bug, denied to fail closed.
	ReasonNotDecided Reason = "NotDecided"
)
