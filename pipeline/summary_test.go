package pipeline_test

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"vmstorm/config"
	"vmstorm/internal/sim"
	"vmstorm/pipeline"
	"vmstorm/workers"
)

// TestAllWaitsAreTheStartsAndTheStillWaiting: the summary's waits of all
// jobs are those of the VM starts and those of the jobs still waiting at
// the end, each counted once; with none still waiting, they are the
// starts'. (The summary adds the still waiting to the ledger's own
// histogram, not a copy of it.)
func TestAllWaitsAreTheStartsAndTheStillWaiting(t *testing.T) {
	for _, tc := range []struct {
		name         string
		broken       bool
		stillWaiting bool
	}{
		{"healthy", false, false},
		{"broken janitor, a backlog at the end", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Seed, cfg.Speed, cfg.BreakCleanup = 1, config.MaxSpeed, tc.broken
			s, err := pipeline.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), pipeline.Options{Log: zap.NewNop()})
			require.NoError(t, err)
			require.Positive(t, s.Waits.N)
			if !tc.stillWaiting {
				require.Zero(t, s.StillWaiting.N)
				assert.Equal(t, s.Waits, s.AllWaits)
				return
			}
			require.Positive(t, s.StillWaiting.N)
			assert.Equal(t, s.Waits.N+s.StillWaiting.N, s.AllWaits.N)
			assert.Equal(t, max(s.Waits.Max, s.StillWaiting.Max), s.AllWaits.Max)
			assert.Less(t, min(s.Waits.Mean, s.StillWaiting.Mean), s.AllWaits.Mean)
			assert.Less(t, s.AllWaits.Mean, max(s.Waits.Mean, s.StillWaiting.Mean))
		})
	}
}

// TestAFreedWaitHistogramComesBackEmpty: a histogram given back is reset
// before another run takes it.
func TestAFreedWaitHistogramComesBackEmpty(t *testing.T) {
	for range 3 {
		h := workers.NewWaitHistogram()
		assert.Zero(t, h.TotalCount())
		workers.RecordWait(h, time.Minute)
		workers.RecordWait(h, time.Hour)
		workers.FreeWaitHistogram(h)
	}
	h := workers.NewWaitHistogram()
	assert.Zero(t, h.TotalCount())
	assert.Zero(t, h.Max())
}

// TestWaitQuantilesInOneWalkAreTheLibrarys: the percentiles read in one
// walk through a histogram's counts are those read one by one, and the
// 100th is its Max, whatever the waits.
func TestWaitQuantilesInOneWalkAreTheLibrarys(t *testing.T) {
	for seed := range uint64(50) {
		r := rand.New(rand.NewPCG(seed, 3))
		h := workers.NewWaitHistogram()
		for range 1 + r.IntN(2000) {
			// From milliseconds to days, and some past the histogram's end.
			workers.RecordWait(h, time.Duration(math.Exp(r.Float64()*30))*time.Millisecond)
		}
		q := h.ValueAtPercentilesSlice([]float64{50, 95, 100})
		assert.Equal(t, []int64{h.ValueAtQuantile(50), h.ValueAtQuantile(95), h.Max()}, q, "seed %d", seed)
		workers.FreeWaitHistogram(h)
	}
}
