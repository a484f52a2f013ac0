package workers

import (
	"context"
	"errors"
	"math"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/cluster"
	"vmstorm/incident"
	"vmstorm/internal/sim"
)

// Credentials are the vSphere account's password and the janitor's copy of
// it, as versions: a rotation changes the password, a fix updates the
// janitor's configuration, and the janitor reads its configuration only
// when it starts.
type Credentials struct {
	password   atomic.Int64
	configured atomic.Int64
}

// Rotate changes the account's password (the 2015-07-31 rotation).
func (c *Credentials) Rotate() { c.password.Add(1) }

// Fix puts the current password in the janitor's configuration; it takes
// effect when the janitor restarts.
func (c *Credentials) Fix() { c.configured.Store(c.password.Load()) }

// Janitor is vsphere-janitor as deployed in 2015. Every loop it logs in,
// lists the cluster's VMs, reports how many it saw, and hands the VMs it may
// destroy to the Cleanup pool at a bounded rate. It destroys a VM that has
// booted and is powered off, or that is older than the cutoff; a VM that
// never booted (zero uptime) it skips, for ever. In aggressive mode it
// destroys every VM, new build VMs included, at the aggressive rate.
//
// When its log-in fails it cleans nothing and does not report the failure.
// With ReportStale (the 2015 defect) the count it reports to monitoring
// keeps its last good value; without it, the count drops to zero.
type Janitor struct {
	Env
	JanitorSettings
	Credentials *Credentials
	// Switches: with the reaper on, the janitor also destroys a
	// never-booted VM older than ReaperTTL.
	Switches *Switches
	Out      *sim.Chan[*cluster.VM] // to the Cleanup pool

	aggressive     atomic.Bool
	aggressiveRate atomic.Uint64 // float64 bits
	restart        *sim.Signal
	reported       atomic.Int64
	passes         atomic.Int64
	failedPasses   atomic.Int64
	loaded         int64 // the password version it read at start; owned by Run
	failing        atomic.Bool
	lastOK         atomic.Int64 // model ns of the last successful pass, or -1
	reaped         atomic.Int64 // never-booted VMs handed out by the reaper rule
	walk           cluster.Pass // the pass under way, its arrays reused; owned by Run
}

// JanitorSettings are the janitor's settings.
type JanitorSettings struct {
	Every         time.Duration // sleep between passes (CLEANUP_LOOP_SLEEP)
	RatePerSecond float64       // VMs handed out per model second (RATE_PER_SECOND); 0 means no limit
	Cutoff        time.Duration // destroy any booted VM older than this
	ReportStale   bool          // on a failed pass, keep reporting the last count
	// ReportFresh: on a failed pass, report the VMs on the cluster all the
	// same, counted with an account of its own (ReportStale is then moot).
	ReportFresh bool
	// Phase is when the first pass starts. A real janitor's loop has some
	// phase against the clock; a random one also keeps its passes from
	// falling on the same instants as other periodic work in the model.
	Phase time.Duration
	// ReaperTTL: with the reaper on, the janitor also destroys a
	// never-booted VM older than this.
	ReaperTTL time.Duration
}

// Failing reports whether the janitor's last pass failed.
func (j *Janitor) Failing() bool { return j.failing.Load() }

// NewJanitor returns a janitor with settings s that logs in with
// credentials, reads the reaper's switch in switches and hands the VMs it
// would destroy to out.
func NewJanitor(env Env, s JanitorSettings, credentials *Credentials, switches *Switches, out *sim.Chan[*cluster.VM]) *Janitor {
	j := &Janitor{Env: env, JanitorSettings: s, Credentials: credentials, Switches: switches, Out: out, restart: sim.NewSignal(env.Kernel)}
	j.lastOK.Store(-1)
	return j
}

// LastSuccess is the model time of the janitor's last successful pass, and
// false if it has had none: what honest monitoring alerts on.
func (j *Janitor) LastSuccess() (time.Duration, bool) {
	t := j.lastOK.Load()
	return time.Duration(t), t >= 0
}

// Restart makes the janitor restart: it rereads its configuration and
// begins a pass at once (once its pass under way, if any, is over).
func (j *Janitor) Restart() { j.restart.Notify() }

// SetAggressive turns the aggressive cleanup mode on, destroying at rate VMs
// per model second (0 for no limit), or off.
func (j *Janitor) SetAggressive(on bool, rate float64) {
	j.aggressiveRate.Store(math.Float64bits(rate))
	j.aggressive.Store(on)
}

// Run makes passes until the run stops, then closes Out.
func (j *Janitor) Run(ctx context.Context) {
	defer j.Out.Close()
	j.loaded = j.Credentials.configured.Load()
	if !sim.SleepUntil(ctx, j.Phase) {
		return
	}
	for j.pass(ctx) {
		restarted, ok := sim.SleepOrWake(ctx, j.Every, j.restart)
		if !ok {
			return
		}
		if restarted {
			j.loaded = j.Credentials.configured.Load()
			j.Log.Warn("janitor_restarted", zap.Bool("login_ok", !j.loginFails()))
		}
	}
}

func (j *Janitor) loginFails() bool { return j.loaded != j.Credentials.password.Load() }

// pass is one loop of the janitor; it returns false if the run stopped.
func (j *Janitor) pass(ctx context.Context) bool {
	err := errLogin
	if !j.loginFails() {
		err = j.Cluster.Call(ctx) // the listing's
	}
	if err == cluster.ErrStopped {
		return false
	}
	if err != nil {
		j.failedPasses.Add(1)
		switch {
		case j.ReportFresh:
			j.reported.Store(j.Cluster.VMs())
		case !j.ReportStale:
			j.reported.Store(0)
		}
		if ce := check(j.Events, zapcore.DebugLevel, "cleanup_failed"); ce != nil {
			ce.Write(zap.String("reason", err.Error()))
		}
		if !j.failing.Swap(true) {
			j.Log.Warn("janitor_failing", zap.String("reason", err.Error()), zap.Int64("reported_vms", j.reported.Load()),
				zap.Bool("report_stale", j.ReportStale),
				zap.String("note", "nothing is cleaned; the failure is not reported to monitoring"))
		}
		return true
	}
	if j.failing.Swap(false) {
		j.Log.Warn("janitor_ok")
	}

	// The listing is oldest first: the order a person would want, and one
	// that does not depend on how the cluster keeps its inventory. It is
	// the VMs this pass may destroy, and the others it would only skip
	// left out: the VMs neither finished nor older than the cutoff, the
	// never-booted ones unless the reaper is on, and those that earlier
	// passes claimed once finished (the cluster's parked VMs). The cluster's
	// Pass joins in what the pass comes to want before it comes to their
	// places: parked VMs given back, and the never-booted ones once the
	// reaper is turned on.
	aggressive := j.aggressive.Load()
	rate := j.RatePerSecond
	if aggressive {
		rate = math.Float64frombits(j.aggressiveRate.Load())
	}
	now := j.Kernel.Now()
	wants := cluster.Listing{Before: now - j.Cutoff, Stranded: j.Switches.On(incident.Reaper)}
	if aggressive {
		wants = cluster.Listing{Before: cluster.AllActive, Stranded: true}
	}
	all := j.Cluster.Walk(&j.walk, wants)
	j.reported.Store(int64(all))
	j.passes.Add(1)
	j.lastOK.Store(int64(now))

	next, interval := now, time.Duration(0)
	if rate > 0 {
		interval = time.Duration(float64(time.Second) / rate)
	}
	for {
		vm, more := j.walk.Next(j.Switches.On(incident.Reaper))
		if !more {
			return true
		}
		ok, byReaper := j.destroyable(vm, now)
		if !(aggressive || ok) || !j.Cluster.Claim(vm.VM) {
			continue
		}
		if !sim.SleepUntil(ctx, next) || !j.Out.Send(ctx, vm.VM) {
			return false
		}
		if byReaper && !aggressive {
			j.reaped.Add(1)
		}
		next += interval
	}
}

var errLogin = errors.New("vSphere log-in failed: incorrect user name or password")

// destroyable reports whether the janitor's normal pass destroys vm at
// model time now, and whether it is the reaper's to destroy.
func (j *Janitor) destroyable(vm cluster.Info, now time.Duration) (ok, byReaper bool) {
	if !vm.Uptime {
		// Never booted, or not booted yet: skipped for ever, unless the
		// reaper is on and the VM never booted and is old enough.
		reap := j.Switches.On(incident.Reaper) && vm.State == cluster.NeverBooted && now-vm.CreatedAt > j.ReaperTTL
		return reap, reap
	}
	return vm.State == cluster.Finished || now-vm.CreatedAt > j.Cutoff, false
}

// JanitorStats is a snapshot of the janitor's counters.
type JanitorStats struct {
	Passes, FailedPasses int64
	// Reaped is the never-booted VMs the reaper rule handed out.
	Reaped int64
	// Reported is the VM count the janitor last reported to monitoring.
	Reported int64
}

// Stats reads the janitor's counters.
func (j *Janitor) Stats() JanitorStats {
	return JanitorStats{Passes: j.passes.Load(), FailedPasses: j.failedPasses.Load(), Reported: j.reported.Load(), Reaped: j.reaped.Load()}
}

// CleanupPool is the janitor's pool of workers that destroy VMs. Normally only
// Concurrency of them work; the aggressive mode sets them all to work.
type CleanupPool struct {
	Env
	Stage
	Concurrency int // workers at work in the normal mode (0: all)

	In *sim.Chan[*cluster.VM] // from the janitor

	gate *sim.Gate
}

// NewCleanupPool returns a pool of n workers, concurrency of which work in
// the janitor's normal mode (0: all), destroying the VMs from in.
func NewCleanupPool(env Env, n, concurrency int, in *sim.Chan[*cluster.VM]) *CleanupPool {
	c := &CleanupPool{Env: env, Stage: Stage{Workers: n}, Concurrency: concurrency, In: in}
	c.gate = sim.NewGate(env.Kernel, c.normal())
	return c
}

func (c *CleanupPool) normal() int {
	if c.Concurrency <= 0 {
		return c.Workers
	}
	return min(c.Concurrency, c.Workers)
}

// SetAggressive sets every worker to work, or only the normal concurrency.
func (c *CleanupPool) SetAggressive(on bool) {
	if on {
		c.gate.Set(c.Workers)
	} else {
		c.gate.Set(c.normal())
	}
}

// Run runs the pool until In is closed and drained or the run stops.
func (c *CleanupPool) Run(ctx context.Context) {
	var g sim.Group
	for i := range c.Workers {
		g.Go(ctx, func(ctx context.Context) { c.work(ctx, i) })
	}
	g.Wait(ctx)
}

func (c *CleanupPool) work(ctx context.Context, i int) {
	for {
		if !c.gate.Wait(ctx, i) {
			return
		}
		vm, ok := c.In.Recv(ctx)
		if !ok {
			return
		}
		start := c.begin(c.Kernel)
		err := c.Cluster.Destroy(ctx, vm)
		if err == cluster.ErrStopped {
			return
		}
		c.end(c.Kernel, start, err == nil)
		if err != nil {
			c.Cluster.Unclaim(vm) // the next pass tries again
			if ce := check(c.Events, zapcore.WarnLevel, "vm_delete_failed"); ce != nil {
				ce.Write(vmField(vm), zap.String("reason", reason(err)))
			}
			continue
		}
		if ce := check(c.Events, zapcore.DebugLevel, "vm_destroyed"); ce != nil { // no fields built for a line not written
			ce.Write(zap.Uint64("job_id", vm.JobID), zap.Int("attempt", vm.Attempt), vmField(vm))
		}
	}
}
