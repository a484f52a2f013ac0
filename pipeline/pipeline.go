// Package pipeline joins the model's stages into one run and owns it: it
// starts every goroutine as a process of the run's kernel, applies the
// timeline, samples the model's state for a series.Sink, ends the run,
// waits for every goroutine, and accounts for every job and VM in the
// Summary. It observes; it does not judge (see package analysis).
//
//	source ─► scheduler ─► Build ─► Run ─► (VM finished) ··· janitor ─► Cleanup
//	             ▲  ▲        │       │
//	             │  └requeue─┘       │
//	             └───lost builds─────┘
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.uber.org/zap"

	"vmstorm/capacity"
	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/series"
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

// Options say what watches a run, and every path by which what is
// observed acts back on the model: the Pager, and a game's Hold.
type Options struct {
	Log *zap.Logger // the run's log; nil for none
	// Events, if not nil, is the log of the lifecycle events (one per job
	// arrival, VM start, requeue, ...), thousands in a storm, which an
	// output may treat apart (logx.Lifecycle names them so that the console
	// samples them). With none, they go to Log.
	Events *zap.Logger
	// Sink, if not nil, is given every sample of the model's state (the
	// last one at the run's end) and every timeline event as it is applied.
	Sink series.Sink
	// Pager, if not nil, reports detection, asked after every sample until
	// it does: the timeline's events placed after detection wait for it.
	// With none, nothing is ever detected and those events never happen.
	Pager Pager
	// Shared, if not nil, is the memory budget of the runs that go on at
	// once with this one (see workers.Shared), which holds it as well as
	// to its own.
	Shared *workers.Shared
	// Hold, if not nil, holds the run at steps of model time and adds the
	// events it is given to the timeline: the second path back into the
	// model, a game's player (see Hold).
	Hold *Hold
}

// Hold lets a caller outside the model (a game's player) pace a run and
// add operators' actions to its timeline as it goes, through the one
// mechanism a scenario's timeline has: a process of the run sleeps to a
// nanosecond before each multiple b of Every within the run and calls At
// there, the whole model held until it returns (At may wait on the wall
// clock: that wait is outside the model, as a pace is). The events At
// returns are placed on the timeline at b, after any already due at b, and
// applied there as a scenario's events due at b would be. A run given the
// same events in its scenario's timeline, at the same times and in the
// same order, is the same run: the process draws nothing, changes nothing
// in the model, and wakes the timeline only before b, so that at b every
// process runs as in that run (gameday's replay test).
type Hold struct {
	Every time.Duration
	At    func(ctx context.Context, b time.Duration) []incident.Event
}

// Run runs the model described by cfg in kernel k (made by NewKernel)
// until cfg.Duration of model time has passed, every one of cfg.MaxJobs
// jobs has finished, or ctx is done; then it stops every goroutine it
// started, waits for them, and returns the summary. A run that ctx cut
// short is not an error: its summary says why it ended.
func Run(ctx context.Context, cfg config.Config, k *sim.Kernel, o Options) (*Summary, error) {
	if h := o.Hold; h != nil && h.Every <= 1 {
		return nil, errors.New("pipeline: a hold's steps must be longer than a nanosecond")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log, events, sink, shared := o.Log, o.Events, o.Sink, o.Shared
	if log == nil {
		log = zap.NewNop()
	}
	if events == nil {
		events = log
	}
	if sink == nil {
		sink = discard{}
	}
	set := settingsOf(cfg)
	queues := workers.NewQueueControls(k, cfg.QueueNames(), set.limits)
	policies, breakerMarks, err := newPolicies(cfg, set.policies, k, queues)
	if err != nil {
		return nil, err
	}
	switches := policies.Switches // every part reads the one set
	set.cluster.OnRoom = func() {
		if switches.On(incident.CapacityAware) {
			queues.Poke() // room again: capacity-aware dispatch may hand out a job
		}
	}
	gauge := capacity.New(cfg.VMs)
	cl := cluster.New(set.cluster, k, gauge)
	ledger := workers.NewLedger(cfg.MaxJobs, cfg.Drained, func() { k.Stop(ErrAllJobsFinished) })
	env := workers.Env{Kernel: k, Cluster: cl, Ledger: ledger, Log: log, Events: events, Seed: cfg.Seed}

	// The scheduler hears everything through one inbox; it hands a job
	// only to a Build worker that asked, so dispatch has room for all.
	inbox := sim.NewChan[workers.Msg](k, cfg.QueueSize)
	dispatch := sim.NewChan[*workers.Job](k, cfg.BuildWorkers)
	booted := sim.NewChan[*workers.Job](k, cfg.QueueSize)
	doomed := sim.NewChan[*cluster.VM](k, cfg.QueueSize)

	held := &workers.Budget{Max: cfg.MaxHeld, Ledger: ledger, Cluster: cl, Stop: k.Stop, Shared: shared}
	defer held.Release()
	backoffs := workers.NewBackoffs(k, inbox)
	source := workers.NewSource(env, set.source, inbox, held)
	build := workers.NewBuildPool(env, cfg.BuildWorkers, set.build, workers.BuildLinks{
		In: dispatch, Out: booted, Inbox: inbox, Policies: policies, Backoffs: backoffs, Held: held,
	})
	room := func(handed int64) bool {
		// Room for one more start: the slots in use, and the starts under
		// way that hold none yet (a booting VM holds its slot already),
		// and the jobs handed out that no worker has begun.
		st, bs := cl.Stats(), build.Stats()
		starting := bs.BusyNow - st.ByState[cluster.Booting]
		unbegun := handed - bs.Taken
		return st.InUse+max(starting, 0)+max(unbegun, 0) < st.Capacity
	}
	sched := workers.NewScheduler(env, set.scheduler, workers.SchedulerLinks{
		Queues: queues, Inbox: inbox, Out: dispatch, Switches: switches, Room: room,
	})
	runPool := workers.NewRunPool(env, cfg.RunWorkers, set.run, booted, inbox)
	credentials := &workers.Credentials{}
	janitor := workers.NewJanitor(env, set.janitor, credentials, switches, doomed)
	cleanup := workers.NewCleanupPool(env, cfg.CleanupWorkers, cfg.CleanupConcurrency, doomed)

	parts := levers{credentials: credentials, janitor: janitor, cleanup: cleanup, queues: queues, cluster: cl, run: runPool, switches: switches}
	smp := sampler{
		clock: k, cluster: cl, ledger: ledger, janitor: janitor, queues: queues,
		// The backlog is the scheduler's queues and the jobs on their way
		// into them, as the summary counts it at the end.
		backlog:  func() int64 { return int64(sched.Len() + inbox.Len() + dispatch.Len() + backoffs.Len()) },
		stages:   [3]*workers.Stage{&build.Stage, &runPool.Stage, &cleanup.Stage},
		policies: policies, backoffs: backoffs, breakerMarks: breakerMarks,
	}
	applied := func(ev incident.Event) {
		sink.Mark(eventMark(k.Now(), ev))
	}

	log.Info("run_started", configFields(cfg)...)
	future, afterDetection, err := parts.begin(cfg.FullTimeline(), log, applied)
	if err != nil {
		return nil, err
	}

	var runErr error
	for _, f := range []func(context.Context){source.Run, sched.Run, build.Run, runPool.Run, janitor.Run, cleanup.Run, backoffs.Run} {
		k.Go(ctx, f)
	}
	obs := &observer{smp: smp, sink: sink, every: cfg.SampleEvery, last: -1, pager: o.Pager}
	tl := &timeline{parts: parts, log: log, now: k.Now, obs: obs, future: future, afterDetection: afterDetection, added: sim.NewSignal(k)}
	obs.tl = tl
	k.Go(ctx, func(ctx context.Context) {
		if err := tl.run(ctx); err != nil {
			runErr = err
			k.Stop(err)
		}
	})
	k.Go(ctx, obs.run)
	if h := o.Hold; h != nil {
		k.Go(ctx, func(ctx context.Context) {
			if err := hold(ctx, h, cfg, tl); err != nil {
				runErr = err
				k.Stop(err)
			}
		})
	}
	cause := k.Run(ctx)
	end := k.Now()
	if _, ok := errors.AsType[*workers.BudgetError](cause); ok && runErr == nil {
		runErr = cause // the run did not go as far as asked
	}
	if _, ok := errors.AsType[*workers.SharedBudgetError](cause); ok && runErr == nil {
		runErr = cause // nor did this one, for a reason outside the model
	}
	obs.sampleEnd(end) // the last sample is the state at the end

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
	backingOff := backoffs.Drain()
	queued = append(queued, backingOff...)

	s := summarize(summaryInput{
		cfg: cfg, kernel: k, end: end,
		ended: endReason(ctx, cause), cluster: cl, ledger: ledger, queued: queued,
		stages:      [3]workers.StageStats{build.Stats(), runPool.Stats(), cleanup.Stats()},
		janitor:     janitor.Stats(),
		mitigations: mitigationStats(end, policies, int64(len(backingOff))),
	})
	ledger.Release() // its histogram is counted in s, and free for another run
	log.Info("run_ended", zap.String("reason", s.Ended), zap.Int64("arrived", s.Jobs.Arrived),
		zap.Int64("completed", s.Jobs.Completed), zap.Int64("requeues", s.Jobs.Requeues),
		zap.Int64("queued", s.Queued), zap.Int64("in_flight", s.Jobs.InFlight))
	return s, runErr
}

// discard is the sink of a run that nobody watches.
type discard struct{}

func (discard) Sample(series.Sample) {}
func (discard) Mark(series.Mark)     {}

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

// configFields are the run's parameters as log fields: every one of
// config.Params, under its flag's name in snake_case. A whole number of 64
// bits (the seed) is a string of its digits: jq and JavaScript read a JSON
// number as a float64, which rounds one past 2^53 to another.
func configFields(c config.Config) []zap.Field {
	fields := []zap.Field{zap.String("scenario", c.Name)}
	for _, p := range config.Params {
		if u, ok := p.Value(&c).(uint64); ok {
			fields = append(fields, zap.String(p.LogKey(), strconv.FormatUint(u, 10)))
			continue
		}
		fields = append(fields, zap.Any(p.LogKey(), p.Value(&c)))
	}
	return fields
}

// hold is the process of a Hold: at a nanosecond before each step b it
// calls h.At and merges the events it gives into the timeline at b. It
// returns the first event that is not valid for the run.
func hold(ctx context.Context, h *Hold, cfg config.Config, tl *timeline) error {
	for b := h.Every; b <= cfg.Duration; b += h.Every {
		if !sim.SleepUntil(ctx, b-1) {
			return nil
		}
		events := h.At(ctx, b)
		if len(events) == 0 {
			continue
		}
		added := make(incident.Timeline, len(events))
		for i, ev := range events {
			ev.At, ev.AfterDetection = b, false
			if err := ev.Validate(cfg.QueueNames()); err != nil {
				return fmt.Errorf("hold: %s at %v: %w", ev.Action, b, err)
			}
			added[i] = ev
		}
		tl.merge(added)
	}
	return nil
}
