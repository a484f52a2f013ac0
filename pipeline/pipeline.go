// Package pipeline joins the model's stages into one run and owns it: it
// starts every goroutine, ends the run, waits for all of them, and accounts
// for every job and VM in the Summary.
//
//	source ─► scheduler ─► Build ─► Run ─► (VM finished) ··· janitor ─► Cleanup
//	             ▲  ▲        │       │
//	             │  └requeue─┘       │
//	             └───lost builds─────┘
package pipeline

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"vmstorm/capacity"
	"vmstorm/cluster"
	"vmstorm/incident"
	"vmstorm/internal/dist"
	"vmstorm/internal/logx"
	"vmstorm/internal/sim"
	"vmstorm/workers"
)

// Why a run ended, as the cause of its context.
var (
	ErrDurationReached = errors.New("model duration reached")
	ErrAllJobsFinished = errors.New("all jobs finished")
)

// Run runs the model described by cfg on clock until cfg.Duration of model
// time has passed, every one of cfg.MaxJobs jobs has finished, or ctx is
// done; then it stops every goroutine it started, waits for them, and
// returns the summary. A run that ctx cut short is not an error: its summary
// says why it ended.
//
// Observers, if any, are given every sample and every timeline mark as the
// run goes.
func Run(ctx context.Context, cfg Config, clock *sim.Clock, log *zap.Logger, observers ...Observer) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	wallStart := time.Now()
	runCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)

	gauge := capacity.New(cfg.VMs)
	cl := cluster.New(cluster.Config{
		Clone: cfg.Clone, PowerOn: cfg.PowerOn, Destroy: cfg.Destroy,
		StartTimeout: cfg.StartTimeout, RejectTime: cfg.RejectTime, CPUVMs: cfg.CPUVMs,
		APIRate: cfg.APIRate, APIBurst: cfg.APIBurst, ClientRate: cfg.ClientAPIRate,
		Seed: cfg.Seed,
	}, clock, gauge)
	events := logx.Lifecycle(log)
	ledger := workers.NewLedger(cfg.MaxJobs, func() { stop(ErrAllJobsFinished) })

	limits := make([]int64, len(cfg.Queues))
	shares := make([]float64, len(cfg.Queues))
	for i, q := range cfg.Queues {
		limits[i], shares[i] = q.MaxBuilds, q.Share
	}
	arrivals := make(chan *workers.Job, cfg.QueueSize)
	requeues := make(chan *workers.Job, cfg.QueueSize)
	returns := make(chan *workers.Job, cfg.QueueSize)
	finished := make(chan int, cfg.QueueSize)
	dispatch := make(chan *workers.Job) // unbuffered: see workers.Scheduler
	booted := make(chan *workers.Job, cfg.QueueSize)
	doomed := make(chan *cluster.VM, cfg.QueueSize)

	source := &workers.Source{
		Clock: clock, Ledger: ledger, Events: events, Seed: cfg.Seed,
		PerMinute: cfg.ArrivalsPerMinute, MaxJobs: cfg.MaxJobs, Shares: shares,
		Build: cfg.Build, Timeout: cfg.BuildTimeout, Out: arrivals,
	}
	if tr := cfg.Traffic; tr != nil {
		source.Traffic = func(t time.Duration) float64 { return tr.Factor(cfg.Epoch, t) }
		source.MaxTraffic = tr.Max()
	}
	sched := &workers.Scheduler{
		Controls: workers.NewControls(cfg.QueueNames(), limits),
		Arrivals: arrivals, Requeues: requeues, Returns: returns, Finished: finished, Out: dispatch,
	}
	sched.Init()
	build := &workers.Build{
		Stage: workers.Stage{Workers: cfg.BuildWorkers},
		Clock: clock, Cluster: cl, Ledger: ledger, Log: log, Events: events, MaxAttempts: cfg.MaxAttempts,
		DeleteFailedVMs: cfg.DeleteFailedVMs,
		In:              dispatch, Out: booted, Requeue: requeues, Finished: finished,
	}
	run := &workers.Run{
		Stage: workers.Stage{Workers: cfg.RunWorkers},
		Clock: clock, Cluster: cl, Ledger: ledger, Log: log, Events: events, Seed: cfg.Seed,
		DeletesVMs: cfg.WorkerDeletesVMs, StallTimeout: cfg.StallTimeout,
		In: booted, Returns: returns, Finished: finished,
	}
	run.Init()
	credentials := &workers.Credentials{}
	janitor := &workers.Janitor{
		Clock: clock, Cluster: cl, Log: log, Events: events, Credentials: credentials,
		Every: cfg.CleanupEvery, RatePerSecond: cfg.CleanupRate, Cutoff: cfg.CleanupCutoff,
		ReportStale: cfg.ReportStale,
		Phase:       time.Duration(dist.Stream(cfg.Seed, 0).Int64N(int64(cfg.CleanupEvery))),
		Out:         doomed,
	}
	janitor.Init()
	cleanup := &workers.Cleanup{
		Stage: workers.Stage{Workers: cfg.CleanupWorkers}, Concurrency: cfg.CleanupConcurrency,
		Clock: clock, Cluster: cl, Events: events, In: doomed,
	}
	cleanup.Init()
	levers := &controls{credentials: credentials, janitor: janitor, cleanup: cleanup, scheduler: sched.Controls, cluster: cl, run: run}
	rep := newReporter(cfg, clock, log, observers, probes{
		cluster: cl, ledger: ledger, janitor: janitor, scheduler: sched,
		// The backlog is the scheduler's queues and the jobs in the
		// channels into it, as the summary counts it at the end.
		backlog: func() int { return sched.Len() + len(arrivals) + len(requeues) + len(returns) },
		stages:  [3]*workers.Stage{&build.Stage, &run.Stage, &cleanup.Stage},
	})
	applied := func(ev incident.Event) { rep.mark(Mark{T: clock.Now(), Name: ev.Action, Note: ev.Describe()}) }

	log.Info("run_started", cfg.fields()...)
	future, err := cfg.FullTimeline().Begin(levers, log, applied)
	if err != nil {
		return nil, err
	}

	g, gctx := errgroup.WithContext(runCtx)
	g.Go(func() error { return source.Run(gctx) })
	g.Go(func() error { return sched.Run(gctx) })
	g.Go(func() error {
		// Build and Run both report finished jobs: the channel is closed
		// once both have stopped.
		var senders errgroup.Group
		senders.Go(func() error { return build.Run(gctx) })
		senders.Go(func() error { return run.Run(gctx) })
		defer close(finished)
		return senders.Wait()
	})
	g.Go(func() error { return janitor.Run(gctx) })
	g.Go(func() error { return cleanup.Run(gctx) })
	g.Go(func() error { return rep.Run(gctx, future, levers, applied) })
	g.Go(func() error {
		if clock.Sleep(gctx, cfg.Duration) {
			stop(ErrDurationReached)
		}
		return nil
	})
	err = g.Wait()
	end := clock.Now()
	rep.sample(end) // the last row of the series is the state at the end

	// Every goroutine has returned and every channel is closed by its
	// sender: what is left in the queues is the backlog. (What is left in
	// booted is in flight and counted so by the ledger; what is left in
	// doomed is still on the cluster and counted there.)
	queued := sched.Drain()
	for _, ch := range []chan *workers.Job{arrivals, requeues, returns, dispatch} {
		for j := range ch {
			queued = append(queued, j)
		}
	}

	s := summarize(summaryInput{
		cfg: cfg, clock: clock, end: end, wall: time.Since(wallStart),
		ended: endReason(ctx, runCtx), cluster: cl, ledger: ledger, queued: queued,
		stages:  [3]workers.StageStats{build.Stats(), run.Stats(), cleanup.Stats()},
		janitor: janitor.Stats(), rep: rep,
	})
	log.Info("run_ended", zap.String("reason", s.Ended), zap.Int64("arrived", s.Jobs.Arrived),
		zap.Int64("completed", s.Jobs.Completed), zap.Int64("requeues", s.Jobs.Requeues),
		zap.Int64("queued", s.Queued), zap.Int64("in_flight", s.Jobs.InFlight))
	return s, err
}

func endReason(parent, run context.Context) string {
	if parent.Err() != nil {
		if cause := context.Cause(parent); cause != nil && !errors.Is(cause, context.Canceled) {
			return "interrupted: " + cause.Error()
		}
		return "interrupted"
	}
	if cause := context.Cause(run); cause != nil {
		return cause.Error()
	}
	return "stopped"
}

func (c Config) fields() []zap.Field {
	return []zap.Field{
		zap.Uint64("seed", c.Seed),
		zap.String("scenario", c.Name),
		zap.Int64("vms", c.VMs),
		zap.Int64("cpu_vms", c.CPUVMs),
		zap.Bool("break_cleanup", c.BreakCleanup),
		zap.Duration("break_at", c.BreakAt),
		zap.Duration("duration", c.Duration),
		zap.Float64("speed", c.Speed),
		zap.Float64("arrival_rate_per_min", c.ArrivalsPerMinute),
		zap.Int64("max_jobs", c.MaxJobs),
		zap.Int("build_workers", c.BuildWorkers),
		zap.Int("run_workers", c.RunWorkers),
		zap.Int("cleanup_workers", c.CleanupWorkers),
		zap.Int("cleanup_concurrency", c.CleanupConcurrency),
		zap.Int("queue_size", c.QueueSize),
		zap.Duration("clone_time", c.Clone.Mean), zap.Duration("clone_spread", c.Clone.Spread),
		zap.Duration("boot_time", c.PowerOn.Mean), zap.Duration("boot_spread", c.PowerOn.Spread),
		zap.Duration("destroy_time", c.Destroy.Mean), zap.Duration("destroy_spread", c.Destroy.Spread),
		zap.Duration("build_time", c.Build.Mean), zap.Duration("build_spread", c.Build.Spread),
		zap.Duration("start_timeout", c.StartTimeout),
		zap.Duration("build_timeout", c.BuildTimeout),
		zap.Int("max_attempts", c.MaxAttempts),
		zap.Duration("cleanup_every", c.CleanupEvery),
		zap.Float64("cleanup_rate_per_s", c.CleanupRate),
		zap.Duration("cleanup_cutoff", c.CleanupCutoff),
		zap.Duration("status_every", c.StatusEvery),
		zap.Duration("sample_every", c.SampleEvery),
	}
}
