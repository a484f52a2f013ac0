package workers

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/cluster"
	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
)

// RunPool is the pool that runs builds: each worker takes a job with a booted
// VM, runs its build, and then either lets the VM go for the janitor (the
// 2015 vSphere setup) or deletes it itself (DeletesVMs: the later GCE
// setup, where the cleanup service only sweeps up orphans).
//
// Two faults live here. A crashed worker abandons its build: the VM is left
// on, orphaned, and the job goes back to the scheduler; until it restarts,
// it takes no job. A stalled build (the VM booted but the build never makes
// progress) is given up after StallTimeout, with the same result.
type RunPool struct {
	Env
	Stage
	RunSettings

	In    *sim.Chan[*Job] // jobs with a booted VM, from Build
	Inbox *sim.Chan[Msg]  // the scheduler's: lost builds and finished jobs

	stallBits atomic.Uint64 // float64 bits: the chance that a booted VM stalls
	up        *sim.Gate     // workers with an index below its opening are up
	mu        sync.Mutex
	workers   []runWorker // guarded by mu
}

// RunSettings are the Run pool's settings.
type RunSettings struct {
	// DeletesVMs: a worker deletes its VM after the build.
	DeletesVMs   bool
	StallTimeout time.Duration
	// DeletesLostVMs: the VM of a build lost with its worker or given up as
	// stalled is deleted (by the worker, or its supervisor as it restarts
	// it), rather than left on, orphaned, for the janitor.
	DeletesLostVMs bool
}

// runWorker is what Crash needs to know of one worker.
type runWorker struct {
	job   *Job        // its build under way, or nil when idle
	crash *sim.Signal // notified when the worker crashes
}

// NewRunPool returns a Run pool of workers with settings s, all of them up,
// taking jobs from in and telling the scheduler's inbox of lost builds and
// finished jobs.
func NewRunPool(env Env, workers int, s RunSettings, in *sim.Chan[*Job], inbox *sim.Chan[Msg]) *RunPool {
	k := env.Kernel
	r := &RunPool{Env: env, Stage: Stage{Workers: workers}, RunSettings: s, In: in, Inbox: inbox,
		up: sim.NewGate(k, workers), workers: make([]runWorker, workers)}
	for i := range r.workers {
		r.workers[i].crash = sim.NewSignal(k)
	}
	return r
}

// Run runs the pool until the run stops or In is closed and drained.
func (r *RunPool) Run(ctx context.Context) {
	var g sim.Group
	for i := range r.Workers {
		g.Go(ctx, func(ctx context.Context) { r.work(ctx, i) })
	}
	g.Wait(ctx)
}

// SetStallChance sets the chance that a booted VM stalls.
func (r *RunPool) SetStallChance(p float64) { r.stallBits.Store(math.Float64bits(p)) }

// Crash crashes a fraction of the workers that are up: they take no work
// until Restart, and each build under way is lost with that chance. Which
// builds are lost is drawn from each job's own stream, not from which
// goroutine happened to take which job, so a run with one seed repeats. It
// returns how many builds were lost.
func (r *RunPool) Crash(fraction float64) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	up := r.up.Open()
	down := up - int(math.Round(float64(up)*fraction))
	r.up.Set(down)
	lost := 0
	for i, w := range r.workers {
		switch {
		case w.job != nil && r.lost(w.job, fraction):
			lost++
			w.crash.Notify() // its build is cut short
		case w.job == nil && i >= down:
			w.crash.Notify() // idle: it stops waiting for work
		}
	}
	return lost
}

// lost draws, from the attempt's crash stream, whether a crash of that
// fraction of the workers takes its build.
func (r *RunPool) lost(job *Job, fraction float64) bool {
	return dist.Crash.Stream(r.Seed, job.ID, uint64(job.Attempts)).Float64() < fraction
}

// Restart brings every crashed worker back.
func (r *RunPool) Restart() { r.up.Set(r.Workers) }

func (r *RunPool) work(ctx context.Context, i int) {
	crash := r.workers[i].crash
	for {
		if !r.up.Wait(ctx, i) {
			return
		}
		job, ok, crashed := r.In.RecvOrWake(ctx, crash)
		if crashed {
			continue // down until restarted
		}
		if !ok {
			return
		}
		r.mu.Lock()
		r.workers[i].job = job
		r.mu.Unlock()
		done := r.build(ctx, job, crash)
		r.mu.Lock()
		r.workers[i].job = nil
		r.mu.Unlock()
		if !done {
			return // the run is over; the job stays in flight
		}
	}
}

// build runs job's build, which a notification of crash cuts short, and
// settles its outcome. It returns false if the run stopped first.
func (r *RunPool) build(ctx context.Context, job *Job, crash *sim.Signal) bool {
	start := r.begin(r.Kernel)
	stalls := r.stalls(job)
	length := job.BuildTime
	if stalls {
		length = r.StallTimeout
	}
	crashed, ok := sim.SleepOrWake(ctx, length, crash)
	if !ok {
		return false
	}
	if crashed || stalls {
		r.end(r.Kernel, start, false)
		reason := "stalled"
		if crashed {
			reason = "worker crashed"
		}
		job.logAt(r.Events, zapcore.WarnLevel, "build_lost", vmField(job.VM), zap.String("reason", reason))
		if !r.DeletesLostVMs || !r.deleteVM(ctx, job.VM) {
			r.Cluster.Orphan(job.VM) // left on for the janitor
		}
		r.Ledger.lose(job, r.Kernel.Now())
		return requeue(ctx, r.Kernel, r.Ledger, r.Log, r.Events, r.Inbox, Returned, job)
	}
	off := r.Cluster.PowerOff(job.VM)
	r.end(r.Kernel, start, off)
	if !off {
		// The janitor destroyed the VM under the build.
		r.Ledger.fail(job, false)
		job.logAt(r.Events, zapcore.WarnLevel, "job_failed", vmField(job.VM), zap.String("reason", "VM destroyed during the build"))
	} else {
		r.Ledger.complete()
		job.logAt(r.Events, zapcore.DebugLevel, "build_finished", vmField(job.VM), seconds("build_s", job.BuildTime))
		if r.DeletesVMs {
			r.deleteVM(ctx, job.VM)
		}
	}
	return r.Inbox.Send(ctx, Msg{Kind: Finished, Queue: job.Queue})
}

// deleteVM is the worker deleting its own VM after the build, or after
// losing it. If the API refuses, the VM is left for the cleanup service.
// It reports whether the VM was deleted.
func (r *RunPool) deleteVM(ctx context.Context, vm *cluster.VM) bool {
	if !r.Cluster.Claim(vm) {
		return false
	}
	if err := r.Cluster.Destroy(ctx, vm); err != nil {
		r.Cluster.Unclaim(vm)
		if err != cluster.ErrStopped {
			if ce := check(r.Events, zapcore.WarnLevel, "vm_delete_failed"); ce != nil {
				ce.Write(vmField(vm), zap.String("reason", reason(err)))
			}
		}
		return false
	}
	if ce := check(r.Events, zapcore.DebugLevel, "vm_destroyed"); ce != nil { // no fields built for a line not written
		ce.Write(zap.Uint64("job_id", vm.JobID), zap.Int("attempt", vm.Attempt), vmField(vm), zap.String("by", "worker"))
	}
	return true
}

// stalls draws, from the attempt's stall stream, whether its VM stalls.
func (r *RunPool) stalls(job *Job) bool {
	p := math.Float64frombits(r.stallBits.Load())
	if p <= 0 {
		return false
	}
	return dist.Stall.Stream(r.Seed, job.ID, uint64(job.Attempts)).Float64() < p
}
