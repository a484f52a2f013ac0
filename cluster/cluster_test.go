package cluster

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"vmstorm/capacity"
	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	cloneTime   = 30 * time.Second
	bootTime    = 90 * time.Second
	destroyTime = 12 * time.Second
	timeout     = 4 * time.Minute
	rejectTime  = 2 * time.Minute
	speed       = 60
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

// newCluster must be called inside a synctest bubble, so that the clock is
// the bubble's.
func newCluster(cfg Config, capacityVMs int64) (*Cluster, *sim.Clock) {
	clock := sim.NewClock(speed, time.Time{})
	return New(cfg, clock, capacity.New(capacityVMs)), clock
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
func requireState(t *testing.T, c *Cluster, vm *VM, s State) Info {
	t.Helper()
	in, ok := info(c, vm)
	require.True(t, ok, "%s is not in the inventory", vm.Name)
	require.Equal(t, s, in.State, "%s", vm.Name)
	return in
}

// checkStats checks the counters agree with each other and with the
// inventory; call it only when no cluster call is under way.
func checkStats(t *testing.T, c *Cluster) Stats {
	t.Helper()
	s := c.Stats()
	assert.Equal(t, s.Cloned-s.Destroyed, s.VMs, "cloned - destroyed == VMs: %+v", s)
	assert.Equal(t, s.Admitted-s.Released, s.InUse, "admitted - released == in use: %+v", s)
	var sum int64
	for _, n := range s.ByState {
		assert.GreaterOrEqual(t, n, int64(0), "%+v", s)
		sum += n
	}
	assert.Equal(t, s.VMs, sum, "ByState sums to VMs: %+v", s)
	assert.Len(t, c.List(), int(s.VMs), "the listing has every VM")
	var byState [numStates]int64
	var holding int64
	c.mu.Lock()
	for vm := range c.vms {
		byState[vm.state]++
		if vm.holdsSlot {
			holding++
		}
	}
	c.mu.Unlock()
	assert.Equal(t, byState, s.ByState, "ByState matches the listing")
	assert.Equal(t, holding, s.InUse, "the gauge counts the VMs that hold a slot")
	assert.LessOrEqual(t, s.VMs, s.PeakVMs)
	assert.LessOrEqual(t, s.InUse, s.PeakInUse)
	assert.Equal(t, c.Gauge().Capacity(), s.Capacity)
	return s
}

func TestStateString(t *testing.T) {
	want := map[State]string{
		Cloned: "cloned", Booting: "booting", Running: "running", Finished: "finished",
		Orphaned: "orphaned", NeverBooted: "never_booted", numStates: "State(6)", 200: "State(200)",
	}
	for s, name := range want {
		assert.Equal(t, name, s.String())
	}
	for i, s := range States {
		assert.Equal(t, State(i), s, "States is in order")
	}
}

func TestCloneTakesCloneLatency(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, clock := newCluster(config(), 2)
		vm, cloneErr := c.Clone(t.Context(), 17, 2)
		require.NoError(t, cloneErr)
		assert.Equal(t, cloneTime, clock.Now())
		assert.Equal(t, "travis-job-17-2", vm.Name)
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

func TestCloneCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, clock := newCluster(config(), 2)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second/5) // 12 model seconds
		defer cancel()
		vm, cloneErr := c.Clone(ctx, 1, 0)
		assert.Error(t, cloneErr)
		assert.Nil(t, vm)
		assert.Equal(t, 12*time.Second, clock.Now(), "Clone returns when ctx is done")
		assert.Empty(t, c.List())
		s := checkStats(t, c)
		assert.Zero(t, s.Cloned)
	})
}

func TestPowerOnNoCapacity(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, clock := newCluster(config(), 1)
		_, ok := c.Gauge().TryAcquire() // someone else's VM fills the cluster
		require.True(t, ok)
		vm, cloneErr := c.Clone(t.Context(), 1, 0)
		require.NoError(t, cloneErr)
		before := clock.Now()

		err := c.PowerOn(t.Context(), vm)
		assert.ErrorIs(t, err, ErrNoCapacity)
		assert.Equal(t, rejectTime, clock.Now()-before, "a refused power-on comes back after the reject time")
		in := requireState(t, c, vm, NeverBooted)
		assert.False(t, in.Uptime, "the janitor must see zero uptime")
		assert.False(t, vm.holdsSlot)
		assert.Equal(t, int64(1), c.Gauge().InUse(), "the gauge is unchanged")
		s := c.Stats()
		assert.Zero(t, s.Admitted)
		assert.Equal(t, int64(1), s.VMs, "the VM stays in the inventory")
		assert.Equal(t, int64(1), s.ByState[NeverBooted])
		assert.Zero(t, s.ByState[Cloned])
		_, filled := c.FilledAt()
		assert.False(t, filled, "no admission filled the cluster")
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
			synctest.Test(t, func(t *testing.T) {
				cfg := config()
				cfg.PowerOn = dist.Latency{Mean: tt.boot}
				cfg.StartTimeout = tt.startTimeout
				c, clock := newCluster(cfg, 3)
				vm, cloneErr := c.Clone(t.Context(), 1, 0)
				require.NoError(t, cloneErr)
				before := clock.Now()

				err := c.PowerOn(t.Context(), vm)
				if tt.wantErr == nil {
					assert.NoError(t, err)
				} else {
					assert.ErrorIs(t, err, tt.wantErr)
				}
				assert.Equal(t, tt.wantAfter, clock.Now()-before)
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
	synctest.Test(t, func(t *testing.T) {
		c, _ := newCluster(config(), 1)
		vm, cloneErr := c.Clone(t.Context(), 1, 0)
		require.NoError(t, cloneErr)
		var err error
		var wg sync.WaitGroup
		wg.Go(func() { err = c.PowerOn(t.Context(), vm) })
		synctest.Wait() // PowerOn is asleep in the boot
		in := requireState(t, c, vm, Booting)
		assert.True(t, in.Uptime, "a booting VM has been powered on")
		checkStats(t, c)
		assert.Equal(t, int64(1), c.Gauge().InUse(), "a booting VM holds capacity")
		wg.Wait()
		require.NoError(t, err)
		requireState(t, c, vm, Running)
	})
}

func TestPowerOnCancelledLeavesVMBooting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, clock := newCluster(config(), 1)
		vm, cloneErr := c.Clone(t.Context(), 1, 0)
		require.NoError(t, cloneErr)
		ctx, cancel := context.WithTimeout(t.Context(), time.Second/2) // 30 model seconds
		defer cancel()
		before := clock.Now()
		err := c.PowerOn(ctx, vm)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		assert.Equal(t, 30*time.Second, clock.Now()-before)
		requireState(t, c, vm, Booting)
		assert.Equal(t, int64(1), c.Gauge().InUse())
		checkStats(t, c)
	})
}

func TestPowerOnDestroyedWhileBooting(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, clock := newCluster(config(), 1)
		vm, cloneErr := c.Clone(t.Context(), 1, 0)
		require.NoError(t, cloneErr)
		var err error
		var wg sync.WaitGroup
		wg.Go(func() { err = c.PowerOn(t.Context(), vm) })

		require.True(t, clock.Sleep(t.Context(), 30*time.Second))
		require.True(t, c.Claim(vm))
		require.NoError(t, c.Destroy(t.Context(), vm))
		assert.Zero(t, c.Gauge().InUse(), "Destroy gives the booting VM's slot back")
		wg.Wait()

		require.Error(t, err)
		assert.NotErrorIs(t, err, ErrStartTimeout)
		assert.NotErrorIs(t, err, ErrNoCapacity)
		assert.Contains(t, err.Error(), "destroyed")
		_, listed := info(c, vm)
		assert.False(t, listed)
		s := checkStats(t, c)
		assert.Zero(t, s.VMs)
		assert.Equal(t, int64(1), s.Released)
		assert.Equal(t, 30*time.Second+destroyTime, s.MeanSlotHeld, "admitted as the boot began, destroyed 30s into it, after the destroy latency")
	})
}

func TestReleaseSetsFinished(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := newCluster(config(), 1)
		vm, cloneErr := c.Clone(t.Context(), 1, 0)
		require.NoError(t, cloneErr)
		require.NoError(t, c.PowerOn(t.Context(), vm))
		assert.True(t, c.Release(vm))
		in := requireState(t, c, vm, Finished)
		assert.True(t, in.Uptime)
		assert.Equal(t, int64(1), c.Gauge().InUse(), "a finished VM holds its slot until destroyed")
		s := checkStats(t, c)
		assert.Equal(t, int64(1), s.ByState[Finished])
		assert.Zero(t, s.ByState[Running])
	})
}

func TestClaimIsExclusive(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := newCluster(config(), 1)
		vm, cloneErr := c.Clone(t.Context(), 1, 0)
		require.NoError(t, cloneErr)
		assert.True(t, c.Claim(vm))
		assert.False(t, c.Claim(vm), "a claimed VM cannot be claimed again")
		require.NoError(t, c.Destroy(t.Context(), vm))
		assert.False(t, c.Claim(vm), "a destroyed VM cannot be claimed")
	})
}

func TestClaimIsExclusiveConcurrently(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, _ := newCluster(config(), 1)
		vm, cloneErr := c.Clone(t.Context(), 1, 0)
		require.NoError(t, cloneErr)
		var wins atomic.Int64
		var wg sync.WaitGroup
		for range 100 {
			wg.Go(func() {
				if c.Claim(vm) {
					wins.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int64(1), wins.Load())
	})
}

func TestDestroy(t *testing.T) {
	tests := []struct {
		name      string
		capacity  int64
		setup     func(t *testing.T, c *Cluster, vm *VM)
		holdsSlot bool
	}{
		{"cloned", 1, func(*testing.T, *Cluster, *VM) {}, false},
		{"never booted", 0, func(t *testing.T, c *Cluster, vm *VM) {
			require.ErrorIs(t, c.PowerOn(t.Context(), vm), ErrNoCapacity)
		}, false},
		{"running", 1, func(t *testing.T, c *Cluster, vm *VM) {
			require.NoError(t, c.PowerOn(t.Context(), vm))
		}, true},
		{"finished", 1, func(t *testing.T, c *Cluster, vm *VM) {
			require.NoError(t, c.PowerOn(t.Context(), vm))
			require.True(t, c.Release(vm))
		}, true},
		{"orphaned", 1, func(t *testing.T, c *Cluster, vm *VM) {
			vm.boot = timeout + time.Minute
			require.ErrorIs(t, c.PowerOn(t.Context(), vm), ErrStartTimeout)
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c, clock := newCluster(config(), tt.capacity)
				// A bystander VM, so that Destroy must remove only its own.
				other, cloneErr := c.Clone(t.Context(), 2, 0)
				require.NoError(t, cloneErr)
				vm, cloneErr := c.Clone(t.Context(), 1, 0)
				require.NoError(t, cloneErr)
				tt.setup(t, c, vm)
				admittedAt := vm.admittedAt
				inUse := c.Gauge().InUse()
				before := checkStats(t, c)

				require.True(t, c.Claim(vm))
				start := clock.Now()
				require.NoError(t, c.Destroy(t.Context(), vm))
				end := clock.Now()
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
				assert.False(t, c.Release(vm), "Release after Destroy")
				assert.False(t, c.Claim(vm), "Claim after Destroy")
				checkStats(t, c)
			})
		})
	}
}

func TestDestroyCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, clock := newCluster(config(), 1)
		vm, cloneErr := c.Clone(t.Context(), 1, 0)
		require.NoError(t, cloneErr)
		require.NoError(t, c.PowerOn(t.Context(), vm))
		require.True(t, c.Claim(vm))
		ctx, cancel := context.WithTimeout(t.Context(), time.Second/10) // 6 model seconds, half the destroy
		defer cancel()
		before := clock.Now()
		assert.Error(t, c.Destroy(ctx, vm))
		assert.Equal(t, 6*time.Second, clock.Now()-before)
		requireState(t, c, vm, Running)
		assert.Equal(t, int64(1), c.Gauge().InUse())
		s := checkStats(t, c)
		assert.Zero(t, s.Destroyed)
		assert.True(t, c.Release(vm), "the VM was not destroyed")
	})
}

func TestFilledAt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c, clock := newCluster(config(), 2)
		_, filled := c.FilledAt()
		assert.False(t, filled)

		var vms []*VM
		var admissions []time.Duration
		for job := range uint64(3) {
			vm, cloneErr := c.Clone(t.Context(), job, 0)
			require.NoError(t, cloneErr)
			admissions = append(admissions, clock.Now())
			err := c.PowerOn(t.Context(), vm)
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
		require.NoError(t, c.Destroy(t.Context(), vms[0]))
		vm, cloneErr := c.Clone(t.Context(), 9, 0)
		require.NoError(t, cloneErr)
		require.NoError(t, c.PowerOn(t.Context(), vm))
		require.Equal(t, int64(2), c.Gauge().InUse())
		at, filled := c.FilledAt()
		assert.True(t, filled)
		assert.Equal(t, admissions[1], at)
	})
}

func TestStatsAddUpUnderLoad(t *testing.T) {
	// Many jobs at once on a small cluster: some boot, some are refused,
	// some time out; every VM that booted is released and destroyed. At
	// every quiet moment and at the end, the counters add up.
	synctest.Test(t, func(t *testing.T) {
		cfg := config()
		cfg.Clone.Spread = 10 * time.Second
		cfg.PowerOn = dist.Latency{Mean: 3 * time.Minute, Spread: 2 * time.Minute}
		cfg.Destroy.Spread = 5 * time.Second
		c, clock := newCluster(cfg, 5)
		const jobs = 40
		var refused, timedOut, ran atomic.Int64
		var wg sync.WaitGroup
		for job := range uint64(jobs) {
			wg.Go(func() {
				// assert, not require: this is not the test's goroutine.
				ctx := t.Context()
				if !assert.True(t, clock.Sleep(ctx, time.Duration(job)*15*time.Second)) {
					return
				}
				vm, cloneErr := c.Clone(ctx, job, 0)
				if !assert.NoError(t, cloneErr) {
					return
				}
				switch err := c.PowerOn(ctx, vm); {
				case errors.Is(err, ErrNoCapacity):
					refused.Add(1)
					return // left behind, never booted
				case errors.Is(err, ErrStartTimeout):
					timedOut.Add(1)
				case err == nil:
					ran.Add(1)
					if !assert.True(t, clock.Sleep(ctx, time.Minute)) || !assert.True(t, c.Release(vm)) {
						return
					}
				default:
					assert.NoError(t, err)
					return
				}
				if assert.True(t, c.Claim(vm)) {
					assert.NoError(t, c.Destroy(ctx, vm))
				}
			})
		}
		for range 40 {
			time.Sleep(time.Second / 4) // 15 model seconds
			synctest.Wait()
			checkStats(t, c)
			require.LessOrEqual(t, c.Gauge().InUse(), int64(5))
		}
		wg.Wait()

		t.Logf("refused %d, timed out %d, ran %d", refused.Load(), timedOut.Load(), ran.Load())
		s := checkStats(t, c)
		require.Equal(t, int64(jobs), refused.Load()+timedOut.Load()+ran.Load())
		assert.Positive(t, refused.Load(), "the load must overflow the cluster")
		assert.Positive(t, ran.Load())
		assert.Equal(t, int64(jobs), s.Cloned)
		assert.Equal(t, refused.Load(), s.VMs, "only the never-booted VMs are left")
		assert.Equal(t, refused.Load(), s.ByState[NeverBooted])
		assert.Equal(t, jobs-refused.Load(), s.Admitted)
		assert.Equal(t, s.Admitted, s.Released)
		assert.Zero(t, s.InUse)
		assert.Equal(t, int64(5), s.PeakInUse, "a refusal means the cluster was full")
		_, filled := c.FilledAt()
		assert.True(t, filled)
	})
}
