package workers

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/cluster"
	"vmstorm/incident"
	"vmstorm/internal/sim"
)

// BuildPool is the pool that starts VMs: each worker asks the scheduler for a
// job, clones a VM for it and powers it on. A failed start sends the job
// straight back to the scheduler, as travis-ci/worker did in 2015: no
// delay, no backoff and, unless MaxAttempts is set, no limit.
type BuildPool struct {
	Env
	Stage
	BuildSettings
	// Policies are the mitigations the pool applies while their switches
	// are on: the breaker before a worker asks for a job; the retry budget,
	// backoff (through Backoffs) and deleting the failed VM (a cloud's
	// failed insert leaves nothing behind, as the Travis follow-up meant
	// to) after a failed start.
	Policies *Policies
	Backoffs *Backoffs

	In    *sim.Chan[*Job] // from the scheduler
	Out   *sim.Chan[*Job] // jobs with a booted VM, to Run
	Inbox *sim.Chan[Msg]  // the scheduler's: asks for work, requeues, failures
	// Held is the run's memory budget, asked before each clone; nil for
	// none.
	Held *Budget
}

// BuildSettings are the Build pool's settings: the failed starts after
// which a job fails for good (0: retry for ever).
type BuildSettings struct {
	MaxAttempts int
}

// BuildLinks are what the Build pool hands jobs on with, and the state it
// shares with other parts: the mitigations' policies and the backoffs'
// waiting room, and the memory budget (nil for none).
type BuildLinks struct {
	In       *sim.Chan[*Job] // from the scheduler
	Out      *sim.Chan[*Job] // jobs with a booted VM, to Run
	Inbox    *sim.Chan[Msg]  // the scheduler's
	Policies *Policies
	Backoffs *Backoffs
	Held     *Budget
}

// NewBuildPool returns a Build pool of workers with settings s, linked by
// l.
func NewBuildPool(env Env, workers int, s BuildSettings, l BuildLinks) *BuildPool {
	return &BuildPool{
		Env: env, Stage: Stage{Workers: workers}, BuildSettings: s,
		Policies: l.Policies, Backoffs: l.Backoffs, In: l.In, Out: l.Out, Inbox: l.Inbox, Held: l.Held,
	}
}

// Run runs the pool until the scheduler closes In or the run stops, then
// closes Out.
func (b *BuildPool) Run(ctx context.Context) {
	defer b.Out.Close()
	var g sim.Group
	for range b.Workers {
		g.Go(ctx, b.work)
	}
	g.Wait(ctx)
}

func (b *BuildPool) work(ctx context.Context) {
	for {
		// An open breaker keeps the worker from asking for a job: the jobs
		// wait in the backlog, not in the requeue loop.
		done, ok := b.Policies.waitForBreaker(ctx, b.Kernel)
		if !ok || !b.Inbox.Send(ctx, Msg{Kind: Ready}) {
			return
		}
		job, ok := b.In.Recv(ctx)
		if !ok {
			return
		}
		if b.Policies.refuses(b.Kernel.Now(), done) {
			// The breaker was turned on, or opened, while the worker
			// waited for a job: the job goes back, unstarted, and the
			// worker waits for the breaker.
			if !b.Inbox.Send(ctx, Msg{Kind: Unstarted, Job: job}) {
				return
			}
			continue
		}
		b.Ledger.take()
		if !b.Held.Clone() {
			return // the run stops: the job stays in flight
		}
		job.Attempts++
		start := b.begin(b.Kernel)
		vm, err := b.Cluster.Clone(ctx, job.ID, job.Attempts)
		b.Held.Cloned()
		if err == nil {
			job.logAt(b.Events, zapcore.DebugLevel, "vm_cloned", vmField(vm))
			err = b.Cluster.PowerOn(ctx, vm)
		}
		if err == cluster.ErrStopped {
			return // the job stays in flight
		}
		b.end(b.Kernel, start, err == nil)
		b.Policies.record(b.Kernel.Now(), done, err == nil)
		if err == nil {
			job.VM = vm
			now := b.Kernel.Now()
			b.Ledger.start(job, now)
			job.logAt(b.Events, zapcore.DebugLevel, "vm_powered_on", vmField(vm), job.waitField(now))
			if !b.Out.Send(ctx, job) {
				return
			}
			continue
		}
		if vm != nil {
			job.logAt(b.Events, zapcore.WarnLevel, "power_on_failed", vmField(vm), zap.String("reason", reason(err)))
			if b.Policies.on(incident.DeleteFailedVMs) && b.Cluster.Discard(vm) {
				job.logAt(b.Events, zapcore.DebugLevel, "vm_discarded", vmField(vm))
			}
		} else {
			job.logAt(b.Events, zapcore.WarnLevel, "clone_failed", zap.String("reason", reason(err)))
		}
		var why string
		byBudget := false
		switch {
		case b.MaxAttempts > 0 && job.Attempts >= b.MaxAttempts:
			why = "gave up after the maximum number of attempts"
		case b.Policies.on(incident.RetryBudget) && !b.Policies.RetryBudget.AllowRetry():
			why, byBudget = "the retry budget is spent", true
		}
		if why != "" {
			b.Ledger.fail(job, byBudget)
			job.logAt(b.Events, zapcore.WarnLevel, "job_failed", zap.String("reason", why))
			if !b.Inbox.Send(ctx, Msg{Kind: Finished, Queue: job.Queue}) {
				return
			}
			continue
		}
		if delay := b.Policies.backoffDelay(b.Seed, job); delay > 0 {
			if !b.backOff(ctx, job, delay) {
				return
			}
			continue
		}
		if !requeue(ctx, b.Kernel, b.Ledger, b.Log, b.Events, b.Inbox, Requeued, job) {
			return
		}
	}
}

// backOff puts job in the backoff waiting room for delay, and tells the
// scheduler, which no longer counts it as started. The job is requeued, as
// the ledger counts it: it will be offered again. It returns false if the
// run stopped (the job is then in the waiting room, still queued).
func (b *BuildPool) backOff(ctx context.Context, job *Job, delay time.Duration) bool {
	now := b.Kernel.Now()
	noteRequeue(b.Ledger, b.Log, b.Events, job, now, "a job went back to the queue, after a backoff, after a failed VM start", seconds("backoff_s", delay))
	b.Backoffs.Add(job, now+delay)
	return b.Inbox.Send(ctx, Msg{Kind: BackingOff, Queue: job.Queue})
}

// requeue sends job straight back to the scheduler as a message of kind,
// and records and logs it. It returns false if the run stopped first (the
// job then stays in flight).
func requeue(ctx context.Context, clock sim.Clock, ledger *Ledger, log, events *zap.Logger, to *sim.Chan[Msg], kind MsgKind, job *Job) bool {
	// Once sent, the job belongs to the scheduler and, soon, to another
	// worker: the ledger and the log see it first, and a send that the
	// end of the run stops is taken back.
	first := noteRequeue(ledger, log, events, job, clock.Now(), "a job went straight back to the queue after a failed VM start")
	if !to.Send(ctx, Msg{Kind: kind, Job: job}) {
		ledger.unrequeue(job.Attempts == 1, first)
		return false
	}
	return true
}

// noteRequeue counts job's requeue at now in the ledger and logs it: the
// run's first requeue with note, every one with extra. It returns whether
// it was the run's first, as Ledger.requeue does.
func noteRequeue(ledger *Ledger, log, events *zap.Logger, job *Job, now time.Duration, note string, extra ...zap.Field) bool {
	first := ledger.requeue(job.Attempts == 1, now)
	if first {
		job.logAt(log, zapcore.WarnLevel, "first_requeue", job.waitField(now), zap.String("note", note))
	}
	if len(extra) == 0 { // no slice to build on the requeue storm's path
		job.logAt(events, zapcore.InfoLevel, "job_requeued", job.waitField(now))
	} else {
		job.logAt(events, zapcore.InfoLevel, "job_requeued", append([]zap.Field{job.waitField(now)}, extra...)...)
	}
	return first
}

func reason(err error) string {
	switch {
	case errors.Is(err, cluster.ErrNoCapacity):
		return "no_capacity"
	case errors.Is(err, cluster.ErrNoCPU):
		return "no_cpu"
	case errors.Is(err, cluster.ErrRateLimited):
		return "rate_limited"
	case errors.Is(err, cluster.ErrStartTimeout):
		return "start_timeout"
	case errors.Is(err, cluster.ErrDestroyed):
		return "destroyed"
	default:
		return err.Error()
	}
}
