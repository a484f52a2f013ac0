package config_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"vmstorm/config"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// week is the span the traffic properties are sampled over: every weekday
// and both weekend days.
const week = 7 * 24 * time.Hour

// maxFactor is the largest Factor sampled every step over a week from
// epoch, and at every burst's edges.
func maxFactor(tr *config.Traffic, epoch time.Time, step time.Duration) (float64, time.Duration) {
	best, at := 0.0, time.Duration(0)
	sample := func(t time.Duration) {
		if f := tr.Factor(epoch, t); f > best {
			best, at = f, t
		}
	}
	for t := time.Duration(0); t <= week; t += step {
		sample(t)
	}
	for _, b := range tr.Bursts {
		sample(b.At)
		sample(b.At + b.For - time.Nanosecond)
	}
	return best, at
}

// randomTraffic is a random Traffic that Config.Validate accepts.
func randomTraffic(r *rand.Rand) *config.Traffic {
	tr := &config.Traffic{
		PeakHour: r.Float64() * 24,
		Night:    1 - r.Float64(), // (0, 1]
		Weekend:  4 * (1 - r.Float64()),
	}
	for range r.IntN(4) {
		tr.Bursts = append(tr.Bursts, config.Burst{
			At:     time.Duration(r.Int64N(int64(week))),
			For:    time.Duration(1 + r.Int64N(int64(48*time.Hour))),
			Factor: 5 * (1 - r.Float64()),
		})
	}
	return tr
}

func validTraffic(t *testing.T, tr *config.Traffic) {
	t.Helper()
	cfg := config.Default()
	cfg.Traffic = tr
	require.NoError(t, cfg.Validate())
}

// TestTrafficMaxBoundsFactor is the property the arrival source's thinning
// needs: Factor never exceeds Max, at any time of any week, for any valid
// Traffic; and without bursts, Max is reached (a bound no looser than it
// must be).
func TestTrafficMaxBoundsFactor(t *testing.T) {
	friday := time.Date(2015, 7, 31, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		tr   *config.Traffic
	}{
		{"a weekend busier than weekdays", &config.Traffic{PeakHour: 17, Night: 0.05, Weekend: 2}},
		{"a flat day, weekend above 1", &config.Traffic{PeakHour: 0, Night: 1, Weekend: 1.5}},
		{"a weekend below 1", &config.Traffic{PeakHour: 17, Night: 0.05, Weekend: 0.3}},
		{"overlapping bursts on a weekend above 1", &config.Traffic{PeakHour: 12, Night: 0.5, Weekend: 3, Bursts: []config.Burst{
			{At: 24 * time.Hour, For: 48 * time.Hour, Factor: 2}, {At: 36 * time.Hour, For: 6 * time.Hour, Factor: 1.5}, {At: 40 * time.Hour, For: time.Hour, Factor: 0.5}}}},
		{"the 2019 burst", &config.Traffic{PeakHour: 15, Night: 0.15, Weekend: 0.4, Bursts: []config.Burst{{At: 9 * time.Hour, For: 15 * time.Hour, Factor: 1.4}}}},
	}
	r := rand.New(rand.NewPCG(20150804, 7))
	for i := range 200 {
		cases = append(cases, struct {
			name string
			tr   *config.Traffic
		}{fmt.Sprintf("random %d", i), randomTraffic(r)})
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			validTraffic(t, tc.tr)
			// Start on each day of the week in turn, at an odd minute.
			epoch := friday.Add(time.Duration(i%7)*24*time.Hour + time.Duration(i%60)*time.Minute)
			got, at := maxFactor(tc.tr, epoch, time.Minute)
			require.LessOrEqual(t, got, tc.tr.Max(), "%+v: Factor at %v (%s) exceeds Max", *tc.tr, at, epoch.Add(at).Weekday())
			if len(tc.tr.Bursts) == 0 {
				assert.InDelta(t, tc.tr.Max(), got, 1e-4*tc.tr.Max(), "%+v: without bursts, Max is the peak", *tc.tr)
			}
		})
	}
}
