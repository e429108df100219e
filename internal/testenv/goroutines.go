package testenv

import (
	"testing"

	"go.uber.org/goleak"
)

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
		if err := goleak.Find(opts...); err != nil {
			t.Errorf("goroutines left running after the test: %v", err)
		}
	})
}
