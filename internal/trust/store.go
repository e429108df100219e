package trust

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
)

// Store compiles every TrustPolicy and ClusterTrustPolicy into one
// policy.Set and swaps it atomically, so that readers (each admission
// request, each gate reconcile) use the policies in force without a lock
// and compile nothing themselves. It reloads when Trigger is called
// (informer events, Watch) and every resync period.
//
// A reload on Trigger compiles only the policies whose spec changed (a
// new UID or generation) and reuses the others, so one edited policy
// among thousands costs one compile; a resync compiles every policy
// again, re-reading the Secrets it names, which is how a key rotated in
// a Secret takes effect within the period without watching Secrets. A
// policy that fails to compile is left out and logged, and keeps the
// images its globs cover (policy.Broken); the others stay in force.
type Store struct {
	reader  client.Reader // lists policies; the manager's informer cache
	secrets policy.SecretReader
	log     *slog.Logger
	resync  time.Duration

	// compile carries the public-good root source, when there is one
	// (SetPublicGood).
	compile []policy.CompileOption

	snap    atomic.Pointer[Snapshot]
	trigger chan struct{}
	// recompile asks the next triggered load to compile every policy,
	// not only changed ones (RecompileAll: a new public-good root).
	recompile atomic.Bool
	loaded    chan struct{} // closed by the first load
	once      sync.Once

	compiles atomic.Uint64

	mu       sync.Mutex // serialises loads and guards onChange
	onChange []func([]policy.Ref)
}

// Snapshot is one load's result, never modified once published.
type Snapshot struct {
	// Set is the compiled policies and the broken ones.
	Set *policy.Set
	// Invalid is every policy left out, with why.
	Invalid map[policy.Ref]error

	entries map[policy.Ref]entry
	order   []policy.Ref // listing order: cluster policies first
}

// InNamespace returns the ClusterTrustPolicies and the TrustPolicies of
// namespace only (none for ""), compiled and broken, so that
// policy.Set.MatchAny on it judges as Set.Match(img, namespace) does:
// imagegate audit judges each entry in one namespace this way.
func (s *Snapshot) InNamespace(namespace string) *policy.Set {
	var compiled []*policy.Policy
	var broken []policy.Broken
	for _, ref := range s.order {
		if ref.Namespace != "" && ref.Namespace != namespace {
			continue
		}
		switch e := s.entries[ref]; {
		case e.compiled != nil:
			compiled = append(compiled, e.compiled)
		case e.broken != nil:
			broken = append(broken, *e.broken)
		}
	}
	return policy.NewSet(compiled, broken...)
}

// entry is what a load made of one policy object, kept to reuse it on
// the next load when the object's spec has not changed.
type entry struct {
	uid        types.UID
	generation int64
	compiled   *policy.Policy
	broken     *policy.Broken
	err        error
}

// fingerprint tells whether a policy changed between two loads: its hash
// (spec, identity and Secret contents) or its error.
func (e entry) fingerprint() string {
	if e.compiled != nil {
		return e.compiled.Hash
	}
	return "invalid: " + e.err.Error()
}

// NewStore returns a store that lists policies through reader and reads
// the Secrets they name through secrets. resync <= 0 means DefaultResync;
// log nil discards.
func NewStore(reader client.Reader, secrets policy.SecretReader, log *slog.Logger, resync time.Duration) *Store {
	if resync <= 0 {
		resync = DefaultResync
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Store{reader: reader, secrets: secrets, log: log, resync: resync,
		trigger: make(chan struct{}, 1), loaded: make(chan struct{})}
}

// Current returns the last load's snapshot; nil before the first load.
func (s *Store) Current() *Snapshot { return s.snap.Load() }

// Policies returns the compiled policies; nil before the first load.
func (s *Store) Policies() *policy.Set {
	if snap := s.snap.Load(); snap != nil {
		return snap.Set
	}
	return nil
}

// Invalid returns the policies left out by the last load, with why.
func (s *Store) Invalid() map[policy.Ref]error {
	snap := s.snap.Load()
	if snap == nil {
		return map[policy.Ref]error{}
	}
	out := make(map[policy.Ref]error, len(snap.Invalid))
	for k, v := range snap.Invalid {
		out[k] = v
	}
	return out
}

// Compiles counts the policies compiled since the store was made (each
// policy.Compile call), for tests and benchmarks.
func (s *Store) Compiles() uint64 { return s.compiles.Load() }

// Loaded is closed once the first load has succeeded.
func (s *Store) Loaded() <-chan struct{} { return s.loaded }

// OnChange registers fn to be called after each load but the first with
// the policies that were added, removed, or whose hash or error changed;
// loads that change nothing call nothing. fn runs on the store's
// goroutine and must not block.
func (s *Store) OnChange(fn func(changed []policy.Ref)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onChange = append(s.onChange, fn)
}

// SetPublicGood hands src's Sigstore public-good root to keyless
// authorities without a trustedRoot; call before Run.
func (s *Store) SetPublicGood(src policy.PublicGoodSource) {
	s.compile = []policy.CompileOption{policy.WithPublicGood(src)}
}

// RecompileAll asks for a reload that compiles every policy again, as a
// resync does: what a policy compiled with (the public-good root snapshot)
// changed though its spec did not.
func (s *Store) RecompileAll() {
	s.recompile.Store(true)
	s.Trigger()
}

// Trigger asks for a reload; bursts of calls coalesce into one.
func (s *Store) Trigger() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// Run loads the policies unless a load already happened, then reloads
// them on Trigger and every resync period until ctx ends. A failed listing
// keeps the previous set.
func (s *Store) Run(ctx context.Context) error {
	ticker := time.NewTicker(s.resync)
	defer ticker.Stop()
	if s.Current() == nil {
		s.logFailure(ctx, s.Load(ctx))
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.trigger:
			s.logFailure(ctx, s.load(ctx, !s.recompile.Swap(false)))
		case <-ticker.C:
			s.logFailure(ctx, s.Load(ctx))
		}
	}
}

func (s *Store) logFailure(ctx context.Context, err error) {
	if err != nil {
		s.log.ErrorContext(ctx, "loading trust policies failed; keeping the previous ones", "error", err)
	}
}

// Load lists every policy, compiles each one again (re-reading its
// Secrets) and swaps the set in.
func (s *Store) Load(ctx context.Context) error { return s.load(ctx, false) }

// load lists the policies and swaps in their compiled set; with reuse, a
// policy whose UID and generation are those of the previous load keeps
// what that load made of it.
func (s *Store) load(ctx context.Context, reuse bool) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	// A trigger queued before the listing is answered by it: informers
	// update their store before they notify handlers.
	select {
	case <-s.trigger:
	default:
	}
	var tps igv1.TrustPolicyList
	if err := s.reader.List(ctx, &tps); err != nil {
		return fmt.Errorf("listing TrustPolicies: %w", err)
	}
	var ctps igv1.ClusterTrustPolicyList
	if err := s.reader.List(ctx, &ctps); err != nil {
		return fmt.Errorf("listing ClusterTrustPolicies: %w", err)
	}
	prev := s.snap.Load()
	b := loader{store: s, ctx: ctx, entries: make(map[policy.Ref]entry, len(tps.Items)+len(ctps.Items))}
	if reuse && prev != nil {
		b.prev = prev.entries
	}
	for i := range ctps.Items {
		o := &ctps.Items[i]
		b.add(policy.Ref{Kind: "ClusterTrustPolicy", Name: o.Name}, o.UID, o.Generation, &o.Spec)
	}
	for i := range tps.Items {
		o := &tps.Items[i]
		b.add(policy.Ref{Kind: "TrustPolicy", Namespace: o.Namespace, Name: o.Name}, o.UID, o.Generation, &o.Spec)
	}
	next := b.snapshot()
	s.snap.Store(next)
	s.once.Do(func() { close(s.loaded) })
	if prev != nil {
		if changed := diff(prev.entries, next.entries); len(changed) > 0 {
			for _, fn := range s.onChange {
				fn(changed)
			}
		}
	}
	return nil
}

// loader assembles one load's snapshot.
type loader struct {
	store   *Store
	ctx     context.Context
	prev    map[policy.Ref]entry // reusable entries; nil compiles all
	entries map[policy.Ref]entry
	order   []policy.Ref // listing order: cluster policies first
}

func (b *loader) add(ref policy.Ref, uid types.UID, gen int64, spec *igv1.TrustPolicySpec) {
	b.order = append(b.order, ref)
	if e, ok := b.prev[ref]; ok && e.uid == uid && e.generation == gen {
		b.entries[ref] = e
		return
	}
	e := entry{uid: uid, generation: gen}
	b.store.compiles.Add(1)
	p, err := policy.Compile(b.ctx, ref, spec, b.store.secrets, b.store.compile...)
	if err != nil {
		e.err = err
		if br, ok := policy.NewBroken(ref, spec, err); ok {
			e.broken = &br
		}
		b.store.log.ErrorContext(b.ctx, "trust policy does not compile: the images it covers are denied", "kind", ref.Kind, "policy", ref.String(), "error", err)
	} else {
		e.compiled = p
	}
	b.entries[ref] = e
}

func (b *loader) snapshot() *Snapshot {
	snap := &Snapshot{Invalid: map[policy.Ref]error{}, entries: b.entries, order: b.order}
	compiled := make([]*policy.Policy, 0, len(b.entries))
	var broken []policy.Broken
	for _, ref := range b.order {
		e := b.entries[ref]
		if e.compiled != nil {
			compiled = append(compiled, e.compiled)
			continue
		}
		snap.Invalid[ref] = e.err
		if e.broken != nil {
			broken = append(broken, *e.broken)
		}
	}
	snap.Set = policy.NewSet(compiled, broken...)
	return snap
}

// diff returns the refs added, removed or changed between two loads.
func diff(prev, next map[policy.Ref]entry) []policy.Ref {
	var out []policy.Ref
	for ref, e := range next {
		if p, ok := prev[ref]; !ok || p.fingerprint() != e.fingerprint() {
			out = append(out, ref)
		}
	}
	for ref := range prev {
		if _, ok := next[ref]; !ok {
			out = append(out, ref)
		}
	}
	return out
}
