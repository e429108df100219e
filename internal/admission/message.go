package admission

import (
	"fmt"
	"strings"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/verify"
)

// maxWarning is where the API server may truncate one warning.
const maxWarning = 256

// maxDenial bounds the message about one image: a reference may be
// hundreds of KiB long, and the message quotes it more than once.
const maxDenial = 2 << 10

// denial is the message for one image that was not admitted: the image,
// the container or image volume, the policy, the reason code and what to
// do.
func denial(ref imageRef, v verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "image %q of %s %q", ref.Image, singular(ref.Field), ref.Container)
	if v.Policy != nil {
		fmt.Fprintf(&b, " under %s %s", v.Policy.Ref.Kind, v.Policy.Ref)
	}
	// Registry error bodies may carry newlines; one image, one line.
	fmt.Fprintf(&b, " [%s]: %s", v.Reason, strings.Join(strings.Fields(v.Message), " "))
	if hint := remedy(v); hint != "" {
		b.WriteString("; to admit it: ")
		b.WriteString(hint)
	}
	return truncate(b.String(), maxDenial)
}

// warning is the short form of a warn-mode denial, sent as an admission
// warning.
func warning(ref imageRef, v verdict) string {
	pol := "no policy"
	if v.Policy != nil {
		pol = v.Policy.Ref.Kind + " " + v.Policy.Ref.String()
	}
	msg := fmt.Sprintf("imagegate (warn mode): %s of %s %q is not verified under %s [%s]; %s",
		ref.Image, singular(ref.Field), ref.Container, pol, v.Reason, remedy(v))
	return truncate(msg, maxWarning)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// singular names what holds an image: `image "x" of image volume "models"`.
func singular(field string) string {
	switch field {
	case fieldInitContainers:
		return "init container"
	case fieldEphemeralContainers:
		return "ephemeral container"
	case fieldVolumes:
		return "image volume"
	}
	return "container"
}

// remedy says what to do about a denial.
func remedy(v verdict) string {
	switch v.Reason {
	case verify.ReasonNoSignature, verify.ReasonNoMatchingSignature, verify.ReasonThresholdNotMet:
		return "sign it with " + authorities(v.Policy)
	case verify.ReasonDigestRequired:
		return "pin a digest (name:tag@sha256:...), as imagegate's gate writes into Git"
	case verify.ReasonNoPolicy:
		return "add a TrustPolicy or ClusterTrustPolicy whose images glob matches it, or exempt it (--exempt-images)"
	case verify.ReasonUnavailable:
		return "retry: the registry could not be asked, which is transient (the webhook fails closed)"
	case verify.ReasonTrustRootUnavailable:
		return "retry: imagegate has no Sigstore public-good trusted root yet (its TUF mirror could not be reached), which is transient (the webhook fails closed)"
	case verify.ReasonTagNotFound:
		return "push the tag or fix the reference"
	case verify.ReasonManifestNotFound:
		return "push the image or fix the digest"
	case verify.ReasonCredentialsRejected:
		return "renew the pull secret imagegate uses for this registry, or grant it pull access to the repository"
	case verify.ReasonCredentialsMissing:
		return "give imagegate a pull secret for this registry (--pull-secret)"
	case verify.ReasonInvalidReference:
		return "fix the image reference"
	case verify.ReasonNotPullable, verify.ReasonSignatureUnreadable:
		return "check the registry's pull credentials and that it serves the image and its signatures"
	case verify.ReasonStaticFail:
		return "the policy fails every image: change it or add an exception"
	case verify.ReasonInvalidPolicy:
		return "fix the TrustPolicy"
	}
	return ""
}

// authorities names the keys or identities that would verify.
func authorities(p *policy.Policy) string {
	if p == nil || len(p.Authorities) == 0 {
		return "a key or identity the policy trusts"
	}
	names := make([]string, 0, len(p.Authorities))
	for _, a := range p.Authorities {
		switch {
		case a.Key != nil:
			names = append(names, fmt.Sprintf("the key of authority %q", a.Name))
		case a.Keyless != nil:
			names = append(names, fmt.Sprintf("an identity of authority %q (cosign keyless)", a.Name))
		}
	}
	if len(names) == 0 {
		return "a key or identity the policy trusts"
	}
	need := p.Require.Needed(len(p.Authorities))
	switch {
	case len(names) == 1:
		return names[0]
	case need >= len(p.Authorities):
		return "each of " + strings.Join(names, ", ")
	}
	return fmt.Sprintf("%d of %s", need, strings.Join(names, ", "))
}
