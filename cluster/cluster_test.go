package cluster

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"vmstorm/capacity"
	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
	"vmstorm/internal/simtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	cloneTime   = 30 * time.Second
	bootTime    = 90 * time.Second
	destroyTime = 12 * time.Second
	timeout     = 4 * time.Minute
	rejectTime  = 2 * time.Minute
)

// config has zero spreads, so that every latency is exactly its mean.
func config() Config {
	return Config{
		Clone:        dist.Latency{Mean: cloneTime},
		PowerOn:      dist.Latency{Mean: bootTime},
		Destroy:      dist.Latency{Mean: destroyTime},
		StartTimeout: timeout,
		RejectTime:   rejectTime,
		Seed:         1,
	}
}

// inCluster runs body as a process of a Serial kernel, on a new cluster of
// cfg that holds capacityVMs, and checks the cluster's books at the end.
// body checks with its t, the process's checks: what failed is reported on
// the test goroutine once the run is over.
func inCluster(t *testing.T, cfg Config, capacityVMs int64, body func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster)) {
	t.Helper()
	checks := simtest.New(t)
	k := sim.New(sim.Options{})
	c := New(cfg, k, capacity.New(capacityVMs))
	k.Go(t.Context(), func(ctx context.Context) { body(checks, ctx, k, c) })
	err := k.Run(t.Context())
	checks.Report()
	if err != nil {
		require.ErrorIs(t, err, errStoppedByTest)
	}
	require.NoError(t, c.Audit())
}

var errStoppedByTest = errors.New("stopped by the test")

// stopAt stops k at model time at, from a process of g: a run that ends in
// the middle of a call.
func stopAt(ctx context.Context, g *sim.Group, k *sim.Kernel, at time.Duration) {
	g.Go(ctx, func(ctx context.Context) {
		if sim.SleepUntil(ctx, at) {
			k.Stop(errStoppedByTest)
		}
	})
}

// info is vm's entry in the inventory listing, if it has one.
func info(c *Cluster, vm *VM) (Info, bool) {
	for _, in := range c.List() {
		if in.VM == vm {
			return in, true
		}
	}
	return Info{}, false
}

// requireState checks vm is listed in state s.
func requireState(t simtest.TB, c *Cluster, vm *VM, s State) Info {
	t.Helper()
	in, ok := info(c, vm)
	require.True(t, ok, "%s is not in the inventory", vm.Name())
	require.Equal(t, s, in.State, "%s", vm.Name())
	return in
}

// checkStats checks the books (Audit), and that the counters agree with
// each other and with the listing; call it only when no cluster call is
// under way.
func checkStats(t simtest.TB, c *Cluster) Stats {
	t.Helper()
	require.NoError(t, c.Audit())
	s := c.Stats()
	assert.Equal(t, s.Cloned-s.Destroyed, s.VMs, "cloned - destroyed == VMs: %+v", s)
	assert.Equal(t, s.Admitted-s.Released+s.HeldByNeverBooted, s.InUse, "admitted - released + held by never-booted VMs == in use: %+v", s)
	var byState [numStates]int64
	for _, in := range c.List() {
		byState[in.State]++
	}
	assert.Equal(t, byState, s.ByState, "ByState matches the listing")
	assert.LessOrEqual(t, s.VMs, s.PeakVMs)
	assert.LessOrEqual(t, s.InUse, s.PeakInUse)
	assert.Equal(t, c.Gauge().Capacity(), s.Capacity)
	return s
}

func TestCloneTakesCloneLatency(t *testing.T) {
	inCluster(t, config(), 2, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		vm, cloneErr := c.Clone(ctx, 17, 2)
		require.NoError(t, cloneErr)
		assert.Equal(t, cloneTime, k.Now())
		assert.Equal(t, "travis-job-17-2", vm.Name())
		assert.Equal(t, uint64(17), vm.JobID)
		assert.Equal(t, 2, vm.Attempt)
		in := requireState(t, c, vm, Cloned)
		assert.Equal(t, cloneTime, in.CreatedAt)
		assert.False(t, in.Uptime, "a clone has never been powered on")

		s := checkStats(t, c)
		assert.Equal(t, int64(1), s.VMs)
		assert.Equal(t, int64(1), s.Cloned)
		assert.Equal(t, int64(1), s.PeakVMs)
		assert.Zero(t, s.InUse, "a clone holds no capacity")
		assert.Zero(t, s.Admitted)
	})
}

func TestCloneStopped(t *testing.T) {
	inCluster(t, config(), 2, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		var g sim.Group
		stopAt(ctx, &g, k, 12*time.Second)
		vm, cloneErr := c.Clone(ctx, 1, 0)
		assert.ErrorIs(t, cloneErr, ErrStopped)
		assert.Nil(t, vm)
		assert.Equal(t, 12*time.Second, k.Now(), "Clone returns when the run stops")
		assert.Empty(t, c.List())
		s := checkStats(t, c)
		assert.Zero(t, s.Cloned)
		g.Wait(ctx)
	})
}

// TestListIsOldestFirst: the listing comes oldest first, VMs created at the
// same instant by job and attempt, whatever order they were cloned in and
// whatever has left the inventory meanwhile; and the audit sees an
// inventory out of that order.
func TestListIsOldestFirst(t *testing.T) {
	inCluster(t, config(), 100, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		// Clones that begin at once end at once: created at one instant.
		cloneAt := func(at time.Duration, jobs ...uint64) []*VM {
			var g sim.Group
			vms := make([]*VM, len(jobs))
			for i, job := range jobs {
				g.Go(ctx, func(ctx context.Context) {
					sim.SleepUntil(ctx, at)
					vm, err := c.Clone(ctx, job, int(job%3))
					assert.NoError(t, err)
					vms[i] = vm
				})
			}
			g.Wait(ctx)
			return vms
		}
		first := cloneAt(0, 9, 3, 7, 1)
		for _, vm := range first[:2] {
			require.True(t, c.Claim(vm))
			require.NoError(t, c.Destroy(ctx, vm))
		}
		cloneAt(time.Hour, 8, 2, 6)
		cloneAt(2*time.Hour, 5, 4)

		var got []string
		for _, in := range c.List() {
			got = append(got, fmt.Sprintf("%v %s", in.CreatedAt, in.VM.Name()))
		}
		assert.Equal(t, []string{
			"30s travis-job-1-1", "30s travis-job-7-1",
			"1h0m30s travis-job-2-2", "1h0m30s travis-job-6-0", "1h0m30s travis-job-8-2",
			"2h0m30s travis-job-4-1", "2h0m30s travis-job-5-2",
		}, got)
		require.NoError(t, c.Audit())

		// Two VMs out of order: the audit says so.
		c.mu.Lock()
		active := c.inv.active.vms
		a, b := active[len(active)-1], active[len(active)-2]
		active[a.at], active[b.at] = b, a
		a.at, b.at = b.at, a.at
		c.mu.Unlock()
		assert.ErrorContains(t, c.Audit(), "travis-job-4-1 is listed after travis-job-5-2, which is younger")
		c.mu.Lock()
		active[a.at], active[b.at] = b, a
		a.at, b.at = b.at, a.at
		c.mu.Unlock()
	})
}

// TestInventorySqueezesOutItsHoles: the inventory's places do not grow with
// the VMs that have left it, and its listing stays in order as they do.
func TestInventorySqueezesOutItsHoles(t *testing.T) {
	inCluster(t, config(), 100, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		var kept []*VM
		for job := range uint64(1000) {
			vm, err := c.Clone(ctx, job, 1)
			require.NoError(t, err)
			if job%10 == 0 {
				kept = append(kept, vm)
				continue
			}
			require.True(t, c.Claim(vm))
			require.NoError(t, c.Destroy(ctx, vm))
		}
		require.NoError(t, c.Audit())
		c.mu.Lock()
		places := len(c.inv.active.vms)
		c.mu.Unlock()
		assert.LessOrEqual(t, places, 2*len(kept)+64, "places for %d VMs", len(kept))
		var got []*VM
		for _, in := range c.List() {
			got = append(got, in.VM)
		}
		assert.Equal(t, kept, got)
	})
}

func TestPowerOnNoCapacity(t *testing.T) {
	inCluster(t, config(), 1, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		occupier, err := c.Clone(ctx, 9, 1)
		require.NoError(t, err)
		require.NoError(t, c.PowerOn(ctx, occupier)) // someone else's VM fills the cluster
		vm, cloneErr := c.Clone(ctx, 1, 0)
		require.NoError(t, cloneErr)
		before := k.Now()

		err = c.PowerOn(ctx, vm)
		assert.ErrorIs(t, err, ErrNoCapacity)
		assert.Equal(t, rejectTime, k.Now()-before, "a refused power-on comes back after the reject time")
		in := requireState(t, c, vm, NeverBooted)
		assert.False(t, in.Uptime, "the janitor must see zero uptime")
		assert.False(t, vm.holdsSlot)
		assert.Equal(t, int64(1), c.Gauge().InUse(), "the gauge is unchanged")
		s := checkStats(t, c)
		assert.Equal(t, int64(1), s.Admitted, "the occupier alone")
		assert.Equal(t, int64(2), s.VMs, "the refused VM stays in the inventory")
		assert.Equal(t, int64(1), s.ByState[NeverBooted])
		assert.Zero(t, s.ByState[Cloned])
	})
}

func TestPowerOn(t *testing.T) {
	tests := []struct {
		name         string
		boot         time.Duration
		startTimeout time.Duration
		wantErr      error
		wantState    State
		wantAfter    time.Duration // model time PowerOn takes
	}{
		{"boots", bootTime, timeout, nil, Running, bootTime},
		{"boots just in time", timeout, timeout, nil, Running, timeout},
		{"times out", 5 * time.Minute, timeout, ErrStartTimeout, Orphaned, timeout},
		{"times out by a second", timeout + time.Second, timeout, ErrStartTimeout, Orphaned, timeout},
		{"no timeout", 10 * time.Minute, 0, nil, Running, 10 * time.Minute},
		{"instant boot", 0, timeout, nil, Running, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config()
			cfg.PowerOn = dist.Latency{Mean: tt.boot}
			cfg.StartTimeout = tt.startTimeout
			inCluster(t, cfg, 3, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
				vm, cloneErr := c.Clone(ctx, 1, 0)
				require.NoError(t, cloneErr)
				before := k.Now()

				err := c.PowerOn(ctx, vm)
				if tt.wantErr == nil {
					assert.NoError(t, err)
				} else {
					assert.ErrorIs(t, err, tt.wantErr)
				}
				assert.Equal(t, tt.wantAfter, k.Now()-before)
				in := requireState(t, c, vm, tt.wantState)
				assert.True(t, in.Uptime)
				assert.Equal(t, int64(1), c.Gauge().InUse(), "the VM holds its slot, booted or orphaned")
				s := checkStats(t, c)
				assert.Equal(t, int64(1), s.Admitted)
				assert.Equal(t, int64(1), s.ByState[tt.wantState])
			})
		})
	}
}

func TestPowerOnIsBootingWhileItBoots(t *testing.T) {
	inCluster(t, config(), 1, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		vm, cloneErr := c.Clone(ctx, 1, 0)
		require.NoError(t, cloneErr)
		var err error
		var g sim.Group
		g.Go(ctx, func(ctx context.Context) { err = c.PowerOn(ctx, vm) })
		require.True(t, sim.Sleep(ctx, bootTime/2)) // PowerOn is asleep in the boot
		in := requireState(t, c, vm, Booting)
		assert.True(t, in.Uptime, "a booting VM has been powered on")
		checkStats(t, c)
		assert.Equal(t, int64(1), c.Gauge().InUse(), "a booting VM holds capacity")
		g.Wait(ctx)
		require.NoError(t, err)
		requireState(t, c, vm, Running)
	})
}

func TestPowerOnStoppedLeavesVMBooting(t *testing.T) {
	inCluster(t, config(), 1, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		vm, cloneErr := c.Clone(ctx, 1, 0)
		require.NoError(t, cloneErr)
		var g sim.Group
		stopAt(ctx, &g, k, cloneTime+30*time.Second)
		err := c.PowerOn(ctx, vm)
		assert.ErrorIs(t, err, ErrStopped)
		assert.Equal(t, cloneTime+30*time.Second, k.Now())
		requireState(t, c, vm, Booting)
		assert.Equal(t, int64(1), c.Gauge().InUse())
		checkStats(t, c)
		g.Wait(ctx)
	})
}

func TestPowerOnDestroyedWhileBooting(t *testing.T) {
	inCluster(t, config(), 1, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		vm, cloneErr := c.Clone(ctx, 1, 0)
		require.NoError(t, cloneErr)
		var err error
		var g sim.Group
		g.Go(ctx, func(ctx context.Context) { err = c.PowerOn(ctx, vm) })

		require.True(t, sim.Sleep(ctx, 30*time.Second))
		require.True(t, c.Claim(vm))
		require.NoError(t, c.Destroy(ctx, vm))
		assert.Zero(t, c.Gauge().InUse(), "Destroy gives the booting VM's slot back")
		g.Wait(ctx)

		assert.ErrorIs(t, err, ErrDestroyed)
		_, listed := info(c, vm)
		assert.False(t, listed)
		s := checkStats(t, c)
		assert.Zero(t, s.VMs)
		assert.Equal(t, int64(1), s.Released)
		assert.Equal(t, 30*time.Second+destroyTime, s.MeanSlotHeld, "admitted as the boot began, destroyed 30s into it, after the destroy latency")
	})
}

// TestDestroyRacesPowerOn: the two races that once unbalanced the books.
// An aggressive janitor destroys a VM while its power-on is refused, or
// before its power-on's API call comes back; neither may leave a count
// negative or a slot held by no VM.
func TestDestroyRacesPowerOn(t *testing.T) {
	t.Run("destroyed during its refusal", func(t *testing.T) {
		inCluster(t, config(), 1, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
			occupier, _ := c.Clone(ctx, 9, 1)
			require.NoError(t, c.PowerOn(ctx, occupier))
			vm, err := c.Clone(ctx, 1, 1)
			require.NoError(t, err)
			var g sim.Group
			g.Go(ctx, func(ctx context.Context) { err = c.PowerOn(ctx, vm) })
			require.True(t, sim.Sleep(ctx, rejectTime/4)) // the refusal is on its way back
			require.True(t, c.Claim(vm))
			require.NoError(t, c.Destroy(ctx, vm))
			g.Wait(ctx)
			assert.ErrorIs(t, err, ErrNoCapacity)
			s := checkStats(t, c)
			assert.Zero(t, s.ByState[NeverBooted], "a destroyed VM is not left never booted")
			assert.Equal(t, int64(1), s.VMs, "the occupier alone")
		})
	})
	t.Run("destroyed before its admission", func(t *testing.T) {
		cfg := config()
		cfg.ClientRate = 1 // one call a second: calls queue up
		cfg.Destroy = dist.Latency{Mean: 500 * time.Millisecond}
		inCluster(t, cfg, 2, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
			vm, err := c.Clone(ctx, 1, 1) // takes the client's token
			require.NoError(t, err)
			require.True(t, c.Claim(vm))
			var g sim.Group
			var destroyErr error
			g.Go(ctx, func(ctx context.Context) { destroyErr = c.Destroy(ctx, vm) }) // reserved first: done at 1.5s
			g.Go(ctx, func(ctx context.Context) { err = c.PowerOn(ctx, vm) })        // reserved second: admission at 2s
			g.Wait(ctx)
			require.NoError(t, destroyErr)
			assert.ErrorIs(t, err, ErrDestroyed)
			s := checkStats(t, c)
			assert.Zero(t, s.InUse, "no slot is held by a VM that is gone")
			assert.Zero(t, s.VMs)
		})
	})
}

func TestPowerOffSetsFinished(t *testing.T) {
	inCluster(t, config(), 1, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		vm, cloneErr := c.Clone(ctx, 1, 0)
		require.NoError(t, cloneErr)
		require.NoError(t, c.PowerOn(ctx, vm))
		assert.True(t, c.PowerOff(vm))
		in := requireState(t, c, vm, Finished)
		assert.True(t, in.Uptime)
		assert.Equal(t, int64(1), c.Gauge().InUse(), "a finished VM holds its slot until destroyed")
		s := checkStats(t, c)
		assert.Equal(t, int64(1), s.ByState[Finished])
		assert.Zero(t, s.ByState[Running])
	})
}

func TestClaimIsExclusive(t *testing.T) {
	inCluster(t, config(), 1, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		vm, cloneErr := c.Clone(ctx, 1, 0)
		require.NoError(t, cloneErr)
		assert.True(t, c.Claim(vm))
		assert.False(t, c.Claim(vm), "a claimed VM cannot be claimed again")
		assert.False(t, c.Discard(vm), "nor discarded")
		require.NoError(t, c.Destroy(ctx, vm))
		assert.False(t, c.Claim(vm), "a destroyed VM cannot be claimed")
	})
}

func TestClaimIsExclusiveConcurrently(t *testing.T) {
	k := sim.New(sim.Options{Mode: sim.Parallel})
	c := New(config(), k, capacity.New(1))
	var vm *VM
	k.Go(t.Context(), func(ctx context.Context) { vm, _ = c.Clone(ctx, 1, 0) })
	require.NoError(t, k.Run(t.Context()))
	wins := make(chan bool, 100)
	k = sim.New(sim.Options{Mode: sim.Parallel})
	for range 100 {
		k.Go(t.Context(), func(context.Context) { wins <- c.Claim(vm) })
	}
	require.NoError(t, k.Run(t.Context()))
	close(wins)
	n := 0
	for w := range wins {
		if w {
			n++
		}
	}
	assert.Equal(t, 1, n)
}

func TestDiscard(t *testing.T) {
	inCluster(t, config(), 1, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		booted, _ := c.Clone(ctx, 1, 1)
		require.NoError(t, c.PowerOn(ctx, booted))
		refused, _ := c.Clone(ctx, 2, 1)
		require.ErrorIs(t, c.PowerOn(ctx, refused), ErrNoCapacity)
		assert.False(t, c.Discard(booted), "a VM that booted holds a slot: it must be destroyed")
		assert.True(t, c.Discard(refused), "a failed start leaves nothing behind")
		assert.False(t, c.Discard(refused), "once")
		s := checkStats(t, c)
		assert.Equal(t, int64(1), s.VMs)
		assert.Zero(t, s.ByState[NeverBooted])
	})
}

func TestDestroy(t *testing.T) {
	tests := []struct {
		name      string
		capacity  int64
		setup     func(ctx context.Context, t simtest.TB, c *Cluster, vm *VM)
		holdsSlot bool
	}{
		{"cloned", 1, func(context.Context, simtest.TB, *Cluster, *VM) {}, false},
		{"never booted", 0, func(ctx context.Context, t simtest.TB, c *Cluster, vm *VM) {
			require.ErrorIs(t, c.PowerOn(ctx, vm), ErrNoCapacity)
		}, false},
		{"running", 1, func(ctx context.Context, t simtest.TB, c *Cluster, vm *VM) {
			require.NoError(t, c.PowerOn(ctx, vm))
		}, true},
		{"finished", 1, func(ctx context.Context, t simtest.TB, c *Cluster, vm *VM) {
			require.NoError(t, c.PowerOn(ctx, vm))
			require.True(t, c.PowerOff(vm))
		}, true},
		{"orphaned", 1, func(ctx context.Context, t simtest.TB, c *Cluster, vm *VM) {
			vm.boot = timeout + time.Minute
			require.ErrorIs(t, c.PowerOn(ctx, vm), ErrStartTimeout)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inCluster(t, config(), tt.capacity, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
				// A bystander VM, so that Destroy must remove only its own.
				other, cloneErr := c.Clone(ctx, 2, 0)
				require.NoError(t, cloneErr)
				vm, cloneErr := c.Clone(ctx, 1, 0)
				require.NoError(t, cloneErr)
				tt.setup(ctx, t, c, vm)
				admittedAt := vm.admittedAt
				inUse := c.Gauge().InUse()
				before := checkStats(t, c)

				require.True(t, c.Claim(vm))
				start := k.Now()
				require.NoError(t, c.Destroy(ctx, vm))
				end := k.Now()
				assert.Equal(t, destroyTime, end-start)

				_, listed := info(c, vm)
				assert.False(t, listed, "the VM is gone from the inventory")
				requireState(t, c, other, Cloned)
				s := checkStats(t, c)
				assert.Equal(t, before.VMs-1, s.VMs)
				assert.Equal(t, before.Destroyed+1, s.Destroyed)
				if tt.holdsSlot {
					assert.Equal(t, inUse-1, c.Gauge().InUse(), "its slot is given back")
					assert.Equal(t, before.Released+1, s.Released)
					assert.Equal(t, end-admittedAt, s.MeanSlotHeld)
				} else {
					assert.Equal(t, inUse, c.Gauge().InUse(), "it held no slot to give back")
					assert.Equal(t, before.Released, s.Released)
					assert.Zero(t, s.MeanSlotHeld)
				}
				assert.False(t, c.PowerOff(vm), "PowerOff after Destroy")
				assert.False(t, c.Orphan(vm), "Orphan after Destroy")
				assert.False(t, c.Claim(vm), "Claim after Destroy")
				checkStats(t, c)
			})
		})
	}
}

func TestDestroyStopped(t *testing.T) {
	inCluster(t, config(), 1, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		vm, cloneErr := c.Clone(ctx, 1, 0)
		require.NoError(t, cloneErr)
		require.NoError(t, c.PowerOn(ctx, vm))
		require.True(t, c.Claim(vm))
		var g sim.Group
		stopAt(ctx, &g, k, k.Now()+destroyTime/2)
		before := k.Now()
		assert.ErrorIs(t, c.Destroy(ctx, vm), ErrStopped)
		assert.Equal(t, destroyTime/2, k.Now()-before)
		requireState(t, c, vm, Running)
		assert.Equal(t, int64(1), c.Gauge().InUse())
		s := checkStats(t, c)
		assert.Zero(t, s.Destroyed)
		assert.True(t, c.PowerOff(vm), "the VM was not destroyed")
		g.Wait(ctx)
	})
}

func TestFilledAt(t *testing.T) {
	inCluster(t, config(), 2, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		_, filled := c.FilledAt()
		assert.False(t, filled)

		var vms []*VM
		var admissions []time.Duration
		for job := range uint64(3) {
			vm, cloneErr := c.Clone(ctx, job, 0)
			require.NoError(t, cloneErr)
			admissions = append(admissions, k.Now())
			err := c.PowerOn(ctx, vm)
			if job < 2 {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, ErrNoCapacity)
			}
			vms = append(vms, vm)
			at, filled := c.FilledAt()
			if job == 0 {
				assert.False(t, filled, "one of two slots taken")
				continue
			}
			assert.True(t, filled)
			assert.Equal(t, admissions[1], at, "full at the admission that took the last slot")
		}

		// Emptied and filled again: FilledAt keeps the first time.
		require.True(t, c.Claim(vms[0]))
		require.NoError(t, c.Destroy(ctx, vms[0]))
		vm, cloneErr := c.Clone(ctx, 9, 0)
		require.NoError(t, cloneErr)
		require.NoError(t, c.PowerOn(ctx, vm))
		require.Equal(t, int64(2), c.Gauge().InUse())
		at, filled := c.FilledAt()
		assert.True(t, filled)
		assert.Equal(t, admissions[1], at)
	})
}

func TestNewRejectsAFreeRefusal(t *testing.T) {
	cfg := config()
	cfg.RejectTime = MinCallTime - 1
	assert.Panics(t, func() { New(cfg, sim.NewManualClock(time.Time{}), capacity.New(1)) })
}

// TestBooksBalanceUnderRandomInterleavings is a property test: clients
// clone, power on (often refused: the cluster is small), build, release,
// orphan and discard VMs; a janitor destroys finished and old VMs, and at
// times turns aggressive and destroys any VM, new ones included; the API
// has a client rate limit, so that calls queue up and destroys race
// power-ons. After every step of every actor, the books must balance
// (Cluster.Audit). It runs on every kind of model time: Serial (many
// seeds, exact), Parallel (real parallelism, for the race detector) and
// Wall (under testing/synctest).
func TestBooksBalanceUnderRandomInterleavings(t *testing.T) {
	for _, mode := range []sim.Mode{sim.Serial, sim.Parallel, sim.Wall} {
		seeds := 100
		if mode != sim.Serial {
			seeds = 3
		}
		for seed := range uint64(seeds) {
			t.Run(fmt.Sprintf("%v/seed %d", mode, seed), func(t *testing.T) {
				if mode == sim.Wall {
					synctest.Test(t, func(t *testing.T) { interleave(t, mode, seed) })
				} else {
					interleave(t, mode, seed)
				}
			})
		}
	}
}

func interleave(t *testing.T, mode sim.Mode, seed uint64) {
	cfg := Config{
		Clone:        dist.Latency{Mean: 20 * time.Second, Spread: 10 * time.Second},
		PowerOn:      dist.Latency{Mean: 30 * time.Second, Spread: 30 * time.Second},
		Destroy:      dist.Latency{Mean: 5 * time.Second, Spread: 5 * time.Second},
		StartTimeout: 50 * time.Second,
		RejectTime:   time.Duration(1+seed%3) * time.Second,
		ClientRate:   2 + float64(seed%4),
		CPUVMs:       int64(3 + seed%3),
		Seed:         seed,
	}
	speed := 0.0
	if mode == sim.Wall {
		speed = 1
	}
	k := sim.New(sim.Options{Mode: mode, Speed: speed, Horizon: 30 * time.Minute})
	c := New(cfg, k, capacity.New(int64(4+seed%4)))
	// A failed audit stops the run with itself as the cause, which the test
	// goroutine sees in Run's error.
	audit := func(step string) {
		if err := c.Audit(); err != nil {
			k.Stop(fmt.Errorf("audit after %s: %w", step, err))
		}
	}
	for client := range uint64(6) {
		k.Go(t.Context(), func(ctx context.Context) {
			r := dist.Stream(seed, client, 99)
			for attempt := 1; ; attempt++ {
				vm, err := c.Clone(ctx, client, attempt)
				audit("clone")
				if err != nil {
					return // stopped
				}
				err = c.PowerOn(ctx, vm)
				audit("power-on")
				switch {
				case errors.Is(err, ErrStopped):
					return
				case err == nil:
					if !sim.Sleep(ctx, time.Duration(r.IntN(60))*time.Second) {
						return
					}
					if r.IntN(5) == 0 {
						c.Orphan(vm) // its worker crashed
						audit("orphan")
					} else {
						c.PowerOff(vm)
						audit("release")
					}
				case errors.Is(err, ErrNoCapacity) || errors.Is(err, ErrNoCPU):
					if r.IntN(2) == 0 {
						c.Discard(vm)
						audit("discard")
					}
				}
			}
		})
	}
	k.Go(t.Context(), func(ctx context.Context) {
		r := dist.Stream(seed, 1000)
		var cleanup sim.Group
		for pass := 0; sim.Sleep(ctx, time.Duration(5+r.IntN(20))*time.Second); pass++ {
			aggressive := r.IntN(3) == 0
			list := c.List()
			// In a fixed order: a map's is random, and a Serial run must repeat.
			slices.SortFunc(list, func(a, b Info) int {
				return cmp.Or(cmp.Compare(a.VM.JobID, b.VM.JobID), cmp.Compare(a.VM.Attempt, b.VM.Attempt))
			})
			for _, in := range list {
				if !(aggressive || (in.Uptime && (in.State == Finished || in.State == Orphaned))) || !c.Claim(in.VM) {
					continue
				}
				audit("claim")
				cleanup.Go(ctx, func(ctx context.Context) {
					if err := c.Destroy(ctx, in.VM); err != nil {
						c.Unclaim(in.VM)
					}
					audit("destroy")
				})
			}
		}
		cleanup.Wait(ctx)
	})
	err := k.Run(t.Context())
	require.ErrorIs(t, err, sim.ErrHorizon)
	require.NoError(t, c.Audit())
	s := c.Stats()
	if mode == sim.Serial {
		// The property is only worth something if the races happened.
		assert.Positive(t, s.ByState[NeverBooted]+s.Destroyed, "refusals and destroys happened")
	}
	var states []string
	for _, st := range States {
		states = append(states, fmt.Sprintf("%s %d", st, s.ByState[st]))
	}
	t.Logf("%d cloned, %d admitted, %d destroyed; %v", s.Cloned, s.Admitted, s.Destroyed, states)
}

// TestListingLeavesOut: a janitor's listing leaves out the VMs it has no
// use for and counts every VM: the parked ones (claimed once finished)
// always, the never-booted ones unless asked for, and, of the others not
// finished, those created from Before on. A parked VM given back (Unclaim)
// is listed again in its place, and told of (returnedSince) only if it was
// parked when the last listing was made; appendStranded tells of the
// never-booted VMs that were so then.
func TestListingLeavesOut(t *testing.T) {
	inCluster(t, config(), 3, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
		var vms []*VM
		for job := range uint64(5) {
			require.True(t, sim.SleepUntil(ctx, time.Duration(job)*time.Hour))
			vm, err := c.Clone(ctx, job, 1)
			require.NoError(t, err)
			vms = append(vms, vm)
		}
		for _, vm := range vms[:3] {
			require.NoError(t, c.PowerOn(ctx, vm))
		}
		require.Error(t, c.PowerOn(ctx, vms[3]), "the cluster is full") // never booted
		c.PowerOff(vms[0])
		c.PowerOff(vms[1])
		require.True(t, c.Claim(vms[0])) // finished: parked
		require.True(t, c.Claim(vms[2])) // running: stays listed
		jobs := func(list []Info) (ids []uint64) {
			for _, in := range list {
				ids = append(ids, in.VM.JobID)
			}
			return ids
		}
		list := func(l Listing) []uint64 {
			listed, all := c.listing(nil, l)
			assert.Equal(t, 5, all, "every VM counted")
			return jobs(listed)
		}
		assert.Equal(t, []uint64{1, 2, 4}, list(Listing{Before: AllActive}))
		assert.Equal(t, []uint64{1, 2, 3, 4}, list(Listing{Before: AllActive, Stranded: true}))
		assert.Equal(t, []uint64{1, 2}, list(Listing{Before: vms[4].createdAt}), "job 4 is too young")
		assert.Equal(t, []uint64{1}, list(Listing{Before: vms[2].createdAt}), "the finished, of any age")
		assert.Equal(t, []uint64{0, 1, 2, 3, 4}, jobs(c.List()))
		assert.Equal(t, []uint64{3}, jobs(c.appendStranded(nil)))
		require.NoError(t, c.Audit())

		c.Unclaim(vms[0])
		assert.Equal(t, 1, c.returnedSince(), "parked when the last Listing was made")
		assert.Equal(t, []uint64{0}, jobs(c.appendReturned(nil, 0)))
		assert.Equal(t, []uint64{0, 1}, list(Listing{}), "given back, in its place")
		assert.Zero(t, c.returnedSince())

		require.True(t, c.Claim(vms[1]))
		c.Unclaim(vms[1])
		assert.Zero(t, c.returnedSince(), "parked after the last Listing: it had it")
		require.NoError(t, c.Audit())
	})
}
