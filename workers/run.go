package workers

import (
	"context"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"vmstorm/cluster"
	"vmstorm/internal/sim"
)

// Run is the pool that runs builds: each worker takes a job with a booted
// VM, runs its build, and lets the VM go for the janitor to destroy.
type Run struct {
	Stage
	Clock   *sim.Clock
	Cluster *cluster.Cluster
	Ledger  *Ledger
	Log     *zap.Logger // changes of state
	Events  *zap.Logger // lifecycle events, one per job or VM step: see logx.Lifecycle

	In <-chan *Job
}

// Run runs the pool until In is closed or ctx is done.
func (r *Run) Run(ctx context.Context) error {
	var g errgroup.Group
	for range r.Workers {
		g.Go(func() error { r.work(ctx); return nil })
	}
	return g.Wait()
}

func (r *Run) work(ctx context.Context) {
	for {
		job, ok := sim.Recv(ctx, r.In)
		if !ok {
			return
		}
		start := r.begin(r.Clock)
		if !r.Clock.Sleep(ctx, job.BuildTime) {
			return // cancelled mid-build; the job stays in flight
		}
		released := r.Cluster.Release(job.VM)
		r.end(r.Clock, start, released)
		if !released {
			// The janitor's age cutoff destroyed the VM under the build.
			r.Ledger.fail()
			r.Events.Warn("job_failed", job.fields(vmField(job.VM), zap.String("reason", "VM destroyed during the build"))...)
			continue
		}
		r.Ledger.complete()
		r.Events.Debug("build_finished", job.fields(vmField(job.VM), seconds("build_s", job.BuildTime))...)
	}
}
