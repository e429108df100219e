package gate

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestBackoffDelayBounds tries to push the delay out of its bounds: any
// jitter, any number of failures in a row (a week of them), a max below
// the base.
func TestBackoffDelayBounds(t *testing.T) {
	t.Parallel()
	for _, jitter := range []float64{0, 0.5, 0.999999, -3, 7} {
		b := Backoff{Base: 30 * time.Second, Max: 10 * time.Minute, Jitter: func() float64 { return jitter }}
		prev := time.Duration(0)
		for n := 1; n <= 7*24*120; n++ {
			d := b.Delay(n)
			w := min(30*time.Second<<min(n-1, 20), 10*time.Minute)
			if d > w || d < w*4/5 {
				t.Fatalf("jitter %v, failure %d: delay %s, want in [%s, %s]", jitter, n, d, w*4/5, w)
			}
			if d < prev {
				t.Fatalf("jitter %v, failure %d: delay %s shorter than the one before, %s", jitter, n, d, prev)
			}
			prev = d
		}
	}
	if d := (Backoff{Base: time.Minute, Max: time.Second, Jitter: func() float64 { return 0 }}).Delay(5); d != time.Minute {
		t.Fatalf("max below base: delay %s, want the base, 1m", d)
	}
	if d := (Backoff{Jitter: func() float64 { return 0 }}).Delay(1000); d != DefaultRetryMax {
		t.Fatalf("defaults: delay %s after 1000 failures, want %s", d, DefaultRetryMax)
	}
}

// TestUnavailableRegistryIsRetriedOnTheBackoffSchedule runs the gate
// against a registry in an outage (it answers the /v2/ ping, then 503 to
// everything) for one simulated hour: the reconciler is called again
// after each RequeueAfter it returns, on an injected clock, without
// sleeping. The number of runs, and of registry requests, is exactly what
// the schedule gives; nothing is cached or recorded as a denial; a run
// that verifies ends the streak, and the next outage starts at the base.
func TestUnavailableRegistryIsRetriedOnTheBackoffSchedule(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	var down atomic.Bool
	reg := testenv.NewRegistry(t, testenv.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			if down.Load() && r.URL.Path != "/v2/" {
				http.Error(rw, "maintenance", http.StatusServiceUnavailable)
				return
			}
			next.ServeHTTP(rw, r)
		})
	}))
	w.create(testenv.TrustPolicy(w.ns, "outage", testenv.KeyPolicySpec(reg.Host()+"/**", w.key.PublicPEM)))
	d := reg.PushImage(t, "web", "v1")
	ip := &imagev1.ImagePolicy{}
	if err := cp.Client.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "web"}, ip); err != nil {
		t.Fatal(err)
	}
	ip.Status.LatestRef = &imagev1.ImageRef{Name: reg.Repo("web"), Tag: "v1", Digest: d.DigestStr()}
	if err := cp.Client.Status().Update(context.Background(), ip); err != nil {
		t.Fatal(err)
	}

	const base, maxWait = 30 * time.Second, 4 * time.Minute // the gate's interval is 5m
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	w.rec.Now = func() time.Time { return now }
	w.rec.Retry = Backoff{Base: base, Max: maxWait, Jitter: func() float64 { return 0.5 }} // each wait 0.9 of the schedule's

	// The schedule, written out: the n-th failed run in a row is followed
	// by 0.9·min(30s·2^(n-1), 4m): 27s, 54s, 108s, 216s, 216s, ...
	var want []time.Duration
	for at, n := time.Duration(0), 1; at < time.Hour; n++ {
		want = append(want, at)
		at += min(base<<(n-1), maxWait) * 9 / 10
	}

	down.Store(true)
	reg.ResetRequests()
	start := now
	var runs []time.Duration
	for now.Sub(start) < time.Hour {
		runs = append(runs, now.Sub(start))
		res, err := w.reconcile()
		if err != nil {
			t.Fatalf("run at %s: %v", now.Sub(start), err)
		}
		if row := w.row("web"); row.Reason != "Unavailable" {
			t.Fatalf("run at %s: row %+v, want Unavailable", now.Sub(start), row)
		}
		now = now.Add(res.RequeueAfter)
	}
	if len(runs) != len(want) || len(want) != 19 {
		t.Fatalf("runs at %v,\nwant %d runs at %v", runs, len(want), want)
	}
	for i := range want {
		if runs[i] != want[i] {
			t.Fatalf("run %d at %s, want %s (all: %v)", i, runs[i], want[i], runs)
		}
	}
	// Each run asks once for the tag and once for each signature format:
	// HEAD of the tag (proving it names the reflected digest), GET of the
	// legacy .sig tag, GET of the referrers listing. The ping succeeds,
	// once: the registry is up, its repositories are not.
	var asked []string
	for _, r := range reg.Requests() {
		if r != "GET /v2/" {
			asked = append(asked, r)
		}
	}
	if len(asked) != 3*len(want) {
		t.Fatalf("%d registry requests in %d runs, want exactly 3 per run:\n%s", len(asked), len(want), strings.Join(asked, "\n"))
	}
	if n := w.rec.Checker.Cache().Len(cache.ClassDenied) + w.rec.Checker.Cache().Len(cache.ClassVerified); n != 0 {
		t.Fatalf("%d outcomes cached during the outage, want 0", n)
	}
	var records igv1.ImageVerificationList
	if err := cp.Client.List(context.Background(), &records); err != nil {
		t.Fatal(err)
	}
	for _, iv := range records.Items {
		if iv.Spec.Digest == d.DigestStr() {
			t.Fatalf("ImageVerification %s recorded during the outage: %+v", iv.Name, iv.Status)
		}
	}

	// The registry comes back with the image signed: the run verifies and
	// the gate waits its interval; the next outage starts at the base.
	down.Store(false)
	testenv.SignLegacy(t, d, w.key)
	if res, err := w.reconcile(); err != nil || res.RequeueAfter != 5*time.Minute {
		t.Fatalf("verified run: %v, requeue after %s; want the 5m interval", err, res.RequeueAfter)
	}
	if row := w.row("web"); row.Reason != "Verified" {
		t.Fatalf("row %+v, want Verified", row)
	}
	// A new tag, unsigned, is blocked: a new streak from the base.
	d2 := reg.PushImage(t, "web", "v2")
	if err := cp.Client.Get(context.Background(), client.ObjectKey{Namespace: w.ns, Name: "web"}, ip); err != nil {
		t.Fatal(err)
	}
	ip.Status.LatestRef = &imagev1.ImageRef{Name: reg.Repo("web"), Tag: "v2", Digest: d2.DigestStr()}
	if err := cp.Client.Status().Update(context.Background(), ip); err != nil {
		t.Fatal(err)
	}
	if res, err := w.reconcile(); err != nil || res.RequeueAfter != base*9/10 {
		t.Fatalf("first blocked run after a success: %v, requeue after %s; want %s", err, res.RequeueAfter, base*9/10)
	}
}
