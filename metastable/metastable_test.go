package metastable

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/cluster"
	"vmstorm/series"
)

func f(x float64) *float64 { return &x }

// control is a healthy control's trace, with normal levels.
func control(firstUnhealthy *float64) Trace {
	return Trace{EndH: 40, FirstUnhealthyH: firstUnhealthy, BacklogNormal: &Normal{Max: 20, Mean: 5}, LeakNormal: &Normal{Max: 10, Mean: 3}}
}

func trend(level, slope, lo, hi float64) *LevelTrend {
	lt := &LevelTrend{Level: level, Slope: slope, Points: 24, WindowH: 6}
	if !math.IsInf(lo, 0) {
		lt.Lo = f(lo)
	}
	if !math.IsInf(hi, 0) {
		lt.Hi = f(hi)
	}
	return lt
}

// TestJudge: each outcome from the traces that make it, in the order the
// question asks: removed, then the control, then the time to healthy, then
// the trend.
func TestJudge(t *testing.T) {
	removed := func(tr Trace) Trace { tr.RemovedH, tr.EndH = f(10), 34; return tr }
	tests := []struct {
		name    string
		t, c    Trace
		want    Outcome
		healthy *float64
		clear   []float64 // est, lo, hi
	}{
		{"never removed", Trace{EndH: 40}, Trace{}, NotRemoved, nil, nil},
		{"the control unhealthy before the window's end", removed(Trace{HealthyFromH: f(12)}), control(f(30)), Overloaded, nil, nil},
		{"the control unhealthy only after it", removed(Trace{HealthyFromH: f(12)}), control(f(35)), Recovered, f(2), nil},
		{"healthy within", removed(Trace{HealthyFromH: f(21)}), control(nil), Recovered, f(11), nil},
		{"healthy before the removal", removed(Trace{HealthyFromH: f(0)}), control(nil), Recovered, f(0), nil},
		{"healthy later", removed(Trace{HealthyFromH: f(23)}), control(nil), Draining, f(13), nil},
		{"backlog falling, leak clear", removed(Trace{Backlog: trend(200, -10, -14, -6), Leak: trend(8, 0, -1, 1)}), control(nil), Draining, nil,
			[]float64{(200 - 5) / 10.0, (200 - 5) / 14.0, (200 - 5) / 6.0}},
		{"both falling: the later clears", removed(Trace{Backlog: trend(200, -10, -14, -6), Leak: trend(403, -100, -200, -50)}), control(nil), Draining, nil,
			[]float64{(200 - 5) / 10.0, (200 - 5) / 14.0, (200 - 5) / 6.0}},
		{"backlog flat", removed(Trace{Backlog: trend(300, -1, -3, 1), Leak: trend(8, 0, -1, 1)}), control(nil), Stuck, nil, nil},
		{"backlog growing", removed(Trace{Backlog: trend(300, 5, 3, 7), Leak: trend(8, 0, -1, 1)}), control(nil), Stuck, nil, nil},
		{"backlog falling, leak growing", removed(Trace{Backlog: trend(300, -10, -14, -6), Leak: trend(500, 2, 1, 3)}), control(nil), Stuck, nil, nil},
		{"no trend: too little of the window", removed(Trace{}), control(nil), Stuck, nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Judge(tt.t, tt.c, 12*time.Hour)
			require.NoError(t, err)
			assert.Equal(t, tt.want, v.Outcome, v.Why)
			assert.NotEmpty(t, v.Why)
			if tt.healthy != nil {
				require.NotNil(t, v.HealthyH)
				assert.InDelta(t, *tt.healthy, *v.HealthyH, 1e-9)
			}
			if tt.clear != nil {
				require.NotNil(t, v.ClearH)
				assert.InDelta(t, tt.clear[0], *v.ClearH, 1e-9)
				assert.InDelta(t, tt.clear[1], *v.ClearLo, 1e-9)
				if math.IsInf(tt.clear[2], 1) {
					assert.Nil(t, v.ClearHi)
				} else {
					assert.InDelta(t, tt.clear[2], *v.ClearHi, 1e-9)
				}
			}
		})
	}
	_, err := Judge(Trace{RemovedH: f(1), EndH: 3, NotByItself: []string{"pause_builds"}}, control(nil), time.Hour)
	assert.ErrorContains(t, err, "pause_builds", "an action after the removal: not by itself, not judged")
	_, err = Judge(Trace{RemovedH: f(1), EndH: 3}, Trace{EndH: 3}, time.Hour)
	assert.ErrorContains(t, err, "not a control's")
}

// row is a judged sample at minute m.
func row(m int, phase string, oldest time.Duration, backlog, leak int64) series.Row {
	s := series.Sample{T: time.Duration(m) * time.Minute, OldestWait: oldest, Backlog: backlog, InUse: leak + 10}
	s.ByState[cluster.Running] = 10
	return series.Row{Sample: s, Phase: phase}
}

// TestRecorder: a recorder's trace says when the run was first unhealthy,
// when the removal came, from when the run was healthy to the window's
// end, and the actions after the removal that are not part of it.
func TestRecorder(t *testing.T) {
	q := Question{IsRemoval: func(m series.Mark) bool { return m.ID == "fix" }, Horizon: 60 * time.Minute, Trend: 30 * time.Minute, Drained: 10 * time.Minute}
	r := NewRecorder(q, 200*time.Minute, time.Minute)
	for m := range 200 {
		phase, oldest := analysis.PhaseHealthy, time.Duration(0)
		switch {
		case m >= 20 && m < 50:
			phase = analysis.PhaseStorm
		case m >= 50 && m < 70:
			phase, oldest = analysis.PhaseRecovered, 20*time.Minute // a backlog too old, no storm
		case m >= 70:
			phase = analysis.PhaseRecovered
		}
		if m == 40 {
			r.Mark(series.Mark{T: 40 * time.Minute, Name: "fix_cleanup_credentials", ID: "fix"})
			r.Mark(series.Mark{T: 40 * time.Minute, Name: "restart_janitor"})
		}
		if m == 150 {
			r.Mark(series.Mark{T: 150 * time.Minute, Name: "pause_builds"})
		}
		r.Row(row(m, phase, oldest, int64(200-m), 5))
	}
	tr := r.Trace(199 * time.Minute)
	assert.InDelta(t, 40.0/60, *tr.RemovedH, 1e-9)
	assert.InDelta(t, 100.0/60, tr.EndH, 1e-9, "the removal plus the horizon")
	assert.InDelta(t, 20.0/60, *tr.FirstUnhealthyH, 1e-9, "the storm")
	assert.InDelta(t, 70.0/60, *tr.HealthyFromH, 1e-9, "healthy from the first sample with no storm and no old backlog")
	assert.Equal(t, []string{"restart_janitor", "pause_builds"}, tr.NotByItself, "what came after the removal, not part of it")
	assert.Equal(t, &Normal{Max: 5, Mean: 5}, tr.LeakNormal)

	// Unhealthy at the window's end: the trend of each level over its
	// last half hour.
	r = NewRecorder(q, 200*time.Minute, time.Minute)
	r.Mark(series.Mark{T: 10 * time.Minute, Name: "x", ID: "fix"})
	for m := range 200 {
		r.Row(row(m, analysis.PhaseStorm, 0, int64(500-2*m), int64(m)))
	}
	tr = r.Trace(199 * time.Minute)
	assert.Nil(t, tr.HealthyFromH)
	require.NotNil(t, tr.Backlog)
	assert.InDelta(t, -120, tr.Backlog.Slope, 1e-9, "2 jobs a minute")
	assert.Equal(t, 31, tr.Backlog.Points, "minutes 40 to 70")
	assert.InDelta(t, 500-2*70, tr.Backlog.Level, 1e-9)
	assert.InDelta(t, 60, tr.Leak.Slope, 1e-9)
}

// TestTrendUnderADailyCycle: under a daily traffic cycle the backlog rises
// by day and falls by night; over six hours of its rise, its slope says
// it grows, though from day to day it falls. With the question's Cycle,
// each point is the mean of the day before it, which the cycle does not
// move: the trend is the fall from day to day.
func TestTrendUnderADailyCycle(t *testing.T) {
	level := func(m int) float64 {
		h := float64(m) / 60
		return 1000 - 5*h - 200*math.Sin(2*math.Pi*h/24) // falling 5 an hour
	}
	run := func(cycle bool) *LevelTrend {
		q := Question{IsRemoval: func(m series.Mark) bool { return m.ID == "fix" }, Horizon: 60 * time.Hour, Trend: 6 * time.Hour, Cycle: cycle, Drained: time.Minute}
		r := NewRecorder(q, 61*time.Hour, 10*time.Minute)
		r.Mark(series.Mark{T: 0, Name: "x", ID: "fix"})
		for m := 0; m <= 60*60; m += 10 {
			r.Row(row(m, analysis.PhaseStorm, 0, int64(level(m)), 0))
		}
		return r.Trace(60 * time.Hour).Backlog
	}
	// From 54 h to 60 h (6 to 12 o'clock of the third day), the cycle
	// rises.
	plain := run(false)
	require.NotNil(t, plain)
	assert.Positive(t, plain.Slope, "the morning's rise")
	daily := run(true)
	require.NotNil(t, daily)
	assert.InDelta(t, -5, daily.Slope, 0.3, "the fall from day to day")
}

// TestHealthy: a sample is healthy in a good phase with no backlog older
// than the run's threshold.
func TestHealthy(t *testing.T) {
	for _, tt := range []struct {
		phase  string
		oldest time.Duration
		want   bool
	}{
		{analysis.PhaseHealthy, 0, true},
		{analysis.PhaseRecovered, 10 * time.Minute, true},
		{analysis.PhaseRecovered, 11 * time.Minute, false},
		{analysis.PhaseHealthy, time.Hour, false},
		{analysis.PhaseStorm, 0, false},
		{analysis.PhaseLeak, 0, false},
		{analysis.PhaseCatchUp, 0, false},
		{analysis.PhasePaused, 0, false},
	} {
		assert.Equal(t, tt.want, Healthy(series.Row{Sample: series.Sample{OldestWait: tt.oldest}, Phase: tt.phase}, 10*time.Minute), "%s, %v", tt.phase, tt.oldest)
	}
}
