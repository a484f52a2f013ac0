package analysis_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/series"
)

func TestRatesBetween(t *testing.T) {
	at := func(t time.Duration, arrived, completed, requeues int64) series.Sample {
		return series.Sample{T: t, Arrived: arrived, Completed: completed, Requeues: requeues}
	}
	cases := []struct {
		name     string
		from, to series.Sample
		want     series.Rates
	}{
		{"per model minute", at(minute(2), 10, 4, 0), at(minute(4), 30, 10, 7), series.Rates{Arrivals: 10, Completions: 3, Requeues: 3.5}},
		{"half a minute doubles the change", at(0, 0, 0, 0), at(30*time.Second, 6, 2, 1), series.Rates{Arrivals: 12, Completions: 4, Requeues: 2}},
		{"from the start of the run", at(0, 0, 0, 0), at(minute(10), 50, 40, 20), series.Rates{Arrivals: 5, Completions: 4, Requeues: 2}},
		{"no time between: zero, not infinite", at(minute(3), 1, 1, 1), at(minute(3), 9, 9, 9), series.Rates{}},
		{"backwards in time: zero", at(minute(4), 1, 1, 1), at(minute(3), 9, 9, 9), series.Rates{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, analysis.RatesBetween(tc.from, tc.to))
		})
	}
}

// TestWindowedRates: each row's rates are over cfg.Window, from the newest
// sample at least a window older; a run younger than its window is measured
// from its start, when every total was zero.
func TestWindowedRates(t *testing.T) {
	// Totals that no two windows agree on: requeues grow as m².
	grow := func(m int, s *series.Sample) (int64, int64, int64) {
		return 7, 3, int64(2*m - 1) // requeues total m²
	}
	cases := []struct {
		name   string
		window time.Duration
		// want are requeue and arrival rates at some minutes.
		want map[int][2]float64
	}{
		{"a 5m window", 5 * time.Minute, map[int][2]float64{
			1:  {1, 7},                 // 1 requeue in the first minute, from the start
			3:  {9.0 / 3, 7},           // younger than the window: from the start
			5:  {25.0 / 5, 7},          // the first sample is 4m old: still from the start
			6:  {(36.0 - 1) / 5, 7},    // from the sample at 1m
			10: {(100.0 - 25) / 5, 7},  // from the sample at 5m
			12: {(144.0 - 49) / 5, 7}}, // from the sample at 7m
		},
		{"a 2m window", 2 * time.Minute, map[int][2]float64{
			1:  {1, 7},
			2:  {4.0 / 2, 7},
			3:  {(9.0 - 1) / 2, 7},
			10: {(100.0 - 64) / 2, 7}},
		},
		{"a window longer than the run", time.Hour, map[int][2]float64{
			4:  {16.0 / 4, 7},
			12: {144.0 / 12, 7}},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := quiet()
			cfg.Window = tc.window
			rec, _ := judge(cfg, nil, script(12, grow))
			require.Len(t, rec.rows, 12)
			for m, want := range tc.want {
				row, ok := rec.rowAt(minute(m))
				require.True(t, ok)
				assert.InDelta(t, want[0], row.Rates.Requeues, 1e-9, "requeues per minute at %dm", m)
				assert.InDelta(t, want[1], row.Rates.Arrivals, 1e-9, "arrivals per minute at %dm", m)
				assert.InDelta(t, 3, row.Rates.Completions, 1e-9, "completions per minute at %dm", m)
			}
		})
	}

	t.Run("a sample at the start is the base once a window old", func(t *testing.T) {
		// A series that begins with totals already counted (a sample at 0)
		// is measured from that sample, not from zero, once it is a window old.
		cfg := quiet()
		cfg.Window = 5 * time.Minute
		samples := append([]series.Sample{{T: 0, Capacity: 200, Arrived: 100}}, script(5, func(int, *series.Sample) (int64, int64, int64) { return 10, 0, 0 })...)
		for i := range samples[1:] {
			samples[i+1].Arrived += 100
		}
		rec, _ := judge(cfg, nil, samples)
		row, ok := rec.rowAt(minute(4))
		require.True(t, ok)
		assert.InDelta(t, 140.0/4, row.Rates.Arrivals, 1e-9, "younger than the window: from the start, zero")
		row, ok = rec.rowAt(minute(5))
		require.True(t, ok)
		assert.InDelta(t, 10, row.Rates.Arrivals, 1e-9, "a window old: from the sample at 0")
	})
}
