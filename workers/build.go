package workers

import (
	"context"
	"errors"

	"go.uber.org/zap"

	"vmstorm/cluster"
	"vmstorm/internal/sim"
)

// Build is the pool that starts VMs: each worker asks the scheduler for a
// job, clones a VM for it and powers it on. A failed start sends the job
// straight back to the scheduler, as travis-ci/worker did in 2015: no
// delay, no backoff and, unless MaxAttempts is set, no limit.
type Build struct {
	Stage
	Clock   sim.Clock
	Cluster *cluster.Cluster
	Ledger  *Ledger
	Log     *zap.Logger // changes of state
	Events  *zap.Logger // lifecycle events, one per job or VM step: see logx.Lifecycle
	// MaxAttempts fails a job for good after that many failed starts; 0
	// means retry for ever.
	MaxAttempts int
	// DeleteFailedVMs removes the VM of a failed start at once, as a cloud's
	// failed instance insert leaves nothing behind (and as the Travis
	// follow-up meant to), instead of leaving it on the cluster, never
	// booted.
	DeleteFailedVMs bool

	In    *sim.Chan[*Job] // from the scheduler
	Out   *sim.Chan[*Job] // jobs with a booted VM, to Run
	Inbox *sim.Chan[Msg]  // the scheduler's: asks for work, requeues, failures
}

// Run runs the pool until the scheduler closes In or the run stops, then
// closes Out.
func (b *Build) Run(ctx context.Context) {
	defer b.Out.Close()
	var g sim.Group
	for range b.Workers {
		g.Go(ctx, b.work)
	}
	g.Wait(ctx)
}

func (b *Build) work(ctx context.Context) {
	for {
		if !b.Inbox.Send(ctx, Msg{Kind: Ready}) {
			return
		}
		job, ok := b.In.Recv(ctx)
		if !ok {
			return
		}
		b.Ledger.take()
		job.Attempts++
		start := b.begin(b.Clock)
		vm, err := b.Cluster.Clone(ctx, job.ID, job.Attempts)
		if err == nil {
			b.Events.Debug("vm_cloned", job.fields(vmField(vm))...)
			err = b.Cluster.PowerOn(ctx, vm)
		}
		if err == cluster.ErrStopped {
			return // the job stays in flight
		}
		b.end(b.Clock, start, err == nil)
		if err == nil {
			job.VM = vm
			now := b.Clock.Now()
			b.Ledger.start(job, now)
			b.Events.Debug("vm_powered_on", job.fields(vmField(vm), job.waitField(now))...)
			if !b.Out.Send(ctx, job) {
				return
			}
			continue
		}
		if vm != nil {
			b.Events.Warn("power_on_failed", job.fields(vmField(vm), zap.String("reason", reason(err)))...)
			if b.DeleteFailedVMs && b.Cluster.Discard(vm) {
				b.Events.Debug("vm_discarded", job.fields(vmField(vm))...)
			}
		} else {
			b.Events.Warn("clone_failed", job.fields(zap.String("reason", reason(err)))...)
		}
		if b.MaxAttempts > 0 && job.Attempts >= b.MaxAttempts {
			b.Ledger.fail(job)
			b.Events.Warn("job_failed", job.fields(zap.String("reason", "gave up after the maximum number of attempts"))...)
			if !b.Inbox.Send(ctx, Msg{Kind: Finished, Queue: job.Queue}) {
				return
			}
			continue
		}
		if !requeue(ctx, b.Clock, b.Ledger, b.Log, b.Events, b.Inbox, Requeued, job) {
			return
		}
	}
}

// requeue sends job straight back to the scheduler as a message of kind,
// and records and logs it. It returns false if the run stopped first (the
// job then stays in flight).
func requeue(ctx context.Context, clock sim.Clock, ledger *Ledger, log, events *zap.Logger, to *sim.Chan[Msg], kind MsgKind, job *Job) bool {
	// Once sent, the job belongs to the scheduler and, soon, to another
	// worker: take what the log and the ledger need first.
	now := clock.Now()
	fields := job.fields(job.waitField(now))
	firstAttempt := job.Attempts == 1
	if !to.Send(ctx, Msg{Kind: kind, Job: job}) {
		return false
	}
	if ledger.requeue(firstAttempt, now) {
		log.Warn("first_requeue", append(fields, zap.String("note", "a job went straight back to the queue after a failed VM start"))...)
	}
	events.Info("job_requeued", fields...)
	return true
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
