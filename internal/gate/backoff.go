package gate

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// Defaults of Backoff.
const (
	// DefaultRetryBase is the first wait after a run that left a selection
	// blocked or unverified: what the gate used to wait every time.
	DefaultRetryBase = 30 * time.Second
	// DefaultRetryMax caps the wait. A gate's own spec.interval caps it
	// too when shorter (the next regular run verifies again anyway); 10
	// minutes keeps gates with long intervals retrying a registry outage
	// at least six times an hour.
	DefaultRetryMax = 10 * time.Minute
	// jitterFraction is the most each wait is shortened at random, so that
	// gates blocked by one registry outage do not all come back at once.
	jitterFraction = 0.2
)

// Backoff is the schedule of retries of an ImageGate whose last runs left
// selections blocked or unverified: the n-th such run in a row is followed
// by min(Base·2^(n-1), Max), shortened by up to a fifth at random.
type Backoff struct {
	Base time.Duration // default DefaultRetryBase
	Max  time.Duration // default DefaultRetryMax; at least Base
	// Jitter returns a number in [0, 1); default math/rand/v2.Float64.
	// Tests inject a fixed one.
	Jitter func() float64
}

func (b Backoff) withDefaults() Backoff {
	if b.Base <= 0 {
		b.Base = DefaultRetryBase
	}
	if b.Max <= 0 {
		b.Max = max(DefaultRetryMax, b.Base)
	}
	b.Max = max(b.Max, b.Base)
	if b.Jitter == nil {
		b.Jitter = rand.Float64 //nolint:gosec // spreading retries needs no secret randomness
	}
	return b
}

// Delay is the wait after the n-th failed run in a row (n >= 1). It is in
// (0.8·w, w] for w = min(Base·2^(n-1), Max), whatever n is: doubling stops
// at Max, so a long outage cannot overflow it.
func (b Backoff) Delay(n int) time.Duration {
	b = b.withDefaults()
	d := b.Base
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	d = min(d, b.Max)
	j := min(max(b.Jitter(), 0), 1)
	return d - time.Duration(float64(d)*jitterFraction*j)
}

// retries counts, per ImageGate, the runs in a row that left the same
// selections blocked or unverified. A run whose blocked selections differ
// (a new tag was selected, one got through) starts a new streak; a run
// with none ends it.
type retries struct {
	mu      sync.Mutex
	streaks map[types.NamespacedName]streak
}

type streak struct {
	blocked string // which selections, as blockedKey writes them
	runs    int
}

// next records one more failed run of gate with the blocked selections
// and returns how many in a row there were.
func (r *retries) next(gate types.NamespacedName, blocked string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.streaks == nil {
		r.streaks = map[types.NamespacedName]streak{}
	}
	s := r.streaks[gate]
	if s.blocked != blocked {
		s = streak{blocked: blocked}
	}
	s.runs++
	r.streaks[gate] = s
	return s.runs
}

// reset ends gate's streak: its run succeeded, or it is gone.
func (r *retries) reset(gate types.NamespacedName) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.streaks, gate)
}

// blockedKey names the selections of a run that were not admitted, with
// the image and the result each got, in policy order.
func blockedKey(sel []selection) string {
	var parts []string
	for i := range sel {
		if !sel[i].admitted() {
			s := &sel[i]
			parts = append(parts, s.policy.Name+"="+s.ref.Name+":"+s.ref.Tag+"@"+s.ref.Digest+" "+string(s.decision.Outcome.Result))
		}
	}
	slices.Sort(parts)
	return strings.Join(parts, "\n")
}
