//go:build unix

package testenv

import "syscall"

// CPUTime returns the user plus system CPU time, in nanoseconds, of the
// process and of its children that have been waited for (git processes a
// benchmark runs): on a shared machine it varies less than wall time.
func CPUTime() (self, children int64) {
	return rusage(syscall.RUSAGE_SELF), rusage(syscall.RUSAGE_CHILDREN)
}

func rusage(who int) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(who, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
