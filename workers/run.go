package workers

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"vmstorm/cluster"
	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
)

// errCrashed is the cause of a build cut short because its worker crashed.
var errCrashed = errors.New("worker crashed")

// Run is the pool that runs builds: each worker takes a job with a booted
// VM, runs its build, and then either lets the VM go for the janitor (the
// 2015 vSphere setup) or deletes it itself (DeletesVMs: the later GCE
// setup, where the cleanup service only sweeps up orphans).
//
// Two faults live here. A crashed worker abandons its build: the VM is left
// on, orphaned, and the job goes back to the scheduler. A stalled build
// (the VM booted but the build never makes progress) is given up after
// StallTimeout, with the same result.
type Run struct {
	Stage
	Clock   *sim.Clock
	Cluster *cluster.Cluster
	Ledger  *Ledger
	Log     *zap.Logger // changes of state
	Events  *zap.Logger // lifecycle events, one per job or VM step: see logx.Lifecycle
	Seed    uint64

	DeletesVMs   bool
	StallTimeout time.Duration

	In       <-chan *Job
	Returns  chan<- *Job // builds lost with their worker or stalled, back to the scheduler
	Finished chan<- int  // the queue of each job that completed or failed for good

	stallBits atomic.Uint64 // float64 bits: the chance that a booted VM stalls
	up        *sim.Gate     // workers with an index below its opening are up
	mu        sync.Mutex
	builds    []underWay // each worker's current build, by index; guarded by mu
}

// Init prepares the pool; call it before Run, Crash or Restart.
func (r *Run) Init() {
	r.up = sim.NewGate(r.Workers)
	r.builds = make([]underWay, r.Workers)
}

// underWay is a build under way, and the way to abandon it.
type underWay struct {
	job    *Job
	cancel context.CancelCauseFunc
}

// Run runs the pool until ctx is done, then closes Returns.
func (r *Run) Run(ctx context.Context) error {
	defer close(r.Returns)
	var g errgroup.Group
	for i := range r.Workers {
		g.Go(func() error { r.work(ctx, i); return nil })
	}
	return g.Wait()
}

// SetStallChance sets the chance that a booted VM stalls.
func (r *Run) SetStallChance(p float64) { r.stallBits.Store(math.Float64bits(p)) }

// Crash crashes a fraction of the workers that are up: they take no work
// until Restart, and each build under way is lost with that chance. Which
// builds are lost is drawn from each job's own stream, not from which
// goroutine happened to take which job, so a run with one seed repeats. It
// returns how many builds were lost.
func (r *Run) Crash(fraction float64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	up := r.up.Open()
	r.up.Set(up - int(math.Round(float64(up)*fraction)))
	lost := 0
	for _, b := range r.builds {
		if b.job != nil && dist.Stream(r.Seed, b.job.ID, uint64(b.job.Attempts), 2).Float64() < fraction {
			b.cancel(errCrashed)
			lost++
		}
	}
	return lost
}

// Restart brings every crashed worker back.
func (r *Run) Restart() { r.up.Set(r.Workers) }

// track records worker i's current build (a nil job when it ends), unless
// the worker has crashed meanwhile.
func (r *Run) track(i int, b underWay) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b.job != nil && i >= r.up.Open() {
		return false
	}
	r.builds[i] = b
	return true
}

func (r *Run) work(ctx context.Context, i int) {
	for {
		if !r.up.Wait(ctx, i) {
			return
		}
		job, ok := sim.Recv(ctx, r.In)
		if !ok {
			return
		}
		buildCtx, cancel := context.WithCancelCause(ctx)
		if !r.track(i, underWay{job: job, cancel: cancel}) {
			cancel(errCrashed) // its worker crashed as it took the job
		}
		done := r.build(ctx, buildCtx, job)
		cancel(nil)
		r.track(i, underWay{})
		if !done && ctx.Err() != nil {
			return // the run is over; the job stays in flight
		}
	}
}

// build runs job's build under buildCtx, which a crash of the worker
// cancels, and settles its outcome; hand-offs use the run's ctx. It returns
// false if the run ended first.
func (r *Run) build(ctx, buildCtx context.Context, job *Job) bool {
	start := r.begin(r.Clock)
	stalls := r.stalls(job)
	length := job.BuildTime
	if stalls {
		length = r.StallTimeout
	}
	finished := r.Clock.Sleep(buildCtx, length)
	crashed := !finished && ctx.Err() == nil && errors.Is(context.Cause(buildCtx), errCrashed)
	if !finished && !crashed {
		return false
	}
	if crashed || stalls {
		r.end(r.Clock, start, false)
		reason := "stalled"
		if crashed {
			reason = "worker crashed"
		}
		r.Cluster.Orphan(job.VM)
		r.Events.Warn("build_lost", job.fields(vmField(job.VM), zap.String("reason", reason))...)
		r.Ledger.lose(job, r.Clock.Now())
		return requeue(ctx, r.Clock, r.Ledger, r.Log, r.Events, r.Returns, job)
	}
	released := r.Cluster.Release(job.VM)
	r.end(r.Clock, start, released)
	if !released {
		// The janitor destroyed the VM under the build.
		r.Ledger.fail(job)
		r.Events.Warn("job_failed", job.fields(vmField(job.VM), zap.String("reason", "VM destroyed during the build"))...)
	} else {
		r.Ledger.complete()
		r.Events.Debug("build_finished", job.fields(vmField(job.VM), seconds("build_s", job.BuildTime))...)
		if r.DeletesVMs {
			r.deleteVM(ctx, job.VM)
		}
	}
	return sim.Send(ctx, r.Finished, job.Queue)
}

// deleteVM is the worker deleting its own VM after the build. If the API
// refuses, the VM is left for the cleanup service.
func (r *Run) deleteVM(ctx context.Context, vm *cluster.VM) {
	if !r.Cluster.Claim(vm) {
		return
	}
	if err := r.Cluster.Destroy(ctx, vm); err != nil {
		r.Cluster.Unclaim(vm)
		r.Events.Warn("vm_delete_failed", zap.String("vm", vm.Name), zap.String("reason", reason(err)))
		return
	}
	r.Events.Debug("vm_destroyed", zap.Uint64("job_id", vm.JobID), zap.Int("attempt", vm.Attempt), vmField(vm), zap.String("by", "worker"))
}

// stalls draws, from the job's own stream, whether this attempt's VM stalls.
func (r *Run) stalls(job *Job) bool {
	p := math.Float64frombits(r.stallBits.Load())
	if p <= 0 {
		return false
	}
	return dist.Stream(r.Seed, job.ID, uint64(job.Attempts), 1).Float64() < p
}
