package workers

import (
	"sync/atomic"
	"time"

	"vmstorm/internal/sim"
)

// StageNames are the pools' names for people: Build, Run and Cleanup, in
// the order a run's stages are listed.
var StageNames = [3]string{"build (clone + power on)", "run (build)", "cleanup (destroy)"}

// Stage counts what one pool did: work taken, work that succeeded or failed,
// and model time its workers spent busy.
type Stage struct {
	Workers int

	taken, succeeded, failed atomic.Int64
	busyNow                  atomic.Int64
	busy                     atomic.Int64 // model ns, over finished work
}

// begin marks one worker busy and returns when it began.
func (s *Stage) begin(clock sim.Clock) time.Duration {
	s.taken.Add(1)
	s.busyNow.Add(1)
	return clock.Now()
}

// end marks the worker that began at start idle again.
func (s *Stage) end(clock sim.Clock, start time.Duration, ok bool) {
	s.busy.Add(int64(clock.Now() - start))
	s.busyNow.Add(-1)
	if ok {
		s.succeeded.Add(1)
	} else {
		s.failed.Add(1)
	}
}

// StageStats is a snapshot of a Stage.
type StageStats struct {
	Workers                  int
	Taken, Succeeded, Failed int64
	BusyNow                  int64
	Busy                     time.Duration
}

// Stats reads the stage's counters.
func (s *Stage) Stats() StageStats {
	return StageStats{
		Workers:   s.Workers,
		Taken:     s.taken.Load(),
		Succeeded: s.succeeded.Load(),
		Failed:    s.failed.Load(),
		BusyNow:   s.busyNow.Load(),
		Busy:      time.Duration(s.busy.Load()),
	}
}

// BusyFraction is the share of the pool's worker time spent busy over a run
// of length elapsed.
func (s StageStats) BusyFraction(elapsed time.Duration) float64 {
	if s.Workers == 0 || elapsed <= 0 {
		return 0
	}
	return float64(s.Busy) / (float64(s.Workers) * float64(elapsed))
}
