package sim

import (
	"sync/atomic"
	"time"
)

// ManualClock is a Clock whose time is set by hand, for code that formats
// or stamps model times without running a model: the tests of the logs,
// the live view and the cluster, and the live view's demo.
type ManualClock struct {
	t     atomic.Int64
	epoch time.Time
}

// NewManualClock returns a ManualClock at model time zero on epoch's
// calendar (the zero Time for none).
func NewManualClock(epoch time.Time) *ManualClock { return &ManualClock{epoch: epoch} }

// Now is the time last set.
func (c *ManualClock) Now() time.Duration { return time.Duration(c.t.Load()) }

// Set sets the time to t.
func (c *ManualClock) Set(t time.Duration) { c.t.Store(int64(t)) }

// Advance moves the time on by d.
func (c *ManualClock) Advance(d time.Duration) { c.t.Add(int64(d)) }

// Calendar is the calendar time of model time t, or the zero Time if the
// clock has no epoch.
func (c *ManualClock) Calendar(t time.Duration) time.Time { return calendar(c.epoch, t) }
