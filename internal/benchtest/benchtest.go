// Package benchtest holds what the benchmarks measure of the process
// itself, beside the wall time testing.B keeps: its CPU time, user and
// system, which a machine that others load moves less than wall time.
package benchtest

import (
	"syscall"
	"testing"
	"time"
)

// CPUTime is the process's CPU time so far, user and system.
func CPUTime(b testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
