package gate

import (
	"context"
	"errors"
	"fmt"
	"sort"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/setters"
	"github.com/imagegate/imagegate/internal/verify"
)

// selection is one ImagePolicy's latest choice and what the gate made of it.
type selection struct {
	policy *imagev1.ImagePolicy
	ref    imagev1.ImageRef // name, tag and (reflected) digest
	// decisions are one per trust policy that judges the image (the
	// cluster floor first); decision is the strictest of them, the one
	// status and events report.
	decisions []cache.Decision
	decision  cache.Decision
	recorded  bool // approved from existing ImageVerifications
	moved     bool // the tag now points at another digest than last time
}

// admitted reports whether the selection may be written to Git.
func (s *selection) admitted() bool { return s.decision.Admitted() && s.decision.Digest != "" }

// canonicalRef is the admitted image in canonical form
// (policy.ParseImage), as trailers and records name it.
func (s *selection) canonicalRef() string {
	img := s.decision.Parsed
	if img.Repository == "" {
		return s.image().Ref()
	}
	img.Digest = s.decision.Digest
	return img.String()
}

// image is what setters write for an admitted selection.
func (s *selection) image() setters.Image {
	return setters.Image{Name: s.ref.Name, Tag: s.ref.Tag, Digest: s.decision.Digest}
}

// selectPolicies lists the ImagePolicies of the gate's namespace that match
// its selector and have a selection.
func (r *Reconciler) selectPolicies(ctx context.Context, rn *run) error {
	sel := labels.Everything()
	if ps := rn.gate.Spec.PolicySelector; ps != nil {
		s, err := metav1.LabelSelectorAsSelector(ps)
		if err != nil {
			return stalled(igv1.ReasonInvalidPolicy, "spec.policySelector: %v", err)
		}
		sel = s
	}
	var list imagev1.ImagePolicyList
	if err := r.Client.List(ctx, &list, client.InNamespace(rn.gate.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return failed(igv1.ReasonInvalidPolicy, fmt.Errorf("listing ImagePolicies: %w", err))
	}
	sort.Slice(list.Items, func(i, j int) bool { return list.Items[i].Name < list.Items[j].Name })
	rn.policies = list.Items
	return nil
}

// verifySelections decides about each policy's latest selection.
func (r *Reconciler) verifySelections(ctx context.Context, rn *run) error {
	trust, err := r.loadTrust(rn.gate.Namespace)
	if err != nil {
		return err
	}
	previous := map[string]igv1.PolicyStatus{}
	for _, row := range rn.gate.Status.Policies {
		previous[row.Policy] = row
	}
	for i := range rn.policies {
		ip := &rn.policies[i]
		if ip.Status.LatestRef == nil || ip.Status.LatestRef.Name == "" || ip.Status.LatestRef.Tag == "" {
			continue // nothing selected yet
		}
		s := selection{policy: ip, ref: *ip.Status.LatestRef}
		r.decide(ctx, trust, &s)
		if prev, ok := previous[ip.Name]; ok && prev.LatestTag == s.ref.Tag && prev.LatestDigest != "" &&
			s.decision.Digest != "" && prev.LatestDigest != s.decision.Digest {
			s.moved = true
		}
		for _, d := range s.decisions {
			if d.Outcome.Result == verify.ResultUnavailable {
				rn.retry = true
			}
		}
		rn.selections = append(rn.selections, s)
	}
	return nil
}

// decide judges a selection under every trust policy that applies; it is
// admitted only if each admits it.
func (r *Reconciler) decide(ctx context.Context, trust *trustSet, s *selection) {
	image := s.ref.Name + ":" + s.ref.Tag
	if s.ref.Digest != "" {
		image += "@" + s.ref.Digest
	}
	acc := &access{r: r, ip: s.policy}
	img, pols, perr := trust.forPolicy(ctx, acc, s.policy, image)
	if perr != nil {
		s.decision = deniedNoPolicy(image, perr)
		s.decisions = []cache.Decision{s.decision}
		return
	}
	s.recorded = true
	proved := !img.PinnedWithTag()
	for _, p := range pols {
		if img.Digest != "" {
			if iv, ok, err := r.Records.LookupVerified(ctx, img.Digest, p.Hash); err == nil && ok {
				s.decisions = append(s.decisions, decisionFromRecord(image, img, p, iv))
				continue
			}
		}
		s.recorded = false
		chk, err := acc.checker(ctx)
		if err != nil {
			s.decisions = append(s.decisions, deniedCredentials(image, img, p, err))
			continue
		}
		if !proved {
			img, proved = r.proveTag(ctx, chk, img), true
		}
		s.decisions = append(s.decisions, r.verifyUnder(ctx, chk, image, img, p))
	}
	s.decision = cache.Strictest(s.decisions)
}

// proveTag checks the selection's reflected digest against the registry
// before a verification (one HEAD): when the tag still names it, the
// record written keeps the tag, which the webhook then accepts as proof
// that the tag names the digest (a digest outranks an unproven tag,
// docs/spec/trustpolicy.md) without asking the registry itself. When it
// does not, the digest is still what is verified and written; the tag's
// move is reported by the next selection.
func (r *Reconciler) proveTag(ctx context.Context, chk *cache.Checker, img policy.Image) policy.Image {
	if chk.TagNamesDigest(ctx, img) {
		return img.TagProven()
	}
	return img
}

// verifyUnder checks the image under one policy (coalesced, cached) and
// records what this call verified.
func (r *Reconciler) verifyUnder(ctx context.Context, chk *cache.Checker, image string, img policy.Image, p *policy.Policy) cache.Decision {
	d := chk.CheckImage(ctx, image, img, p)
	r.Metrics.countVerification(d)
	// Coalesced and cached results were recorded by the call that ran them.
	if d.Source != cache.SourceCall {
		return d
	}
	if _, err := r.Records.Record(ctx, d); err != nil {
		ctrl := fmt.Sprintf("recording ImageVerification: %v", err)
		d.Outcome.Message = joinMessage(d.Outcome.Message, ctrl)
	}
	return d
}

func joinMessage(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

func decisionFromRecord(image string, img policy.Image, p *policy.Policy, iv *igv1.ImageVerification) cache.Decision {
	d := cache.Decision{Image: image, Parsed: img, Digest: iv.Spec.Digest, Policy: p, Source: cache.SourceCache}
	d.Outcome = verify.Outcome{Digest: iv.Spec.Digest, Result: verify.ResultVerified, Reason: verify.ReasonVerified,
		Message: "approved by ImageVerification " + iv.Name}
	if iv.Status.VerifiedAt != nil {
		d.Outcome.VerifiedAt = iv.Status.VerifiedAt.Time
	}
	for _, sg := range iv.Status.Signers {
		idx := int64(-1)
		if iv.Status.RekorLogIndex != nil {
			idx = *iv.Status.RekorLogIndex
		}
		d.Outcome.Signers = append(d.Outcome.Signers, verify.Signer{Authority: sg.Authority, Format: verify.Format(sg.Format), Identity: sg.Identity, RekorLogIndex: idx})
	}
	return d
}

func deniedNoPolicy(image string, err error) cache.Decision {
	reason := verify.ReasonNoPolicy
	if errors.Is(err, policy.ErrInvalidPolicy) {
		reason = verify.ReasonInvalidPolicy
	}
	return cache.Decision{Image: image, Outcome: verify.Outcome{Result: verify.ResultDenied, Reason: reason, Message: err.Error()}}
}
