package gate

import (
	"errors"
	"fmt"
	"maps"
	"strings"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"github.com/fluxcd/pkg/runtime/conditions"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/setters"
)

// EventRecorder records an event with metadata. fluxcd/pkg/runtime's
// events.Recorder is one: it writes a Kubernetes Event and, given an
// events address, posts the event to notification-controller, whose
// Alerts select it by its object's kind. client-go's events.FakeRecorder
// is another.
type EventRecorder interface {
	AnnotatedEventf(regarding, related runtime.Object, annotations map[string]string, eventtype, reason, action, note string, args ...any)
}

// Event reasons. Alerts filter on them (inclusionList, exclusionList);
// docs/alerts.md lists which object each goes to.
const (
	EventCommitted   = "Committed"
	EventBlocked     = "Blocked"
	EventTagMoved    = "TagMoved"
	EventFileSkipped = "FileSkipped"
	// A failed reconcile uses its Ready condition's reason (Stalled ones
	// included); the first success after failures uses ReasonSucceeded.
)

// Metadata keys, each prefixed with the API group of the event's object
// (imagegate.dev/ for ImageGates, image.toolkit.fluxcd.io/ for
// ImagePolicies): notification-controller forwards only keys with that
// prefix (or event.toolkit.fluxcd.io/), and drops <group>/digest and
// <group>/checksum as artifact checksums, which is why the digest rides in
// MetaImage rather than a key of its own.
const (
	// MetaRevision is the pushed commit as Flux writes revisions,
	// BRANCH@sha1:HASH: notification-controller's Git commit status
	// providers read it.
	MetaRevision = "revision"
	// MetaImage is the image as written or withheld, NAME:TAG@DIGEST.
	MetaImage = "image"
	// MetaTrustPolicy names the trust policies that judged the image,
	// "Kind/namespace/name, ..." (the cluster floor first).
	MetaTrustPolicy = "trustPolicy"
	// MetaReason is the verification reason code (docs/reasons.md).
	MetaReason = "reason"
	// MetaImageGate names the ImageGate, on ImagePolicy events.
	MetaImageGate = "imageGate"
)

const eventAction = "Reconcile"

// gateEvent records an event about the ImageGate itself. It goes to
// Kubernetes and, through Events, to notification-controller.
func (r *Reconciler) gateEvent(g *igv1.ImageGate, meta map[string]string, kind, reason, format string, args ...any) {
	if r.Events == nil {
		return
	}
	r.Events.AnnotatedEventf(g, nil, prefixed(igv1.GroupVersion.Group, meta), kind, reason, eventAction, format, args...)
}

// selectionEvent records what happened to one selection twice: on its
// ImagePolicy, posted to notification-controller, which an Alert with
// eventSources kind ImagePolicy selects (ImageGate is not among the kinds
// Alerts accept); and on the ImageGate for kubectl describe, through
// KubeEvents only, so that notification-controller receives it once.
func (r *Reconciler) selectionEvent(g *igv1.ImageGate, s *selection, meta map[string]string, kind, reason, format string, args ...any) {
	if r.Events != nil {
		pm := map[string]string{MetaImageGate: g.Name}
		maps.Copy(pm, meta)
		r.Events.AnnotatedEventf(s.policy, g, prefixed(imagev1.GroupVersion.Group, pm), kind, reason, eventAction, format, args...)
	}
	if r.KubeEvents != nil {
		r.KubeEvents.AnnotatedEventf(g, s.policy, prefixed(igv1.GroupVersion.Group, meta), kind, reason, eventAction,
			"%s", "ImagePolicy "+s.policy.Name+": "+fmt.Sprintf(format, args...))
	}
}

// selectionMeta is the metadata of a selection's event.
func selectionMeta(s *selection, row igv1.PolicyStatus) map[string]string {
	img := s.image()
	if img.Digest == "" {
		img.Digest = s.ref.Digest // not verified far enough to have one: the reflected one
	}
	m := map[string]string{MetaImage: img.Ref(), MetaReason: row.Reason}
	if row.TrustPolicy != "" {
		m[MetaTrustPolicy] = row.TrustPolicy
	}
	return m
}

func prefixed(group string, meta map[string]string) map[string]string {
	if len(meta) == 0 {
		return nil
	}
	out := make(map[string]string, len(meta))
	for k, v := range meta {
		if v != "" {
			out[group+"/"+k] = v
		}
	}
	return out
}

// revision is a pushed commit as Flux names revisions.
func revision(branch, commit string) string { return branch + "@sha1:" + commit }

// readyEvent reports a change of the Ready condition: a Warning with the
// failure's reason when a reconcile fails for a new reason or message
// (Stalled included), and one Normal event when it succeeds again.
// Unchanged failures are not repeated: retries would flood Alerts.
func (r *Reconciler) readyEvent(rn *run, was *readyState, err error) {
	g := rn.gate
	switch {
	case err != nil:
		reason, msg := reasonOf(err), err.Error()
		if was != nil && !was.ready && was.reason == reason && was.message == msg {
			return
		}
		if errors.Is(err, errStalled) {
			msg = "stalled: " + msg
		}
		r.gateEvent(g, nil, corev1.EventTypeWarning, reason, "%s", msg)
	case was != nil && !was.ready:
		r.gateEvent(g, nil, corev1.EventTypeNormal, igv1.ReasonSucceeded, "recovered: %s", summary(rn.selections))
	}
}

// readyState is the Ready condition before a reconcile; nil if it had
// none or it was Unknown.
type readyState struct {
	ready           bool
	reason, message string
}

func readyBefore(g *igv1.ImageGate) *readyState {
	c := conditions.Get(g, igv1.ReadyCondition)
	if c == nil || c.Status == metav1.ConditionUnknown {
		// Unknown is a first run in progress (progress.go), not a failure
		// to recover from.
		return nil
	}
	return &readyState{ready: c.Status == metav1.ConditionTrue, reason: c.Reason, message: c.Message}
}

// reportCommit records a pushed commit: once on the ImageGate, naming
// every image written, and once per ImagePolicy whose image it wrote,
// each with the revision, so that an Alert on ImagePolicies (or a Git
// commit status provider) learns of it.
func (r *Reconciler) reportCommit(g *igv1.ImageGate, rev string, res setters.Result, byPolicy map[setters.Policy]*selection) {
	r.gateEvent(g, map[string]string{MetaRevision: rev}, corev1.EventTypeNormal, EventCommitted,
		"pushed %s: %s", rev, changedImages(res, byPolicy))
	if r.Events == nil {
		return
	}
	for _, key := range changedPolicies(res) {
		s := byPolicy[key]
		if s == nil {
			continue
		}
		meta := map[string]string{MetaImageGate: g.Name, MetaRevision: rev, MetaImage: s.canonicalRef(), MetaReason: string(s.decision.Outcome.Reason)}
		if tp := trustPolicies(s); tp != "" {
			meta[MetaTrustPolicy] = tp
		}
		r.Events.AnnotatedEventf(s.policy, g, prefixed(imagev1.GroupVersion.Group, meta), corev1.EventTypeNormal, EventCommitted, eventAction,
			"verified %s and pushed it in %s (ImageGate %s)", s.canonicalRef(), rev, g.Name)
	}
}

// trustPolicies names the policies that judged a selection, as its status
// row does.
func trustPolicies(s *selection) string {
	var names []string
	for _, d := range s.decisions {
		if d.Policy != nil {
			names = append(names, d.Policy.Ref.String())
		}
	}
	return strings.Join(names, ", ")
}
