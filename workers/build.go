package workers

import (
	"context"
	"errors"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"vmstorm/cluster"
	"vmstorm/internal/sim"
)

// Build is the pool that starts VMs: each worker takes a job from the
// scheduler, clones a VM for it and powers it on. A failed start sends the
// job straight back to the scheduler, as travis-ci/worker did in 2015: no
// delay, no backoff and, unless MaxAttempts is set, no limit.
type Build struct {
	Stage
	Clock   *sim.Clock
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

	In       <-chan *Job
	Out      chan<- *Job // jobs with a booted VM, to Run
	Requeue  chan<- *Job // back to the scheduler
	Finished chan<- int  // the queue of each job that failed for good
}

// Run runs the pool until In is closed or ctx is done, then closes Out and
// Requeue.
func (b *Build) Run(ctx context.Context) error {
	defer close(b.Requeue)
	defer close(b.Out)
	var g errgroup.Group
	for range b.Workers {
		g.Go(func() error { b.work(ctx); return nil })
	}
	return g.Wait()
}

func (b *Build) work(ctx context.Context) {
	for {
		job, ok := sim.Recv(ctx, b.In)
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
		if ctx.Err() != nil {
			return // cancelled; the job stays in flight
		}
		b.end(b.Clock, start, err == nil)
		if err == nil {
			job.VM = vm
			now := b.Clock.Now()
			b.Ledger.start(job, now)
			b.Events.Debug("vm_powered_on", job.fields(vmField(vm), seconds("wait_s", now-job.WaitingSince))...)
			if !sim.Send(ctx, b.Out, job) {
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
			if !sim.Send(ctx, b.Finished, job.Queue) {
				return
			}
			continue
		}
		if !requeue(ctx, b.Clock, b.Ledger, b.Log, b.Events, b.Requeue, job) {
			return
		}
	}
}

// requeue sends job straight back to the scheduler, and records and logs
// it. It returns false if ctx is done first (the job then stays in flight).
func requeue(ctx context.Context, clock *sim.Clock, ledger *Ledger, log, events *zap.Logger, to chan<- *Job, job *Job) bool {
	// Once sent, the job belongs to the scheduler and, soon, to another
	// worker: take what the log and the ledger need first.
	fields := job.fields(seconds("waited_s", clock.Now()-job.WaitingSince))
	firstAttempt := job.Attempts == 1
	if !sim.Send(ctx, to, job) {
		return false
	}
	if ledger.requeue(firstAttempt, clock.Now()) {
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
	default:
		return err.Error()
	}
}
