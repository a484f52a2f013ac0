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

	"vmstorm/capacity"
	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/dist"
	"vmstorm/internal/logx"
	"vmstorm/internal/sim"
	"vmstorm/workers"
)

// Why a run ended, as the cause of its kernel's stop.
var (
	ErrDurationReached = errors.New("model duration reached")
	ErrAllJobsFinished = errors.New("all jobs finished")
)

// NewKernel returns the kernel for a run of cfg in mode: paced at
// cfg.Speed (sim.Max for none), on cfg.Epoch's calendar, ending at
// cfg.Duration.
func NewKernel(cfg config.Config, mode sim.Mode) *sim.Kernel {
	return sim.New(sim.Options{Mode: mode, Speed: float64(cfg.Speed), Epoch: cfg.Epoch, Horizon: cfg.Duration})
}

// Run runs the model described by cfg in kernel k (made by NewKernel)
// until cfg.Duration of model time has passed, every one of cfg.MaxJobs
// jobs has finished, or ctx is done; then it stops every goroutine it
// started, waits for them, and returns the summary. A run that ctx cut
// short is not an error: its summary says why it ended.
//
// Observers, if any, are given every sample and every timeline mark as the
// run goes.
func Run(ctx context.Context, cfg config.Config, k *sim.Kernel, log *zap.Logger, observers ...Observer) (*Summary, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	gauge := capacity.New(cfg.VMs)
	cl := cluster.New(cluster.Config{
		Clone: cfg.Clone, PowerOn: cfg.PowerOn, Destroy: cfg.Destroy,
		StartTimeout: cfg.StartTimeout, RejectTime: cfg.RejectTime, CPUVMs: cfg.CPUVMs,
		APIRate: cfg.APIRate, APIBurst: cfg.APIBurst, ClientRate: cfg.ClientAPIRate,
		Seed: cfg.Seed,
	}, k, gauge)
	events := logx.Lifecycle(log)
	ledger := workers.NewLedger(cfg.MaxJobs, cfg.Drained, func() { k.Stop(ErrAllJobsFinished) })

	limits := make([]int64, len(cfg.Queues))
	shares := make([]float64, len(cfg.Queues))
	for i, q := range cfg.Queues {
		limits[i], shares[i] = q.MaxBuilds, q.Share
	}
	// The scheduler hears everything through one inbox; it hands a job
	// only to a Build worker that asked, so dispatch has room for all.
	inbox := sim.NewChan[workers.Msg](k, cfg.QueueSize)
	dispatch := sim.NewChan[*workers.Job](k, cfg.BuildWorkers)
	booted := sim.NewChan[*workers.Job](k, cfg.QueueSize)
	doomed := sim.NewChan[*cluster.VM](k, cfg.QueueSize)

	source := &workers.Source{
		Clock: k, Ledger: ledger, Events: events, Seed: cfg.Seed,
		PerMinute: cfg.ArrivalsPerMinute, MaxJobs: cfg.MaxJobs, Shares: shares, Names: cfg.QueueNames(),
		Build: cfg.Build, Timeout: cfg.BuildTimeout, Out: inbox,
	}
	if tr := cfg.Traffic; tr != nil {
		source.Traffic = func(t time.Duration) float64 { return tr.Factor(cfg.Epoch, t) }
		source.MaxTraffic = tr.Max()
	}
	sched := workers.NewScheduler(workers.NewControls(k, cfg.QueueNames(), limits), inbox, dispatch)
	build := &workers.Build{
		Stage: workers.Stage{Workers: cfg.BuildWorkers},
		Clock: k, Cluster: cl, Ledger: ledger, Log: log, Events: events, MaxAttempts: cfg.MaxAttempts,
		DeleteFailedVMs: cfg.DeleteFailedVMs,
		In:              dispatch, Out: booted, Inbox: inbox,
	}
	run := workers.NewRun(k, cfg.RunWorkers)
	run.Clock, run.Cluster, run.Ledger, run.Log, run.Events, run.Seed = k, cl, ledger, log, events, cfg.Seed
	run.DeletesVMs, run.StallTimeout, run.In, run.Inbox = cfg.WorkerDeletesVMs, cfg.StallTimeout, booted, inbox
	credentials := &workers.Credentials{}
	janitor := &workers.Janitor{
		Clock: k, Cluster: cl, Log: log, Events: events, Credentials: credentials,
		Every: cfg.CleanupEvery, RatePerSecond: cfg.CleanupRate, Cutoff: cfg.CleanupCutoff,
		ReportStale: cfg.ReportStale,
		Phase:       time.Duration(dist.Stream(cfg.Seed, 0).Int64N(int64(cfg.CleanupEvery))),
		Out:         doomed,
	}
	janitor.Init(k)
	cleanup := &workers.Cleanup{
		Stage: workers.Stage{Workers: cfg.CleanupWorkers}, Concurrency: cfg.CleanupConcurrency,
		Clock: k, Cluster: cl, Events: events, In: doomed,
	}
	cleanup.Init(k)
	levers := &controls{credentials: credentials, janitor: janitor, cleanup: cleanup, scheduler: sched.Controls, cluster: cl, run: run}
	rep := newReporter(cfg, k, log, observers, probes{
		cluster: cl, ledger: ledger, janitor: janitor, scheduler: sched,
		// The backlog is the scheduler's queues and the jobs on their way
		// into them, as the summary counts it at the end.
		backlog: func() int { return sched.Len() + inbox.Len() + dispatch.Len() },
		stages:  [3]*workers.Stage{&build.Stage, &run.Stage, &cleanup.Stage},
	})
	applied := func(ev incident.Event) { rep.mark(Mark{T: k.Now(), Name: ev.Action, Note: ev.Describe()}) }

	log.Info("run_started", configFields(cfg)...)
	future, err := cfg.FullTimeline().Begin(levers, log, applied)
	if err != nil {
		return nil, err
	}

	var runErr error
	for _, f := range []func(context.Context){source.Run, sched.Run, build.Run, run.Run, janitor.Run, cleanup.Run} {
		k.Go(ctx, f)
	}
	k.Go(ctx, func(ctx context.Context) {
		if err := rep.Run(ctx, future, levers, applied); err != nil {
			runErr = err
			k.Stop(err)
		}
	})
	cause := k.Run(ctx)
	end := k.Now()
	if n := len(rep.series); n == 0 || rep.series[n-1].T < end {
		rep.sample(end) // the last row of the series is the state at the end
	}

	// Every process has returned: what is left in the scheduler's queues,
	// its inbox and its hand-off to Build is the backlog. (What is left in
	// booted is in flight and counted so by the ledger; what is left in
	// doomed is still on the cluster and counted there.)
	queued := sched.Drain()
	for _, m := range inbox.Drain() {
		if m.Job != nil && m.Kind != workers.Finished {
			queued = append(queued, m.Job)
		}
	}
	queued = append(queued, dispatch.Drain()...)

	s := summarize(summaryInput{
		cfg: cfg, kernel: k, end: end,
		ended: endReason(ctx, cause), cluster: cl, ledger: ledger, queued: queued,
		stages:  [3]workers.StageStats{build.Stats(), run.Stats(), cleanup.Stats()},
		janitor: janitor.Stats(), rep: rep,
	})
	log.Info("run_ended", zap.String("reason", s.Ended), zap.Int64("arrived", s.Jobs.Arrived),
		zap.Int64("completed", s.Jobs.Completed), zap.Int64("requeues", s.Jobs.Requeues),
		zap.Int64("queued", s.Queued), zap.Int64("in_flight", s.Jobs.InFlight))
	return s, runErr
}

// endReason says why a run ended: ctx's cause if ctx was done (a signal),
// or why the kernel stopped.
func endReason(ctx context.Context, cause error) string {
	if ctx.Err() != nil {
		if c := context.Cause(ctx); c != nil && !errors.Is(c, context.Canceled) {
			return "interrupted: " + c.Error()
		}
		return "interrupted"
	}
	switch {
	case cause == nil:
		return "stopped"
	case errors.Is(cause, sim.ErrHorizon):
		return ErrDurationReached.Error()
	}
	return cause.Error()
}
func configFields(c config.Config) []zap.Field {
	return []zap.Field{
		zap.Uint64("seed", c.Seed),
		zap.String("scenario", c.Name),
		zap.Int64("vms", c.VMs),
		zap.Int64("cpu_vms", c.CPUVMs),
		zap.Bool("break_cleanup", c.BreakCleanup),
		zap.Duration("break_at", c.BreakAt),
		zap.Duration("duration", c.Duration),
		zap.Stringer("speed", c.Speed),
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
