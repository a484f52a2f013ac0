package workers

import (
	"context"
	"math/rand/v2"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
)

// Source makes build jobs as a Poisson process and sends them to the
// scheduler.
type Source struct {
	Env
	SourceSettings

	Out  *sim.Chan[Msg] // the scheduler's inbox
	Held *Budget        // the run's memory budget, asked before each job; nil for none
}

// SourceSettings are the arrivals' settings.
type SourceSettings struct {
	// PerMinute is the mean arrival rate, in jobs per model minute.
	PerMinute float64
	// MaxJobs stops arrivals after that many jobs; 0 means no limit.
	MaxJobs int64
	// Build is how long builds run; Timeout ends a longer build, as the
	// build's time limit would.
	Build   dist.Latency
	Timeout time.Duration
	// Shares split arrivals between the queues: job goes to queue i with
	// probability Shares[i] / sum(Shares). Empty means one queue. Names
	// are the queues' names.
	Shares []float64
	Names  []string
	// Traffic, if set, scales the arrival rate over model time (a daily
	// curve, a burst): the rate at t is PerMinute * Traffic(t), and
	// MaxTraffic must bound Traffic from above.
	Traffic    func(t time.Duration) float64
	MaxTraffic float64
}

// NewSource returns the source of a run's jobs, with settings s, sending
// them to out and asking held, the run's memory budget (nil for none),
// before each.
func NewSource(env Env, s SourceSettings, out *sim.Chan[Msg], held *Budget) *Source {
	return &Source{Env: env, SourceSettings: s, Out: out, Held: held}
}

// Run sends jobs until MaxJobs is reached or the run stops.
func (s *Source) Run(ctx context.Context) {
	arrivals := dist.Arrivals.Stream(s.Seed)
	var next time.Duration
	for id := uint64(1); s.MaxJobs == 0 || id <= uint64(s.MaxJobs); id++ {
		next = s.nextArrival(arrivals, next)
		if !sim.SleepUntil(ctx, next) || !s.Held.Allow() {
			return
		}
		r := dist.JobDraws.Stream(s.Seed, id)
		build := s.Build.Draw(r)
		if s.Timeout > 0 {
			build = min(build, s.Timeout)
		}
		now := s.Kernel.Now()
		q := s.queue(r)
		job := &Job{ID: id, Queue: q, QueueName: s.Names[q], ArrivedAt: now, WaitingSince: now, BuildTime: build}
		// Counted before the hand-off: once sent, a Build worker may start
		// it at once.
		s.Ledger.arrive(job)
		if !s.Out.Send(ctx, Msg{Kind: Arrived, Job: job}) {
			s.Ledger.unarrive(job)
			return
		}
		if ce := check(s.Events, zapcore.DebugLevel, "job_arrived"); ce != nil { // no fields built for a line not written
			ce.Write(zap.Uint64("job_id", id), zap.String("queue", job.QueueName), seconds("build_s", build))
		}
	}
}

// nextArrival draws the time of the arrival after prev. A varying rate is
// drawn by thinning: candidates come at the peak rate and each is kept with
// probability rate(t)/peak, which gives a Poisson process of rate rate(t).
func (s *Source) nextArrival(r *rand.Rand, prev time.Duration) time.Duration {
	if s.Traffic == nil {
		return prev + dist.Interarrival(r, s.PerMinute)
	}
	peak := s.PerMinute * s.MaxTraffic
	t := prev
	for {
		t += dist.Interarrival(r, peak)
		if r.Float64()*s.MaxTraffic < s.Traffic(t) {
			return t
		}
	}
}

// queue draws the queue of a new job from its own stream.
func (s *Source) queue(r *rand.Rand) int {
	if len(s.Shares) < 2 {
		return 0
	}
	var total float64
	for _, w := range s.Shares {
		total += w
	}
	x := r.Float64() * total
	for i, w := range s.Shares {
		if x < w {
			return i
		}
		x -= w
	}
	return len(s.Shares) - 1
}
