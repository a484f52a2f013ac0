package workers

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"vmstorm/capacity"
	"vmstorm/cluster"
	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/internal/simtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// inKernel runs body as the process of a Serial kernel, to its end. body
// checks with its t, the process's checks: what failed is reported on the
// test goroutine once the run is over.
func inKernel(t *testing.T, body func(t *simtest.Checks, ctx context.Context, k *sim.Kernel)) {
	t.Helper()
	checks := simtest.New(t)
	k := sim.New(sim.Options{})
	k.Go(t.Context(), func(ctx context.Context) { body(checks, ctx, k) })
	err := k.Run(t.Context())
	checks.Report()
	require.NoError(t, err)
}

// newCluster is a cluster for the janitor's tests: instant calls, a
// refusal that comes back in a second.
func newCluster(k *sim.Kernel, vms int64) *cluster.Cluster {
	return cluster.New(cluster.Config{Seed: 1, RejectTime: time.Second}, k, capacity.New(vms))
}

// newJanitor is a janitor in kernel k, made as the pipeline makes one, that
// hands the VMs it may destroy to out, at most rate a second (0: no limit).
func newJanitor(k *sim.Kernel, c *cluster.Cluster, creds *Credentials, out *sim.Chan[*cluster.VM], cutoff time.Duration, rate float64) *Janitor {
	env := Env{Kernel: k, Cluster: c, Log: zap.NewNop(), Events: zap.NewNop()}
	return NewJanitor(env, JanitorSettings{Every: time.Minute, Cutoff: cutoff, RatePerSecond: rate}, creds, nil, out)
}

// TestJanitorPassPicksWhatThe2015JanitorDestroyed puts one VM in each state
// on a cluster and checks which of them one janitor pass hands over for
// destruction: finished VMs, and booted VMs older than the cutoff; never a
// VM with zero uptime, however old.
func TestJanitorPassPicksWhatThe2015JanitorDestroyed(t *testing.T) {
	const cutoff = 2 * time.Hour
	tests := []struct {
		name    string
		make    func(ctx context.Context, c *cluster.Cluster) *cluster.VM
		age     time.Duration // how long before the pass the VM was made
		destroy bool
	}{
		{"finished", finishedVM, time.Minute, true},
		{"running, young", runningVM, time.Minute, false},
		{"running, past the cutoff", runningVM, cutoff + time.Minute, true},
		{"never booted, young", neverBootedVM, time.Minute, false},
		{"never booted, past the cutoff", neverBootedVM, cutoff + time.Minute, false},
		{"cloned, not yet powered on", clonedVM, time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inKernel(t, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel) {
				c := newCluster(k, 1)
				vm := tt.make(ctx, c)
				require.True(t, sim.Sleep(ctx, tt.age))

				out := sim.NewChan[*cluster.VM](k, 1)
				j := newJanitor(k, c, &Credentials{}, out, cutoff, 0)
				require.True(t, j.pass(ctx))
				assertHandedOut(t, out, vm, tt.destroy)
				assert.Equal(t, int64(1), j.Stats().Reported, "it reports every VM it saw")
			})
		})
	}
}

func clonedVM(ctx context.Context, c *cluster.Cluster) *cluster.VM {
	vm, err := c.Clone(ctx, 1, 1)
	if err != nil {
		panic(err)
	}
	return vm
}

func runningVM(ctx context.Context, c *cluster.Cluster) *cluster.VM {
	vm := clonedVM(ctx, c)
	if err := c.PowerOn(ctx, vm); err != nil {
		panic(err)
	}
	return vm
}

func finishedVM(ctx context.Context, c *cluster.Cluster) *cluster.VM {
	vm := runningVM(ctx, c)
	c.PowerOff(vm)
	return vm
}

// neverBootedVM fills the cluster's one slot with another VM, so that this
// one's power-on fails.
func neverBootedVM(ctx context.Context, c *cluster.Cluster) *cluster.VM {
	occupier, _ := c.Clone(ctx, 2, 1)
	if err := c.PowerOn(ctx, occupier); err != nil {
		panic(err)
	}
	vm := clonedVM(ctx, c)
	if err := c.PowerOn(ctx, vm); err == nil {
		panic("power-on on a full cluster succeeded")
	}
	// Take the occupier off the cluster, so only vm is listed.
	c.Claim(occupier)
	if err := c.Destroy(ctx, occupier); err != nil {
		panic(err)
	}
	return vm
}

// rotateAndFinishFive rotates the credentials, so that the janitor's next
// pass cannot log in, and leaves five more finished VMs on the cluster
// (ids 10 to 14).
func rotateAndFinishFive(t require.TestingT, ctx context.Context, c *cluster.Cluster, creds *Credentials) {
	creds.Rotate()
	for id := uint64(10); id < 15; id++ {
		vm, _ := c.Clone(ctx, id, 1)
		require.NoError(t, c.PowerOn(ctx, vm))
		c.PowerOff(vm)
	}
}

// TestFailedPassReports: a pass that cannot log in destroys nothing, and
// what it reports to monitoring is its last count (ReportStale, the 2015
// defect: the count frozen while the VMs pile up), 0 (without it), or the
// VMs on the cluster all the same (ReportFresh, an account of its own),
// whatever ReportStale says.
func TestFailedPassReports(t *testing.T) {
	for _, tt := range []struct {
		name         string
		stale, fresh bool
		want         int64
	}{
		{"stale", true, false, 1},
		{"zero", false, false, 0},
		{"fresh", false, true, 6},
		{"fresh, stale moot", true, true, 6},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inKernel(t, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel) {
				c := newCluster(k, 10)
				finishedVM(ctx, c)
				creds := &Credentials{}
				out := sim.NewChan[*cluster.VM](k, 10)
				j := newJanitor(k, c, creds, out, time.Hour, 0)
				j.ReportStale, j.ReportFresh = tt.stale, tt.fresh
				require.True(t, j.pass(ctx))
				assert.Equal(t, int64(1), j.Stats().Reported)
				require.Len(t, out.Drain(), 1)
				rotateAndFinishFive(t, ctx, c, creds)
				require.True(t, j.pass(ctx))
				assert.Zero(t, out.Len(), "a janitor that cannot log in hands out nothing")
				assert.Equal(t, tt.want, j.Stats().Reported)
				assert.Equal(t, int64(6), c.Stats().VMs)
				assert.Equal(t, JanitorStats{Passes: 1, FailedPasses: 1, Reported: tt.want}, j.Stats())
			})
		})
	}
}

// TestJanitorPacesItsPass checks RATE_PER_SECOND: a pass over n destroyable
// VMs hands them out 1/rate apart.
func TestJanitorPacesItsPass(t *testing.T) {
	inKernel(t, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel) {
		c := newCluster(k, 100)
		for id := uint64(1); id <= 20; id++ {
			vm, _ := c.Clone(ctx, id, 1)
			require.NoError(t, c.PowerOn(ctx, vm))
			c.PowerOff(vm)
		}
		out := sim.NewChan[*cluster.VM](k, 100)
		j := newJanitor(k, c, &Credentials{}, out, time.Hour, 5)
		start := k.Now()
		require.True(t, j.pass(ctx))
		got := out.Drain()
		assert.Len(t, got, 20)
		// The first goes at once, then one every 200ms.
		assert.Equal(t, 19*200*time.Millisecond, k.Now()-start)
		var prev uint64
		for _, vm := range got {
			assert.Greater(t, vm.JobID, prev, "oldest first")
			prev = vm.JobID
		}
	})
}

// assertHandedOut checks that the janitor's pass handed vm out for
// destruction, and nothing else, if destroy; and nothing at all if not.
func assertHandedOut(t simtest.TB, out *sim.Chan[*cluster.VM], vm *cluster.VM, destroy bool) {
	t.Helper()
	if !destroy {
		assert.Zero(t, out.Len())
		return
	}
	got := out.Drain()
	require.Len(t, got, 1)
	assert.Same(t, vm, got[0])
}

// TestPassWithParkedVMsLeftOut: the cluster leaves out of the janitor's
// listing the VMs claimed once they had finished (parked), which a pass
// would only skip; a pass does all the same what it would with the whole
// listing. VMs 1 to 5 are running and 6 to 10 finished when a first pass
// hands out 6 to 10; then 1 to 5 and 11 finish, 12 runs, and a second pass
// hands out one VM a second. A parked VM given back (a refused destroy)
// before the pass comes to its place is handed out at that place; one
// given back once the pass is past its place is not; and a VM the listing
// saw running, finished and claimed by its worker after it and given back,
// is not: the listing said it was running.
func TestPassWithParkedVMsLeftOut(t *testing.T) {
	tests := []struct {
		name   string
		at     time.Duration // after the second pass begins
		act    func(c *cluster.Cluster, vms []*cluster.VM)
		handed []uint64
	}{
		{"given back ahead of the pass", 2500 * time.Millisecond,
			func(c *cluster.Cluster, vms []*cluster.VM) { c.Unclaim(vms[8]) },
			[]uint64{1, 2, 3, 4, 5, 8, 11}},
		{"given back behind the pass", 4500 * time.Millisecond,
			func(c *cluster.Cluster, vms []*cluster.VM) { c.Unclaim(vms[8]) },
			[]uint64{1, 2, 3, 4, 5, 11}},
		{"finished after the listing, given back", 1500 * time.Millisecond,
			func(c *cluster.Cluster, vms []*cluster.VM) {
				c.PowerOff(vms[12])
				c.Claim(vms[12])   // its worker deletes it,
				c.Unclaim(vms[12]) // and the API refuses
			},
			[]uint64{1, 2, 3, 4, 5, 11}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inKernel(t, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel) {
				c := newCluster(k, 100)
				vms := cloneJobs(t, ctx, c, 12)
				for _, vm := range vms[1:] {
					require.NoError(t, c.PowerOn(ctx, vm))
				}
				for _, vm := range vms[6:11] {
					c.PowerOff(vm)
				}
				out := sim.NewChan[*cluster.VM](k, 100)
				require.True(t, newJanitor(k, c, &Credentials{}, out, 2*time.Hour, 0).pass(ctx))
				require.Len(t, out.Drain(), 5, "the first pass hands out 6 to 10")
				for _, vm := range append(vms[1:6:6], vms[11]) {
					c.PowerOff(vm)
				}

				j := newJanitor(k, c, &Credentials{}, out, 2*time.Hour, 1)
				handed := passWhile(t, ctx, j, tt.at, func() { tt.act(c, vms) })
				assert.Equal(t, tt.handed, handed)
				assert.Equal(t, int64(12), j.Stats().Reported, "the parked VMs are counted")
				assert.NoError(t, c.Audit())
			})
		})
	}
}

// TestReaperTurnedOnDuringAPass: the never-booted VMs are left out of a
// listing made with the reaper off; turned on during the pass, the pass
// reaps those it has yet to come to, as it would with them listed, and not
// those it is past. Jobs 1, 3 and 5 are finished, 2 and 4 never booted; the
// pass hands out one a second, and the reaper comes on between 1 and 3.
func TestReaperTurnedOnDuringAPass(t *testing.T) {
	inKernel(t, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel) {
		c := newCluster(k, 3)
		vms := cloneJobs(t, ctx, c, 5)
		for _, id := range []int{1, 3, 5, 2, 4} {
			err := c.PowerOn(ctx, vms[id])
			require.Equal(t, id%2 == 0, err != nil, "job %d: %v", id, err)
		}
		for _, id := range []int{1, 3, 5} {
			c.PowerOff(vms[id])
		}
		switches := NewSwitches(nil)
		env := Env{Kernel: k, Cluster: c, Log: zap.NewNop(), Events: zap.NewNop()}
		out := sim.NewChan[*cluster.VM](k, 10)
		j := NewJanitor(env, JanitorSettings{Every: time.Minute, Cutoff: time.Hour, RatePerSecond: 1}, &Credentials{}, switches, out)
		handed := passWhile(t, ctx, j, 500*time.Millisecond, func() { switches.Set(incident.Reaper, true) })
		assert.Equal(t, []uint64{1, 3, 4, 5}, handed)
		assert.Equal(t, int64(1), j.Stats().Reaped)
	})
}

// cloneJobs clones a VM for each of jobs 1 to n, at once, and returns them
// by job ID (index 0 unused).
func cloneJobs(t simtest.TB, ctx context.Context, c *cluster.Cluster, n int) []*cluster.VM {
	vms := make([]*cluster.VM, n+1)
	for id := 1; id <= n; id++ {
		vm, err := c.Clone(ctx, uint64(id), 1)
		require.NoError(t, err)
		vms[id] = vm
	}
	return vms
}

// passWhile makes one pass of j, with act done by another process at model
// time at after the pass begins, and returns the job IDs of the VMs the
// pass handed out, in order.
func passWhile(t simtest.TB, ctx context.Context, j *Janitor, at time.Duration, act func()) []uint64 {
	var g sim.Group
	g.Go(ctx, func(ctx context.Context) {
		if sim.Sleep(ctx, at) {
			act()
		}
	})
	require.True(t, j.pass(ctx))
	g.Wait(ctx)
	var handed []uint64
	for _, vm := range j.Out.Drain() {
		handed = append(handed, vm.JobID)
	}
	return handed
}
