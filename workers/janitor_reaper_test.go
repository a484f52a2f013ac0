package workers

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/cluster"
	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/internal/simtest"
)

// TestReaperDestroysOldNeverBootedVMs: with the reaper on, one janitor pass
// also hands over a never-booted VM older than ReaperTTL, and counts it as
// reaped; never one younger or exactly that old, never one still being
// started (cloned, not yet powered on), and nothing with the switch off.
// The 2015 rules still hold beside it; the aggressive mode destroys
// never-booted VMs too, but that is not the reaper's doing.
func TestReaperDestroysOldNeverBootedVMs(t *testing.T) {
	const ttl = 15 * time.Minute
	const cutoff = 2 * time.Hour
	tests := []struct {
		name       string
		make       func(ctx context.Context, c *cluster.Cluster) *cluster.VM
		age        time.Duration // at the pass, since the VM was created
		reaper     bool
		aggressive bool
		destroy    bool
		reaped     int64
	}{
		{"never booted, past the TTL", neverBootedVM, ttl + time.Second, true, false, true, 1},
		{"never booted, past the TTL, reaper off", neverBootedVM, ttl + time.Second, false, false, false, 0},
		{"never booted, at the TTL", neverBootedVM, ttl, true, false, false, 0},
		{"never booted, young", neverBootedVM, time.Minute, true, false, false, 0},
		{"never booted, past the cutoff too", neverBootedVM, cutoff + time.Minute, true, false, true, 1},
		{"cloned, being started, past the TTL", clonedVM, ttl + time.Hour, true, false, false, 0},
		{"cloned, being started, past the cutoff", clonedVM, cutoff + time.Hour, true, false, false, 0},
		{"finished: the 2015 rule, not the reaper", finishedVM, time.Minute, true, false, true, 0},
		{"running, young", runningVM, ttl + time.Second, true, false, false, 0},
		{"never booted, aggressive mode, reaper off", neverBootedVM, time.Minute, false, true, true, 0},
		{"never booted, past the TTL, aggressive mode", neverBootedVM, ttl + time.Second, true, true, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inKernel(t, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel) {
				c := newCluster(k, 1)
				vm := tt.make(ctx, c)
				list := c.List()
				require.Len(t, list, 1)
				require.True(t, sim.SleepUntil(ctx, list[0].CreatedAt+tt.age))

				out := sim.NewChan[*cluster.VM](k, 1)
				j := newJanitor(k, c, &Credentials{}, out, cutoff, 0)
				j.Switches, j.ReaperTTL = NewSwitches(nil), ttl
				j.Switches.Set(incident.Reaper, tt.reaper)
				j.SetAggressive(tt.aggressive, 0)
				require.True(t, j.pass(ctx))
				assertHandedOut(t, out, vm, tt.destroy)
				assert.Equal(t, tt.reaped, j.Stats().Reaped)
			})
		})
	}
}

// TestReaperCountsEveryPassAndReadsItsSwitch: Reaped adds up over passes,
// and each pass reads the switch as it is then.
func TestReaperCountsEveryPassAndReadsItsSwitch(t *testing.T) {
	const ttl = 15 * time.Minute
	inKernel(t, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel) {
		c := newCluster(k, 1)
		out := sim.NewChan[*cluster.VM](k, 100)
		j := newJanitor(k, c, &Credentials{}, out, 2*time.Hour, 0)
		j.Switches, j.ReaperTTL = NewSwitches(nil), ttl
		leak := func(n int) {
			for range n {
				neverBootedVM(ctx, c)
			}
		}
		leak(3)
		require.True(t, sim.Sleep(ctx, ttl+time.Minute))
		require.True(t, j.pass(ctx))
		assert.Zero(t, out.Len(), "off")

		j.Switches.Set(incident.Reaper, true)
		require.True(t, j.pass(ctx))
		assert.Len(t, out.Drain(), 3)
		assert.Equal(t, int64(3), j.Stats().Reaped)

		leak(2)
		require.True(t, sim.Sleep(ctx, ttl+time.Minute))
		require.True(t, j.pass(ctx))
		assert.Len(t, out.Drain(), 2, "the first three are claimed already: not handed out twice")
		assert.Equal(t, int64(5), j.Stats().Reaped)

		leak(1)
		j.Switches.Set(incident.Reaper, false)
		require.True(t, sim.Sleep(ctx, ttl+time.Minute))
		require.True(t, j.pass(ctx))
		assert.Zero(t, out.Len(), "switched off again")
		assert.Equal(t, int64(5), j.Stats().Reaped)
		assert.Equal(t, int64(6), c.Stats().ByState[cluster.NeverBooted], "handed out, not yet destroyed")
	})
}

// TestLastSuccessMovesOnlyOnSuccessfulPasses: LastSuccess is the model time
// of the janitor's last successful pass; a pass that fails (the 2015
// log-in) leaves it where it was, until a restart with the fixed
// credentials makes one succeed.
func TestLastSuccessMovesOnlyOnSuccessfulPasses(t *testing.T) {
	inKernel(t, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel) {
		c := newCluster(k, 10)
		creds := &Credentials{}
		j := newJanitor(k, c, creds, sim.NewChan[*cluster.VM](k, 10), time.Hour, 0)
		j.Phase = 10 * time.Second
		_, ok := j.LastSuccess()
		assert.False(t, ok, "no pass yet")

		var g sim.Group
		g.Go(ctx, j.Run) // passes at 10s, 1m10s, 2m10s, ...
		check := func(at, want time.Duration, failing bool) {
			t.Helper()
			require.True(t, sim.SleepUntil(ctx, at))
			got, ok := j.LastSuccess()
			assert.True(t, ok)
			assert.Equal(t, want, got, "at %v", at)
			assert.Equal(t, failing, j.Failing(), "at %v", at)
		}
		check(15*time.Second, 10*time.Second, false)
		check(75*time.Second, 70*time.Second, false)
		creds.Rotate()
		check(135*time.Second, 70*time.Second, true)
		check(10*time.Minute, 70*time.Second, true)
		creds.Fix()
		j.Restart() // a pass at once
		check(10*time.Minute+time.Second, 10*time.Minute, false)
		check(11*time.Minute+time.Second, 11*time.Minute, false)
		st := j.Stats()
		assert.Equal(t, int64(8), st.FailedPasses, "2m10s to 9m10s")
		assert.Equal(t, int64(4), st.Passes)
		k.Stop(nil)
		g.Wait(ctx)
	})
}
