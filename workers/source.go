package workers

import (
	"context"
	"time"

	"go.uber.org/zap"

	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
)

// Source makes build jobs as a Poisson process and sends them to the backlog.
type Source struct {
	Clock  *sim.Clock
	Ledger *Ledger
	Log    *zap.Logger // changes of state
	Events *zap.Logger // lifecycle events, one per job or VM step: see logx.Lifecycle
	Seed   uint64
	// PerMinute is the mean arrival rate, in jobs per model minute.
	PerMinute float64
	// MaxJobs stops arrivals after that many jobs; 0 means no limit.
	MaxJobs int64
	// Build is how long builds run; Timeout ends a longer build, as the
	// build's time limit would.
	Build   dist.Latency
	Timeout time.Duration

	Out chan<- *Job
}

// Run sends jobs until MaxJobs is reached or ctx is done, then closes Out.
func (s *Source) Run(ctx context.Context) error {
	defer close(s.Out)
	arrivals := dist.Stream(s.Seed)
	var next time.Duration
	for id := uint64(1); s.MaxJobs == 0 || id <= uint64(s.MaxJobs); id++ {
		next += dist.Interarrival(arrivals, s.PerMinute)
		if !s.Clock.SleepUntil(ctx, next) {
			return nil
		}
		// Job-level draws use attempt 0 of the job's streams; the cluster
		// uses attempts 1, 2, ... for the VMs.
		build := s.Build.Draw(dist.Stream(s.Seed, id, 0))
		if s.Timeout > 0 {
			build = min(build, s.Timeout)
		}
		job := &Job{ID: id, ArrivedAt: s.Clock.Now(), BuildTime: build}
		if !sim.Send(ctx, s.Out, job) {
			return nil
		}
		s.Ledger.arrive()
		s.Events.Debug("job_arrived", zap.Uint64("job_id", id), seconds("build_s", build))
	}
	return nil
}
