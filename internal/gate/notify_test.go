package gate

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	eventv1 "github.com/fluxcd/pkg/apis/event/v1"
	"github.com/fluxcd/pkg/runtime/events"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"github.com/go-logr/logr/funcr"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/testenv"
)

// notificationSink stands for notification-controller's events endpoint:
// it decodes each POST into Flux's event type, as notification-controller
// does, and keeps them in arrival order.
type notificationSink struct {
	t      *testing.T
	url    string
	mu     sync.Mutex
	events []eventv1.Event
}

func newNotificationSink(t *testing.T) *notificationSink {
	t.Helper()
	s := &notificationSink{t: t}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var e eventv1.Event
		if err := json.NewDecoder(r.Body).Decode(&e); err != nil || r.Method != http.MethodPost {
			t.Errorf("event endpoint: %s with a body that does not decode: %v", r.Method, err)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.events = append(s.events, e)
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	s.url = srv.URL + "/"
	return s
}

// take returns the events posted since the last take. The recorder posts
// synchronously, so a reconcile's events have all arrived when it returns.
func (s *notificationSink) take() []eventv1.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.events
	s.events = nil
	for _, e := range out {
		if e.InvolvedObject.Kind == "ImagePolicy" && !docInclusion.MatchString(e.Message) {
			s.t.Errorf("ImagePolicy event %q passes none of docs/alerts.md's inclusionList", e.Message)
		}
	}
	return out
}

// docInclusion is the inclusionList docs/alerts.md gives, which tells
// imagegate's ImagePolicy events from image-reflector-controller's.
var docInclusion = regexp.MustCompile(strings.Join([]string{
	"^verified .* and pushed it in ", " not written to Git: ", " now points at ",
}, "|"))

// withFluxRecorder points the world's reconciler at Flux's event recorder
// posting to the sink; Kubernetes Events still go to the fake recorder.
func (w *world) withFluxRecorder(sink *notificationSink) {
	w.t.Helper()
	// Not logr.Discard(): Flux's recorder asks its logger's sink, which
	// Discard leaves nil.
	rec, err := events.NewRecorder(funcr.New(func(string, string) {}, funcr.Options{}), sink.url, "imagegate-controller",
		events.WithScheme(cp.Client.Scheme()), events.WithEventRecorder(w.recorder), events.WithRetryMax(0))
	if err != nil {
		w.t.Fatal(err)
	}
	w.rec.Events = rec
}

// kinds renders events as sorted "Kind/name Reason severity" lines.
func kinds(evs []eventv1.Event) []string {
	out := make([]string, 0, len(evs))
	for _, e := range evs {
		out = append(out, e.InvolvedObject.Kind+"/"+e.InvolvedObject.Name+" "+e.Reason+" "+e.Severity)
	}
	sort.Strings(out)
	return out
}

func wantKinds(t *testing.T, step string, evs []eventv1.Event, want ...string) {
	t.Helper()
	sort.Strings(want)
	if got := kinds(evs); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%s: notification-controller received\n  %q\nwant\n  %q", step, got, want)
	}
}

func find(t *testing.T, evs []eventv1.Event, kind, reason string) eventv1.Event {
	t.Helper()
	for _, e := range evs {
		if e.InvolvedObject.Kind == kind && e.Reason == reason {
			return e
		}
	}
	t.Fatalf("no %s event with reason %s in %q", kind, reason, kinds(evs))
	return eventv1.Event{}
}

func wantMeta(t *testing.T, e eventv1.Event, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got, ok := e.Metadata[k]; !ok || got != v {
			t.Errorf("%s %s: metadata %s = %q, want %q (all: %v)", e.InvolvedObject.Kind, e.Reason, k, got, v, e.Metadata)
		}
	}
}

// TestEventsReachNotificationControllerAsFluxEvents runs the gate with
// Flux's event recorder against an HTTP endpoint that decodes what
// notification-controller decodes, and counts what arrives at each step:
// a blocked selection, its commit once signed, a moved tag, a stall (once,
// however often it is retried) and the recovery. Selection events arrive
// with the ImagePolicy as their object, which Alerts can select, and
// once: the ImageGate's copy stays a Kubernetes Event.
func TestEventsReachNotificationControllerAsFluxEvents(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	sink := newNotificationSink(t)
	w.withFluxRecorder(sink)
	const gateGroup, policyGroup = "imagegate.dev/", "image.toolkit.fluxcd.io/"
	trust := w.ns + "/signed" // as status.policies[].trustPolicy names it

	// 1. An unsigned selection is blocked.
	d := w.push("web", "v1")
	w.selectTag("web", "v1", d)
	w.mustReconcile()
	evs := sink.take()
	wantKinds(t, "blocked", evs, "ImagePolicy/web Blocked error")
	blocked := find(t, evs, "ImagePolicy", "Blocked")
	wantMeta(t, blocked, map[string]string{
		policyGroup + MetaImage: w.reg.Repo("web") + ":v1@" + d.DigestStr(), policyGroup + MetaReason: "NoSignature",
		policyGroup + MetaTrustPolicy: trust, policyGroup + MetaImageGate: "gate",
	})
	if blocked.InvolvedObject.Namespace != w.ns || blocked.InvolvedObject.APIVersion != "image.toolkit.fluxcd.io/v1" ||
		blocked.RelatedObject == nil || blocked.RelatedObject.Kind != "ImageGate" || blocked.ReportingController != "imagegate-controller" {
		t.Errorf("blocked event objects: involved %+v, related %+v, controller %q", blocked.InvolvedObject, blocked.RelatedObject, blocked.ReportingController)
	}
	if kube := w.events(); !hasEvent(kube, "Warning Blocked ImagePolicy web: ") {
		t.Errorf("no Kubernetes Event on the ImageGate for the blocked selection: %q", kube)
	}

	// 2. Signed, it is committed: the gate reports the commit, the policy
	// its image in it, both with Flux's revision.
	testenv.SignLegacy(t, d, w.key)
	w.rec.Checker = freshChecker(w)
	w.mustReconcile()
	evs = sink.take()
	wantKinds(t, "committed", evs, "ImageGate/gate Committed info", "ImagePolicy/web Committed info")
	rev := "main@sha1:" + w.gate().Status.LastPushCommit
	wantMeta(t, find(t, evs, "ImageGate", "Committed"), map[string]string{gateGroup + MetaRevision: rev})
	wantMeta(t, find(t, evs, "ImagePolicy", "Committed"), map[string]string{
		policyGroup + MetaRevision: rev, policyGroup + MetaImage: w.reg.Repo("web") + ":v1@" + d.DigestStr(),
		policyGroup + MetaReason: "Verified", policyGroup + MetaTrustPolicy: trust,
	})

	// 3. The tag moves to unsigned bytes: reported and blocked.
	moved := w.push("web", "v1")
	w.selectTag("web", "v1", moved)
	w.mustReconcile()
	evs = sink.take()
	wantKinds(t, "moved", evs, "ImagePolicy/web TagMoved error", "ImagePolicy/web Blocked error")
	wantMeta(t, find(t, evs, "ImagePolicy", "TagMoved"), map[string]string{policyGroup + MetaImage: w.reg.Repo("web") + ":v1@" + moved.DigestStr()})

	// 4. The GitRepository goes away: Stalled, reported once.
	ctx := context.Background()
	var repo sourcev1.GitRepository
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "fleet"}, &repo); err != nil {
		t.Fatal(err)
	}
	if err := cp.Client.Delete(ctx, &repo); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		w.mustReconcile()
	}
	evs = sink.take()
	wantKinds(t, "stalled", evs, "ImageGate/gate InvalidSourceConfiguration error")
	if msg := evs[0].Message; !strings.HasPrefix(msg, "stalled: GitRepository "+w.ns+"/fleet not found") {
		t.Errorf("stalled message %q", msg)
	}

	// 5. It comes back: one recovery event, nothing repeated.
	repo.ResourceVersion, repo.UID, repo.CreationTimestamp = "", "", metav1.Time{}
	w.create(&repo)
	w.mustReconcile()
	wantKinds(t, "recovered", sink.take(), "ImageGate/gate Succeeded info")
	w.mustReconcile()
	wantKinds(t, "steady", sink.take())
}
