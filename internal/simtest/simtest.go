// Package simtest lets a model process check what it observes while only
// the test goroutine fails the test.
//
// The testing package allows FailNow, which require and t.Fatal call, only
// on the test goroutine, and a model process never runs there. A process
// checks with a *Checks in place of the test's *testing.T: assert and
// require record what failed (and require ends the process, by
// runtime.Goexit, which the kernel hands on as a return); after the
// kernel's Run returns (every process has ended), the test goroutine calls
// Report, which fails the test with what the processes recorded and stops
// it if a require failed.
package simtest

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// Checks collects the failures of the checks made in model processes. Its
// methods may be called from any goroutine; Report only from the test's.
type Checks struct {
	t        testing.TB
	mu       sync.Mutex
	failures []string
	stopped  bool // a require failed: a process ended early
}

// New is the checks of t's processes. If the test does not call Report, t's
// cleanup reports what was recorded, so that no failure is lost.
func New(t testing.TB) *Checks {
	c := &Checks{t: t}
	t.Cleanup(func() { c.report(false) }) // the test is ending: no FailNow
	return c
}

// Errorf records a failure; assert calls it.
func (c *Checks) Errorf(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failures = append(c.failures, fmt.Sprintf(format, args...))
}

// FailNow records that a process stopped on a failed check, and ends the
// calling process; require calls it after Errorf.
func (c *Checks) FailNow() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	runtime.Goexit()
}

// Helper is here for testify, which marks its frames as helpers.
func (c *Checks) Helper() {}

// Report fails the test with each failure recorded since the last Report,
// and stops it if a process stopped on a failed check. Call it on the test
// goroutine once the kernel's Run has returned.
func (c *Checks) Report() {
	c.t.Helper()
	c.report(true)
}

func (c *Checks) report(stop bool) {
	c.t.Helper()
	c.mu.Lock()
	failures, stopped := c.failures, c.stopped
	c.failures, c.stopped = nil, false
	c.mu.Unlock()
	for _, f := range failures {
		c.t.Error("in a model process: " + f)
	}
	if stopped && stop {
		c.t.FailNow()
	}
}

// TB is what a test's helper needs to check and stop: a *testing.T on the
// test goroutine, a *Checks in a model process.
type TB interface {
	Errorf(format string, args ...any)
	FailNow()
	Helper()
}

var (
	_ TB = (*Checks)(nil)
	_ TB = (*testing.T)(nil)
)
