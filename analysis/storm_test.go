package analysis_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"vmstorm/analysis"
	"vmstorm/series"
)

// TestStorm: a requeue storm starts when requeues outrun arrivals over the
// window, and lasts until they fall to half the arrival rate or under;
// StormStats keeps its first start and the highest requeue rate.
func TestStorm(t *testing.T) {
	cases := []struct {
		name     string
		window   time.Duration
		arrivals []int64 // per minute, from minute 1
		requeues []int64
		want     []string // "minute event rate"
		stats    analysis.StormStats
	}{
		{"on, held above half the arrivals, off, on again", time.Minute,
			[]int64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10},
			[]int64{0, 0, 11, 6, 6, 5, 0, 0, 12, 0},
			[]string{"3 requeue_storm 11", "6 requeue_storm_over 5", "9 requeue_storm 12", "10 requeue_storm_over 0"},
			analysis.StormStats{Happened: true, Start: minute(3), PeakRate: 12}},
		{"requeues equal to arrivals are no storm", time.Minute,
			[]int64{10, 10, 10, 10},
			[]int64{0, 10, 10, 3},
			nil,
			analysis.StormStats{PeakRate: 10}},
		{"requeues with no arrivals are a storm", time.Minute,
			[]int64{0, 0, 0, 0},
			[]int64{0, 1, 1, 0},
			[]string{"2 requeue_storm 1", "4 requeue_storm_over 0"},
			analysis.StormStats{Happened: true, Start: minute(2), PeakRate: 1}},
		{"no requeues and no arrivals are no storm", time.Minute,
			[]int64{0, 0, 0},
			[]int64{0, 0, 0},
			nil,
			analysis.StormStats{}},
		{"measured over the window: one bad minute in five is no storm", 5 * time.Minute,
			[]int64{10, 10, 10, 10, 10, 10, 10, 10},
			[]int64{0, 0, 0, 0, 0, 0, 20, 0},
			nil,
			analysis.StormStats{PeakRate: 4}},
		{"measured over the window: it lasts as long as the window holds it", 5 * time.Minute,
			[]int64{10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 10},
			[]int64{0, 0, 0, 0, 0, 60, 0, 0, 0, 0, 0, 0},
			// 60 in the window: 12 a minute over 10, then 5 is not above half
			// once 60 has left it at 11m.
			[]string{"6 requeue_storm 12", "11 requeue_storm_over 0"},
			analysis.StormStats{Happened: true, Start: minute(6), PeakRate: 12}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := quiet()
			cfg.Window = tc.window
			samples := script(len(tc.arrivals), func(m int, s *series.Sample) (int64, int64, int64) {
				return tc.arrivals[m-1], 0, tc.requeues[m-1]
			})
			rec, res := judge(cfg, nil, samples)
			var got []string
			on := false
			for _, r := range rec.rows {
				for _, c := range r.Changes {
					if c.Event == "requeue_storm" || c.Event == "requeue_storm_over" {
						got = append(got, fmt.Sprintf("%d %s %v", r.T/time.Minute, c.Event, c.Value))
						on = c.Event == "requeue_storm"
					}
				}
				if on {
					assert.Greater(t, r.Rates.Requeues, r.Rates.Arrivals/2, "at %v, in a storm", r.T)
				}
			}
			assert.Equal(t, tc.want, got)
			assert.Equal(t, tc.stats, res.Storm)
		})
	}
}
