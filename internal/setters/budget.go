package setters

import (
	"context"
	"fmt"

	"golang.org/x/sync/semaphore"
)

// Limits bound what Apply parses. A marked file over either limit is
// skipped (reported in Result.Skipped, left byte-identical), so one file in
// a repository cannot make the controller run out of memory.
type Limits struct {
	// MaxFileBytes is the largest marked file parsed. Larger files that
	// carry no marker are still screened, in chunks, at no memory cost.
	MaxFileBytes int
	// MaxFileNodes is the most YAML nodes a marked file may hold, counted
	// before parsing as an upper bound (see nodeBound): the parser's memory
	// grows with nodes, and a file of short nodes ("[a,a,a,...]") builds
	// many more per byte than Kubernetes manifests do.
	MaxFileNodes int
}

// DefaultLimits are sized from measurement (TestWorstAllowedFileHeap,
// BenchmarkWorstAllowedFile). The parser allocates 200 to 340 bytes per
// node: the worst file they admit (empty documents to the node limit,
// then a comment to the byte limit) allocates 161 MiB while parsed, an
// upper bound on what it adds to the heap, against a 512 MiB container
// limit; ordinary Deployments reach the node limit at about 2.4 MiB
// (61 MiB). Kubernetes objects are far smaller (etcd refuses requests
// over 1.5 MiB).
var DefaultLimits = Limits{MaxFileBytes: 4 << 20, MaxFileNodes: 400_000}

// budgetUnits is the capacity of a Budget's semaphore: a file at one of
// the limits weighs all of it.
const budgetUnits = 1 << 20

// Budget bounds the parsing of every Apply made through it: each marked
// file is checked against the Limits, and the files parsed at the same
// time, across workers and across concurrent Apply calls, together stay
// within one file's limits. A file weighs its share of the larger of the
// two limits (bytes or nodes), so a file at a limit is parsed alone while
// ordinary manifests, a few hundred nodes each, are parsed side by side.
// A weighted semaphore rather than a single flight for large files: it
// bounds the sum, so many files just under a threshold cannot add up.
//
// A process shares one Budget; the package-level Apply uses one with
// DefaultLimits.
type Budget struct {
	limits  Limits
	parsing *semaphore.Weighted
}

// NewBudget returns a Budget; both limits must be positive.
func NewBudget(l Limits) (*Budget, error) {
	if l.MaxFileBytes <= 0 || l.MaxFileNodes <= 0 {
		return nil, fmt.Errorf("setter limits must be positive: max file bytes %d, max file nodes %d", l.MaxFileBytes, l.MaxFileNodes)
	}
	return &Budget{limits: l, parsing: semaphore.NewWeighted(budgetUnits)}, nil
}

// Limits returns the budget's limits.
func (b *Budget) Limits() Limits { return b.limits }

var defaultBudget, _ = NewBudget(DefaultLimits)

// DefaultBudget returns the Budget of the package-level Apply.
func DefaultBudget() *Budget { return defaultBudget }

// admit checks a marked YAML file against the limits: it returns the
// file's weight, or why it is skipped.
func (b *Budget) admit(data []byte) (weight int64, skip string) {
	if len(data) > b.limits.MaxFileBytes {
		return 0, fmt.Sprintf("larger than the limit of %d bytes for files with image policy markers (--setter-max-file-bytes); split the file so its markers can be applied",
			b.limits.MaxFileBytes)
	}
	nodes := nodeBound(data)
	if nodes > b.limits.MaxFileNodes {
		return 0, fmt.Sprintf("may hold up to %d YAML nodes (counted before parsing), over the limit of %d (--setter-max-file-nodes); split the file so its markers can be applied",
			nodes, b.limits.MaxFileNodes)
	}
	w := max(int64(len(data))*budgetUnits/int64(b.limits.MaxFileBytes), int64(nodes)*budgetUnits/int64(b.limits.MaxFileNodes), 1)
	return w, ""
}

// acquire waits until weight fits in the budget.
func (b *Budget) acquire(ctx context.Context, weight int64) error {
	if err := b.parsing.Acquire(ctx, weight); err != nil {
		return fmt.Errorf("waiting to parse: %w", err)
	}
	return nil
}

func (b *Budget) release(weight int64) { b.parsing.Release(weight) }

// Reserve waits until data fits in the budget beside the files being
// parsed on other goroutines, for readers that call Scan in parallel
// (imagegate audit); call release once the parse is done. A file over the
// limits weighs the whole budget: Scan refuses it without parsing.
func (b *Budget) Reserve(ctx context.Context, data []byte) (release func(), err error) {
	w, skip := b.admit(data)
	if skip != "" {
		w = budgetUnits
	}
	if err := b.acquire(ctx, w); err != nil {
		return nil, err
	}
	return func() { b.release(w) }, nil
}
