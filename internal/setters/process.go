package setters

import (
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
)

// outcome is what happened to one file.
type outcome struct {
	changes []Change
	skipped *Skipped
	err     error
}

// maxWorkers bounds the parallelism: files are independent, and parsing
// is CPU-bound, so more workers than cores only add memory.
const maxWorkers = 8

// process handles names on up to GOMAXPROCS workers. Outcomes keep the
// order of names, so results do not depend on scheduling. After an error
// no new file is started.
func process(ctx context.Context, r *os.Root, p plan, b *Budget, names []string) []outcome {
	out := make([]outcome, len(names))
	var next atomic.Int64
	var failed atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), maxWorkers, max(len(names), 1)) {
		wg.Go(func() {
			w := worker{ctx: ctx, root: r, plan: p, budget: b}
			defer w.closeDir()
			for !failed.Load() {
				i := next.Add(1) - 1
				if i >= int64(len(names)) {
					return
				}
				out[i] = w.file(names[i])
				if out[i].err != nil {
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return out
}

// merge joins outcomes in file order; the first error wins, but the
// changes of every file written are kept.
func merge(outcomes []outcome) (Result, error) {
	var res Result
	var err error
	for _, o := range outcomes {
		res.Changes = append(res.Changes, o.changes...)
		if o.skipped != nil {
			res.Skipped = append(res.Skipped, *o.skipped)
		}
		if err == nil {
			err = o.err
		}
	}
	return res, err
}
