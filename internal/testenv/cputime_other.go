//go:build !unix

package testenv

// CPUTime is not measured here: benchmarks then report 0.
func CPUTime() (self, children int64) { return 0, 0 }
