package admission

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/clusterpolicy"
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
	l, err := clusterpolicy.Load(ctx, s.reader, s.secrets)
	if err != nil {
		return err
	}
	for ref, err := range l.Invalid {
		s.log.ErrorContext(ctx, "trust policy does not compile: the images it covers are denied", "kind", ref.Kind, "policy", ref.String(), "error", err)
	}
	s.set.Store(l.Set())
	s.mu.Lock()
	s.invalid = l.Invalid
	s.mu.Unlock()
	return nil
}
