package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
)

// ErrByteBudgetExceeded is returned, wrapped, by a request whose response
// would take the bytes received under a Budget beyond its limit.
var ErrByteBudgetExceeded = errors.New("byte budget exceeded")

// Budget bounds the response bytes of every request sent with a context
// that carries it (WithBudget), across concurrent requests: a verification
// reads a signature manifest, payloads, referrers and bundles, and a
// hostile registry could otherwise make one verification hold the sum of
// every per-response limit at once. Bytes are charged as they are read;
// a response announcing more than what is left is refused before its body
// is read, and a body is never read past what is left, so the bytes
// received never exceed the limit.
type Budget struct {
	limit int64
	used  atomic.Int64
	hit   atomic.Bool
}

type budgetKey struct{}

// WithBudget returns a context whose requests share a budget of limit
// bytes, and the budget.
func WithBudget(ctx context.Context, limit int64) (context.Context, *Budget) {
	b := &Budget{limit: limit}
	return context.WithValue(ctx, budgetKey{}, b), b
}

func budgetOf(ctx context.Context) *Budget {
	b, _ := ctx.Value(budgetKey{}).(*Budget)
	return b
}

// Used is the number of response bytes read under the budget.
func (b *Budget) Used() int64 { return b.used.Load() }

// Limit is the budget's limit in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Exceeded reports whether a response was refused or cut short for want
// of budget: what was read is then incomplete, whatever the errors that
// reached the caller through go-containerregistry and cosign say.
func (b *Budget) Exceeded() bool { return b.hit.Load() }

// take reserves up to want bytes and returns how many it got (0 when the
// budget is spent).
func (b *Budget) take(want int64) int64 {
	for {
		used := b.used.Load()
		got := min(want, b.limit-used)
		if got <= 0 {
			return 0
		}
		if b.used.CompareAndSwap(used, used+got) {
			return got
		}
	}
}

// give returns reserved bytes that were not read.
func (b *Budget) give(n int64) {
	if n > 0 {
		b.used.Add(-n)
	}
}

func (b *Budget) exceeded(where string) error {
	b.hit.Store(true)
	return fmt.Errorf("%w: %s: the %d bytes allowed for this operation are spent", ErrByteBudgetExceeded, where, b.limit)
}

// refuses reports, before any byte of it is read, a response that
// announces more than the budget has left.
func (b *Budget) refuses(contentLength int64, where string) error {
	if left := b.limit - b.used.Load(); contentLength > left {
		b.hit.Store(true)
		return fmt.Errorf("%w: %s announces %d bytes, %d of the %d allowed for this operation are left",
			ErrByteBudgetExceeded, where, contentLength, max(left, 0), b.limit)
	}
	return nil
}

// budgetBody charges every byte read to a Budget, reserving before it
// reads so that concurrent bodies together stay within the limit. A body
// that still wants bytes once the budget is spent fails without reading:
// one ending exactly at the limit fails too, a price paid for never
// receiving a byte beyond it.
type budgetBody struct {
	rc     io.ReadCloser
	budget *Budget
	where  string
}

func (b *budgetBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return b.rc.Read(p)
	}
	got := b.budget.take(int64(len(p)))
	if got == 0 {
		return 0, b.budget.exceeded(b.where)
	}
	n, err := b.rc.Read(p[:got])
	b.budget.give(got - int64(n))
	return n, err
}

func (b *budgetBody) Close() error { return b.rc.Close() }
