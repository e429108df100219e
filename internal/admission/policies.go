package admission

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
)

// DefaultPolicyResync is how often policies are recompiled without a
// change to them: Secrets are read, not watched (the webhook has no
// business watching every Secret of the cluster), so a key rotated in a
// Secret takes effect within this period.
const DefaultPolicyResync = 5 * time.Minute

// PolicyStore compiles TrustPolicies and ClusterTrustPolicies into a
// policy.Set and swaps it atomically, so requests read the policies in
// force without a lock and nothing is compiled per request. It recompiles
// when Trigger is called (informer events) and every resync period. A
// policy that fails to compile is left out and logged; the others stay in
// force.
type PolicyStore struct {
	reader  client.Reader // lists policies; the manager's informer cache
	secrets policy.SecretReader
	log     *slog.Logger
	resync  time.Duration

	set     atomic.Pointer[policy.Set]
	trigger chan struct{}

	mu      sync.Mutex
	invalid map[policy.Ref]error

	// compile carries the public-good root source, when there is one
	// (SetPublicGood).
	compile []policy.CompileOption
}

// SetPublicGood hands src's Sigstore public-good root to keyless
// authorities without a trustedRoot; call before Run.
func (s *PolicyStore) SetPublicGood(src policy.PublicGoodSource) {
	s.compile = []policy.CompileOption{policy.WithPublicGood(src)}
}

// NewPolicyStore returns a store that lists policies through reader and
// reads the Secrets they name through secrets. resync <= 0 means
// DefaultPolicyResync; log nil discards.
func NewPolicyStore(reader client.Reader, secrets policy.SecretReader, log *slog.Logger, resync time.Duration) *PolicyStore {
	if resync <= 0 {
		resync = DefaultPolicyResync
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PolicyStore{reader: reader, secrets: secrets, log: log, resync: resync, trigger: make(chan struct{}, 1)}
}

// Policies returns the compiled policies; nil before the first load.
func (s *PolicyStore) Policies() *policy.Set { return s.set.Load() }

// Trigger asks for a recompile; bursts of calls coalesce into one.
func (s *PolicyStore) Trigger() {
	select {
	case s.trigger <- struct{}{}:
	default:
	}
}

// Invalid returns the policies left out by the last load, with why.
func (s *PolicyStore) Invalid() map[policy.Ref]error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[policy.Ref]error, len(s.invalid))
	for k, v := range s.invalid {
		out[k] = v
	}
	return out
}

// Run loads the policies, then reloads them on Trigger and every resync
// period until ctx ends. A failed listing keeps the previous set.
func (s *PolicyStore) Run(ctx context.Context) error {
	ticker := time.NewTicker(s.resync)
	defer ticker.Stop()
	for {
		if err := s.Load(ctx); err != nil {
			s.log.ErrorContext(ctx, "loading trust policies failed; keeping the previous ones", "error", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.trigger:
		case <-ticker.C:
		}
	}
}

// Load lists and compiles every policy and swaps the set in.
func (s *PolicyStore) Load(ctx context.Context) error {
	var tps igv1.TrustPolicyList
	if err := s.reader.List(ctx, &tps); err != nil {
		return fmt.Errorf("listing TrustPolicies: %w", err)
	}
	var ctps igv1.ClusterTrustPolicyList
	if err := s.reader.List(ctx, &ctps); err != nil {
		return fmt.Errorf("listing ClusterTrustPolicies: %w", err)
	}
	compiled := make([]*policy.Policy, 0, len(tps.Items)+len(ctps.Items))
	invalid := map[policy.Ref]error{}
	var broken []policy.Broken
	add := func(ref policy.Ref, spec *igv1.TrustPolicySpec) {
		p, err := policy.Compile(ctx, ref, spec, s.secrets, s.compile...)
		if err != nil {
			invalid[ref] = err
			if b, ok := policy.NewBroken(ref, spec, err); ok {
				broken = append(broken, b)
			}
			s.log.ErrorContext(ctx, "trust policy does not compile: the images it covers are denied", "kind", ref.Kind, "policy", ref.String(), "error", err)
			return
		}
		compiled = append(compiled, p)
	}
	for i := range ctps.Items {
		add(policy.Ref{Kind: "ClusterTrustPolicy", Name: ctps.Items[i].Name}, &ctps.Items[i].Spec)
	}
	for i := range tps.Items {
		add(policy.Ref{Kind: "TrustPolicy", Namespace: tps.Items[i].Namespace, Name: tps.Items[i].Name}, &tps.Items[i].Spec)
	}
	s.set.Store(policy.NewSet(compiled, broken...))
	s.mu.Lock()
	s.invalid = invalid
	s.mu.Unlock()
	return nil
}
