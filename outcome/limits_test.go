package outcome_test

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/config"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/workers"
)

// stressors are accepted values at the far ends of their ranges, each of
// which, in the audit of issue 10, made a run hold more and more memory:
// arrivals far faster than any cluster serves, VMs leaked as fast as the
// cluster refuses them, the shortest intervals, the longest latencies.
var stressors = []struct{ flag, value string }{
	{"arrival-rate", "1e7"},
	{"reject-time", "1ms"},
	{"clone-time", "0s"},
	{"boot-time", "0s"},
	{"vms", "1"},
	{"break-cleanup", "true"},
	{"sample-every", "1s"},
	{"cleanup-every", "1s"},
	{"build-time", "1000h"},
	{"build-spread", "1000h"},
	{"destroy-time", "1000h"},
	{"window", "24h"},
}

// TestResourceLimitsHold is a property test of the limits on what a run
// holds. Whatever mix of the stressors it is given, a run ends; it holds
// at most its budget of jobs and VMs (stopping with a *BudgetError if it
// would hold more); it keeps at most KeepRows rows; and it loses no job.
func TestResourceLimitsHold(t *testing.T) {
	const maxHeld, keepRows = 1000, 50
	for seed := uint64(1); seed <= 24; seed++ {
		r := rand.New(rand.NewPCG(seed, 10))
		cfg := config.Default()
		cfg.Seed, cfg.Speed, cfg.Duration, cfg.MaxHeld = seed, config.MaxSpeed, 2*time.Hour, maxHeld
		var mix []string
		for _, s := range stressors {
			if r.IntN(5) < 2 {
				p, ok := config.Lookup(s.flag)
				require.True(t, ok, s.flag)
				require.NoError(t, p.Set(&cfg, s.value))
				mix = append(mix, "-"+s.flag+" "+s.value)
			}
		}
		t.Run(fmtMix(mix), func(t *testing.T) {
			require.NoError(t, cfg.Validate())
			out, err := outcome.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{KeepRows: keepRows})
			require.NotNil(t, out)
			s := out.Summary
			if err != nil {
				var budget *workers.BudgetError
				require.True(t, errors.As(err, &budget), "only the budget ends a run with an error: %v", err)
				assert.Contains(t, s.Ended, "memory budget reached")
			}
			held := s.Jobs.Arrived - s.Jobs.Completed - s.Jobs.Failed + s.Cluster.VMs
			assert.LessOrEqual(t, held, int64(maxHeld), "jobs and VMs held at the end")
			assert.LessOrEqual(t, len(out.Rows), keepRows, "rows kept")
			assert.True(t, s.Balanced(), "nothing lost: %+v, queued %d", s.Jobs, s.Queued)
		})
	}
}

func fmtMix(mix []string) string {
	if len(mix) == 0 {
		return "defaults"
	}
	s := mix[0]
	for _, m := range mix[1:] {
		s += " " + m
	}
	return s
}
