package verify

import (
	"context"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/imagegate/internal/policy"
)

// probe asks the registry to serve the verified image as a pull would. It
// runs only after the signatures verified, so an unsigned image costs no
// probe requests. A refusal is a denial with the registry's own message
// (Harbor explains why it blocks a pull); transient trouble is Unavailable.
func (v *Verifier) probe(ctx context.Context, d name.Digest, p *policy.Policy, out Outcome) Outcome {
	err := v.reg.Probe(ctx, d, p.Pullability.Platforms)
	if err == nil {
		return out
	}
	var hint string
	out.Result, out.Reason, hint = RegistryVerdict(ctx, err, ReasonNotPullable)
	if out.Result == ResultUnavailable {
		out.Message = fmt.Sprintf("signatures verified, but the registry was unavailable for the pullability probe, retry later: %v", err)
		return out
	}
	out.Message = withHint(fmt.Sprintf("signatures verified, but the registry refuses to serve the image: %v", err), hint)
	return out
}
