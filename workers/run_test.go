package workers

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"vmstorm/cluster"
	"vmstorm/internal/sim"
	"vmstorm/internal/simtest"
)

// TestCrashedWorkersTakeNoJobs: a crash takes workers down at once, idle
// ones included: until they restart, the jobs that come are built by the
// workers still up, and none is lost to a worker that is down.
func TestCrashedWorkersTakeNoJobs(t *testing.T) {
	inKernel(t, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel) {
		c := newCluster(k, 10)
		in := sim.NewChan[*Job](k, 10)
		inbox := sim.NewChan[Msg](k, 100)
		env := Env{Kernel: k, Cluster: c, Ledger: NewLedger(0, time.Hour, nil), Log: zap.NewNop(), Events: zap.NewNop()}
		r := NewRunPool(env, 4, RunSettings{}, in, inbox)
		var g sim.Group
		g.Go(ctx, r.Run)

		require.True(t, sim.Sleep(ctx, time.Minute)) // every worker idle, waiting for a job
		assert.Zero(t, r.Crash(0.5), "no build under way: none lost")
		for id := uint64(1); id <= 4; id++ {
			vm, err := c.Clone(ctx, id, 1)
			require.NoError(t, err)
			require.NoError(t, c.PowerOn(ctx, vm))
			require.True(t, in.Send(ctx, &Job{ID: id, BuildTime: time.Hour, VM: vm, Attempts: 1}))
		}
		require.True(t, sim.Sleep(ctx, time.Minute))
		st := r.Stats()
		assert.Equal(t, int64(2), st.BusyNow, "two workers are down: two builds run, two jobs wait")
		assert.Equal(t, 2, in.Len())
		assert.Zero(t, c.Stats().ByState[cluster.Orphaned], "no job went to a crashed worker")
		assert.Zero(t, inbox.Len(), "and none came back lost")

		r.Restart()
		require.True(t, sim.Sleep(ctx, time.Minute))
		assert.Equal(t, int64(4), r.Stats().BusyNow, "restarted, they take the rest")
		k.Stop(nil)
		g.Wait(ctx)
	})
}

// TestLostBuildsVMs: a build given up as stalled, or lost with a crashed
// worker, leaves its VM on, orphaned, for the janitor; with DeletesLostVMs
// the VM is deleted instead. Either way the job goes back to the
// scheduler.
func TestLostBuildsVMs(t *testing.T) {
	for _, deletes := range []bool{false, true} {
		for _, how := range []string{"stall", "crash"} {
			t.Run(fmt.Sprintf("%s, deletes %v", how, deletes), func(t *testing.T) {
				inKernel(t, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel) {
					c := newCluster(k, 10)
					in := sim.NewChan[*Job](k, 10)
					inbox := sim.NewChan[Msg](k, 100)
					env := Env{Kernel: k, Cluster: c, Ledger: NewLedger(0, time.Hour, nil), Log: zap.NewNop(), Events: zap.NewNop()}
					r := NewRunPool(env, 1, RunSettings{StallTimeout: 10 * time.Minute, DeletesLostVMs: deletes}, in, inbox)
					if how == "stall" {
						r.SetStallChance(1)
					}
					var g sim.Group
					g.Go(ctx, r.Run)
					vm, err := c.Clone(ctx, 1, 1)
					require.NoError(t, err)
					require.NoError(t, c.PowerOn(ctx, vm))
					require.True(t, in.Send(ctx, &Job{ID: 1, BuildTime: time.Hour, VM: vm, Attempts: 1}))
					require.True(t, sim.Sleep(ctx, time.Minute))
					if how == "crash" {
						require.Equal(t, 1, r.Crash(1))
					}
					require.True(t, sim.Sleep(ctx, 15*time.Minute))
					m, ok := inbox.Recv(ctx)
					require.True(t, ok)
					assert.Equal(t, Returned, m.Kind, "the job goes back")
					st := c.Stats()
					if deletes {
						assert.Zero(t, st.VMs, "the lost build's VM is deleted")
					} else {
						assert.Equal(t, int64(1), st.ByState[cluster.Orphaned], "the lost build's VM is left on, orphaned")
					}
					k.Stop(nil)
					g.Wait(ctx)
				})
			})
		}
	}
}
