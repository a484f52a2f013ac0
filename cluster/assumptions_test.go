package cluster

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/internal/sim"
	"vmstorm/internal/simtest"
)

// TestNeverBootedHoldsSlot: under the assumption, a VM whose power-on the
// full cluster refused takes a slot above the capacity and keeps it until
// it is destroyed, so that the room a destroyed VM gives back goes to it,
// not to the next start; without it, the refused VM holds nothing.
func TestNeverBootedHoldsSlot(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[on], func(t *testing.T) {
			cfg := config()
			cfg.NeverBootedHoldsSlot = on
			inCluster(t, cfg, 1, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
				occupier, _ := c.Clone(ctx, 9, 1)
				require.NoError(t, c.PowerOn(ctx, occupier))
				require.True(t, c.PowerOff(occupier)) // finished: it keeps its slot
				refused, _ := c.Clone(ctx, 1, 1)
				require.ErrorIs(t, c.PowerOn(ctx, refused), ErrNoCapacity)
				requireState(t, c, refused, NeverBooted)
				s := checkStats(t, c)
				if on {
					assert.Equal(t, int64(2), s.InUse, "the refused VM holds a slot, above the capacity of 1")
					assert.Equal(t, int64(1), s.HeldByNeverBooted)
				} else {
					assert.Equal(t, int64(1), s.InUse, "the refused VM holds nothing")
					assert.Zero(t, s.HeldByNeverBooted)
				}

				// The janitor destroys the finished VM: its slot is given back.
				require.True(t, c.Claim(occupier))
				require.NoError(t, c.Destroy(ctx, occupier))
				next, _ := c.Clone(ctx, 2, 1)
				err := c.PowerOn(ctx, next)
				if on {
					assert.ErrorIs(t, err, ErrNoCapacity, "the never-booted VM still fills the cluster")
					// Only destroying the never-booted VMs (the reaper, the
					// aggressive cleanup) or discarding them makes room.
					require.True(t, c.Claim(refused))
					require.NoError(t, c.Destroy(ctx, refused))
					assert.True(t, c.Discard(next), "a failed start may be discarded, giving its slot back")
					assert.Zero(t, checkStats(t, c).InUse)
					last, _ := c.Clone(ctx, 3, 1)
					assert.NoError(t, c.PowerOn(ctx, last), "room again")
				} else {
					assert.NoError(t, err, "the destroyed VM's slot goes to the next start")
				}
				s = checkStats(t, c)
				assert.Equal(t, int64(1), s.InUse)
				assert.Zero(t, s.HeldByNeverBooted)
			})
		})
	}
}

// TestRefusedStartHoldsCPU: under the assumption, a refused power-on takes
// CPU until its refusal comes back, and a start in the meantime is refused
// for want of CPU; without it, the refused start takes none and the other
// start runs.
func TestRefusedStartHoldsCPU(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(map[bool]string{false: "off", true: "on"}[on], func(t *testing.T) {
			cfg := config()
			cfg.CPUVMs = 1
			cfg.RefusedStartHoldsCPU = on
			inCluster(t, cfg, 1, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, c *Cluster) {
				occupier, _ := c.Clone(ctx, 9, 1)
				require.NoError(t, c.PowerOn(ctx, occupier))
				require.True(t, c.PowerOff(occupier)) // off: it holds its slot, not its CPU
				refused, _ := c.Clone(ctx, 1, 1)
				var g sim.Group
				var refusedErr error
				g.Go(ctx, func(ctx context.Context) { refusedErr = c.PowerOn(ctx, refused) })
				// A minute into the refusal, the finished VM is destroyed and
				// another start tries its slot.
				require.True(t, sim.Sleep(ctx, time.Minute))
				if on {
					assert.Equal(t, int64(1), c.Stats().CPUInUse, "the refused start holds the CPU")
				} else {
					assert.Zero(t, c.Stats().CPUInUse)
				}
				require.True(t, c.Claim(occupier))
				require.NoError(t, c.Destroy(ctx, occupier))
				other, _ := c.Clone(ctx, 2, 1)
				err := c.PowerOn(ctx, other)
				g.Wait(ctx)
				assert.ErrorIs(t, refusedErr, ErrNoCapacity)
				if on {
					assert.ErrorIs(t, err, ErrNoCPU, "crowded out by the refused start")
				} else {
					assert.NoError(t, err)
				}
				s := checkStats(t, c)
				assert.Equal(t, map[bool]int64{false: 1, true: 0}[on], s.CPUInUse, "the refusal gave its CPU back")
				assert.Equal(t, map[bool]int64{false: 1, true: 2}[on], s.PeakCPU, "above the ceiling while it was refused")
			})
		})
	}
}

// TestRefusedCallsCount: under the assumption, a call the API refuses
// takes its token anyway, so that one call a second against a limit of one
// a second is refused for ever once the limit is exhausted, and the bucket
// owes at most one burst; without it, a refusal costs nothing and the next
// token lets a call through.
func TestRefusedCallsCount(t *testing.T) {
	for _, tt := range []struct {
		on bool
		// want is whether each call is let through: two at 0, then one a
		// second from 1s.
		want []bool
	}{
		{false, []bool{true, false, true, true, true}},
		{true, []bool{true, false, false, false, false}},
	} {
		t.Run(map[bool]string{false: "off", true: "on"}[tt.on], func(t *testing.T) {
			a := newAPI(1, 1, 0, tt.on)
			at := []time.Duration{0, 0, time.Second, 2 * time.Second, 3 * time.Second}
			for i, want := range tt.want {
				assert.Equal(t, want, a.allow(at[i]), "call %d at %v", i, at[i])
			}
		})
	}
	t.Run("moot with no limit", func(t *testing.T) {
		a := newAPI(0, 0, 0, true)
		for range 1000 {
			require.True(t, a.allow(0), "no cloud limit: nothing to count against")
		}
	})
	t.Run("owes at most one burst", func(t *testing.T) {
		// Three calls let through and a hundred refused at 0: the bucket owes
		// three tokens, not a hundred, and at one a second it has one again
		// at 4s (a call a millisecond before is refused).
		for _, tt := range []struct {
			at   time.Duration
			want bool
		}{{4*time.Second - time.Millisecond, false}, {4 * time.Second, true}} {
			a := newAPI(1, 3, 0, true)
			for range 3 {
				require.True(t, a.allow(0))
			}
			for range 100 {
				require.False(t, a.allow(0))
			}
			assert.Equal(t, tt.want, a.allow(tt.at), "a call at %v", tt.at)
		}
	})
}
