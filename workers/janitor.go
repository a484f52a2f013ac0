package workers

import (
	"cmp"
	"context"
	"slices"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"golang.org/x/sync/errgroup"

	"vmstorm/cluster"
	"vmstorm/internal/sim"
)

// Janitor is vsphere-janitor as deployed in 2015. Every loop it logs in,
// lists the cluster's VMs, reports how many it saw, and hands the VMs it may
// destroy to the Cleanup pool at a bounded rate. It destroys a VM that has
// booted and is powered off, or that is older than the cutoff; a VM that
// never booted (zero uptime) it skips, for ever.
//
// When its log-in fails it cleans nothing and, as in 2015, neither reports
// the failure to monitoring nor updates its VM count: the count it reports
// stays at the last good value.
type Janitor struct {
	Clock   *sim.Clock
	Cluster *cluster.Cluster
	Log     *zap.Logger // changes of state
	Events  *zap.Logger // lifecycle events, one per job or VM step: see logx.Lifecycle
	// LoginFails is asked before each pass (the injected fault).
	LoginFails func() bool

	Every         time.Duration // sleep between passes (CLEANUP_LOOP_SLEEP)
	RatePerSecond float64       // VMs handed out per model second (RATE_PER_SECOND); 0 means no limit
	Cutoff        time.Duration // destroy any booted VM older than this
	// Phase is when the first pass starts. A real janitor's loop has some
	// phase against the clock; a random one also keeps its passes from
	// falling on the same instants as other periodic work in the model.
	Phase time.Duration

	Out chan<- *cluster.VM // to the Cleanup pool

	reported     atomic.Int64
	passes       atomic.Int64
	failedPasses atomic.Int64
	failing      bool // owned by the Run goroutine
}

// Run makes passes until ctx is done, then closes Out.
func (j *Janitor) Run(ctx context.Context) error {
	defer close(j.Out)
	if !j.Clock.SleepUntil(ctx, j.Phase) {
		return nil
	}
	for j.pass(ctx) && j.Clock.Sleep(ctx, j.Every) {
	}
	return nil
}

// pass is one loop of the janitor; it returns false if ctx is done.
func (j *Janitor) pass(ctx context.Context) bool {
	if j.LoginFails() {
		j.failedPasses.Add(1)
		j.Events.Debug("cleanup_failed", zap.String("reason", "vSphere log-in failed: incorrect user name or password"))
		if !j.failing {
			j.failing = true
			j.Log.Warn("janitor_login_failing", zap.Int64("reported_vms", j.reported.Load()),
				zap.String("note", "nothing will be cleaned; the VM count reported to monitoring keeps its last value"))
		}
		return true
	}
	if j.failing {
		j.failing = false
		j.Log.Warn("janitor_login_ok")
	}
	vms := j.Cluster.List()
	j.reported.Store(int64(len(vms)))
	j.passes.Add(1)

	// Oldest first: the order a person would want, and one that does not
	// depend on map iteration, so runs with one seed repeat.
	slices.SortFunc(vms, compareAge)
	now := j.Clock.Now()
	next, interval := now, time.Duration(0)
	if j.RatePerSecond > 0 {
		interval = time.Duration(float64(time.Second) / j.RatePerSecond)
	}
	for _, vm := range vms {
		if !j.destroyable(vm, now) || !j.Cluster.Claim(vm.VM) {
			continue
		}
		if !j.Clock.SleepUntil(ctx, next) || !sim.Send(ctx, j.Out, vm.VM) {
			return false
		}
		next += interval
	}
	return true
}

func (j *Janitor) destroyable(vm cluster.Info, now time.Duration) bool {
	if !vm.Uptime {
		return false // never booted, or not booted yet
	}
	return vm.State == cluster.Finished || now-vm.CreatedAt > j.Cutoff
}

func compareAge(a, b cluster.Info) int {
	return cmp.Or(
		cmp.Compare(a.CreatedAt, b.CreatedAt),
		cmp.Compare(a.VM.JobID, b.VM.JobID),
		cmp.Compare(a.VM.Attempt, b.VM.Attempt),
	)
}

// JanitorStats is a snapshot of the janitor's counters.
type JanitorStats struct {
	Passes, FailedPasses int64
	// Reported is the VM count the janitor last reported to monitoring.
	Reported int64
}

// Stats reads the janitor's counters.
func (j *Janitor) Stats() JanitorStats {
	return JanitorStats{Passes: j.passes.Load(), FailedPasses: j.failedPasses.Load(), Reported: j.reported.Load()}
}

// Cleanup is the janitor's pool of workers that destroy VMs.
type Cleanup struct {
	Stage
	Clock   *sim.Clock
	Cluster *cluster.Cluster
	Log     *zap.Logger // changes of state
	Events  *zap.Logger // lifecycle events, one per job or VM step: see logx.Lifecycle

	In <-chan *cluster.VM
}

// Run runs the pool until In is closed or ctx is done.
func (c *Cleanup) Run(ctx context.Context) error {
	var g errgroup.Group
	for range c.Workers {
		g.Go(func() error { c.work(ctx); return nil })
	}
	return g.Wait()
}

func (c *Cleanup) work(ctx context.Context) {
	for {
		vm, ok := sim.Recv(ctx, c.In)
		if !ok {
			return
		}
		start := c.begin(c.Clock)
		if !c.Cluster.Destroy(ctx, vm) {
			return
		}
		c.end(c.Clock, start, true)
		c.Events.Debug("vm_destroyed", zap.Uint64("job_id", vm.JobID), zap.Int("attempt", vm.Attempt), vmField(vm))
	}
}
