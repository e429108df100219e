package gate

import (
	"fmt"
	"strings"

	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/verify"
)

// markBlocked writes the per-policy rows and the Blocked condition, and
// emits events on changes: a Warning when a selection becomes blocked,
// TagMoved when a tag points at a new digest.
func (r *Reconciler) markBlocked(rn *run) {
	g := rn.gate
	previous := map[string]igv1.PolicyStatus{}
	for _, row := range g.Status.Policies {
		previous[row.Policy] = row
	}
	rows := make([]igv1.PolicyStatus, 0, len(rn.selections))
	var blocked []string
	for i := range rn.selections {
		s := &rn.selections[i]
		prev := previous[s.policy.Name]
		row := r.row(s, prev)
		rows = append(rows, row)
		if s.moved {
			r.selectionEvent(g, s, selectionMeta(s, row), corev1.EventTypeWarning, EventTagMoved, "%s:%s now points at %s (was %s); verified as a new image",
				s.ref.Name, s.ref.Tag, s.decision.Digest, prev.LatestDigest)
		}
		if !s.admitted() {
			blocked = append(blocked, fmt.Sprintf("%s (%s:%s): %s", s.policy.Name, s.ref.Name, s.ref.Tag, s.decision.Outcome.Reason))
			if prev.Reason != row.Reason || prev.LatestTag != row.LatestTag || prev.LatestDigest != row.LatestDigest {
				r.selectionEvent(g, s, selectionMeta(s, row), corev1.EventTypeWarning, EventBlocked, "%s:%s not written to Git: %s: %s", s.ref.Name, s.ref.Tag, row.Reason, row.Message)
			}
		}
	}
	g.Status.Policies = rows
	r.Metrics.setBlocked(g, len(blocked))
	if len(blocked) == 0 {
		conditions.MarkFalse(g, igv1.BlockedCondition, igv1.ReasonAllVerified, "every selection verified")
		return
	}
	reason := igv1.ReasonVerificationFailed
	if rn.retry {
		reason = igv1.ReasonUnavailable
	}
	conditions.MarkTrue(g, igv1.BlockedCondition, reason, "%d of %d selections withheld from Git: %s",
		len(blocked), len(rn.selections), strings.Join(blocked, "; "))
}

// row is the status row of a selection. LastVerifiedRef carries over from
// the previous row while a selection is blocked: it is what Git still has.
func (r *Reconciler) row(s *selection, prev igv1.PolicyStatus) igv1.PolicyStatus {
	d := s.decision
	row := igv1.PolicyStatus{
		Policy: s.policy.Name, LatestTag: s.ref.Tag, LatestDigest: d.Digest,
		Verified: d.Outcome.Result == verify.ResultVerified,
		Reason:   string(d.Outcome.Reason), Message: d.Outcome.Message,
		LastVerifiedRef: prev.LastVerifiedRef,
	}
	var names []string
	for _, dd := range s.decisions {
		if dd.Policy != nil {
			names = append(names, dd.Policy.Ref.String())
		}
		for _, sg := range dd.Outcome.Signers {
			row.Signers = append(row.Signers, fmt.Sprintf("%s: %s", sg.Authority, verifiedBy(sg)))
		}
	}
	row.TrustPolicy = strings.Join(names, ", ")
	if !d.Outcome.VerifiedAt.IsZero() {
		row.VerifiedAt = &metav1.Time{Time: d.Outcome.VerifiedAt}
	}
	if s.admitted() {
		row.LastVerifiedRef = s.image().Ref()
	}
	if s.moved {
		row.Message = joinMessage("TagMoved: the tag points at a new digest", row.Message)
	}
	return row
}

func blockedCount(sel []selection) int {
	n := 0
	for i := range sel {
		if !sel[i].admitted() {
			n++
		}
	}
	return n
}

func summary(sel []selection) string {
	b := blockedCount(sel)
	switch {
	case len(sel) == 0:
		return "no ImagePolicy selection yet"
	case b == 0:
		return fmt.Sprintf("%d selections verified and in Git", len(sel))
	default:
		return fmt.Sprintf("%d of %d selections verified; %d blocked", len(sel)-b, len(sel), b)
	}
}
