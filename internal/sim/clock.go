// Package sim holds the model's clock and the hand-offs between model
// goroutines. Every point where a model goroutine waits, for model time to
// pass or for another goroutine, is a function of this package (or the
// scheduler's dispatch loop, workers.Scheduler.Run, which waits on several
// inputs at once), so that a later virtual clock can take over time and
// still see every waiter.
package sim

import (
	"context"
	"sync/atomic"
	"time"
)

// Clock maps wall-clock time onto model time: model time runs Speed times
// faster than the wall clock from the moment the clock is made. It reads the
// standard time package, so under testing/synctest a whole run uses the fake
// clock of the bubble.
type Clock struct {
	start time.Time
	speed float64
	epoch time.Time

	// Requested and slept model time, summed over finished sleeps: how
	// faithfully the wall clock keeps the configured latencies at this speed.
	requested atomic.Int64
	slept     atomic.Int64
}

// NewClock starts a model clock at model time zero. Speed is model seconds
// per wall second and must be positive. Epoch is the calendar time that model
// time zero stands for; the zero Time means the model has no calendar.
func NewClock(speed float64, epoch time.Time) *Clock {
	if speed <= 0 {
		panic("sim: clock speed must be positive")
	}
	return &Clock{start: time.Now(), speed: speed, epoch: epoch}
}

// Speed is model seconds per wall second.
func (c *Clock) Speed() float64 { return c.speed }

// Epoch is the calendar time of model time zero (zero if none).
func (c *Clock) Epoch() time.Time { return c.epoch }

// Now is the model time elapsed since the clock started.
func (c *Clock) Now() time.Duration { return c.ModelAt(time.Now()) }

// ModelAt is the model time at a wall-clock instant, such as a log entry's
// timestamp.
func (c *Clock) ModelAt(wall time.Time) time.Duration {
	return time.Duration(float64(wall.Sub(c.start)) * c.speed)
}

// Calendar is the calendar time of model time t, or the zero Time if the
// clock has no epoch.
func (c *Clock) Calendar(t time.Duration) time.Time {
	if c.epoch.IsZero() {
		return time.Time{}
	}
	return c.epoch.Add(t)
}

// wall converts a model duration to the wall-clock duration it takes.
func (c *Clock) wall(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.speed)
}

// Sleep waits for d of model time. It returns false, early, if ctx is done.
// A d that is zero, negative, or shorter than a nanosecond of wall time at
// this speed returns at once (after checking ctx), so models with zero
// latencies run as fast as the machine allows.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) bool {
	wall := c.wall(d)
	if wall <= 0 {
		// Too short to wait for at this speed (or no wait at all).
		return ctx.Err() == nil
	}
	from := c.Now()
	if !c.wait(ctx, wall) {
		return false
	}
	c.requested.Add(int64(d))
	c.slept.Add(int64(c.Now() - from))
	return true
}

// SleepUntil waits until model time t. Pacing a loop against absolute times
// keeps the lateness of one wake-up from adding up over many.
func (c *Clock) SleepUntil(ctx context.Context, t time.Duration) bool {
	return c.Sleep(ctx, t-c.Now())
}

func (c *Clock) wait(ctx context.Context, wall time.Duration) bool {
	timer := time.NewTimer(wall)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// SleepOrWake waits for d of model time, or until wake is signalled. It
// reports whether wake cut the sleep short; ok is false if ctx is done.
func (c *Clock) SleepOrWake(ctx context.Context, d time.Duration, wake <-chan struct{}) (woken, ok bool) {
	timer := time.NewTimer(max(c.wall(d), 0))
	defer timer.Stop()
	select {
	case <-timer.C:
		return false, true
	case <-wake:
		return true, true
	case <-ctx.Done():
		return false, false
	}
}

// Fidelity reports the model time that finished sleeps asked for and the
// model time they really took. At a speed the machine keeps up with, the two
// agree to well within a percent.
func (c *Clock) Fidelity() (requested, slept time.Duration) {
	return time.Duration(c.requested.Load()), time.Duration(c.slept.Load())
}
