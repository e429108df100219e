package testenv

import (
	"testing"

	"go.uber.org/goleak"
)

// findRounds is how many times CheckGoroutines looks before it reports.
const findRounds = 4

// CheckGoroutines fails t if goroutines that started during the test are
// still running once the test and all of its cleanups have finished: call
// it first, so that its check runs after the cleanups registered later
// (servers closed, connections dropped). Goroutines that ended late are
// waited for a bounded number of times (goleak's retries), so nothing
// depends on the wall clock.
//
// It compares the whole process's goroutines, so a test that uses it must
// not run in parallel with others (no t.Parallel, and run it before any
// parallel subtest of its parent). Goroutines a library starts once per
// process on first use (caches, pools) appear as leaks of the first test
// that triggers them: warm such paths up before calling CheckGoroutines.
func CheckGoroutines(t testing.TB, opts ...goleak.Option) {
	t.Helper()
	opts = append(opts, goleak.IgnoreCurrent())
	t.Cleanup(func() {
		// Closing a server ends its clients' connection goroutines
		// asynchronously; on a loaded machine that can outlast one Find
		// (goleak retries for ~1.5 s). A few more rounds bound the wait.
		var err error
		for range findRounds {
			if err = goleak.Find(opts...); err == nil {
				return
			}
		}
		t.Errorf("goroutines left running after the test: %v", err)
	})
}
