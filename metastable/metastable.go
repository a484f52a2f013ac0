// Package metastable judges whether a run returns to healthy by itself once
// the trigger of its incident is removed (a metastable failure is one that
// does not: Bronson et al., HotOS '21; Huang et al., OSDI '22). It reads a
// run as the analysis judged it, sample by sample (Recorder, a
// series.Watcher), keeps what the question needs (Trace), and judges a
// replica from its trace and the trace of its control, the same run with
// the trigger never applied (Judge), as one of five outcomes.
//
// Data flows one way: rows and marks in, a Trace out (which a results
// file holds), and the outcome from two traces.
package metastable

import (
	"math"
	"time"

	"vmstorm/analysis"
	"vmstorm/cluster"
	"vmstorm/compare"
	"vmstorm/series"
)

// Outcome is what became of one replica once its trigger was removed.
type Outcome string

// The five outcomes, in the order a table lists them.
const (
	// Recovered: healthy again within the question's time after the
	// removal, and for good, to the end of the window.
	Recovered Outcome = "recovered"
	// Draining: not healthy within that time, but its backlog and leak
	// drain: it was healthy by the end of the window, or both were falling
	// at a rate that would clear them (or were already clear) at its end.
	Draining Outcome = "draining"
	// Stuck: unhealthy at the end of the window, its backlog or leak flat
	// or growing, while its control was healthy throughout: the bad state
	// sustains itself. Metastable.
	Stuck Outcome = "stuck"
	// Overloaded: its control, with no trigger at all, was unhealthy
	// somewhere in the window: too much work for the system, trigger or
	// not, so that not recovering says nothing of a metastable state.
	Overloaded Outcome = "overloaded"
	// NotRemoved: the trigger was never removed in the run.
	NotRemoved Outcome = "not_removed"
)

// Outcomes lists the five, in a table's order.
var Outcomes = []Outcome{Recovered, Draining, Stuck, Overloaded, NotRemoved}

// Means says what an outcome means, for a legend.
func (o Outcome) Means() string {
	switch o {
	case Recovered:
		return "healthy again within the question's time after the removal, and for good"
	case Draining:
		return "slower: healthy only later in the window, or its backlog and leak falling (with confidence, or fast enough to clear within the window again)"
	case Stuck:
		return "unhealthy at the window's end, backlog or leak flat, growing or falling too slowly to tell, while its control stayed healthy: the state sustains itself"
	case Overloaded:
		return "its control, with no trigger at all, was unhealthy in the window: overload, not metastability"
	case NotRemoved:
		return "the trigger was never removed: nothing to judge"
	}
	return ""
}

// Healthy reports whether a judged sample is healthy, for this question:
// the analysis puts it in a good phase (healthy, or recovered: no storm, no
// leak, no pause, no catch-up), and no job has waited for a VM longer than
// drained (the run's threshold of a normal backlog), which catches a
// backlog that grows with no storm at all.
func Healthy(r series.Row, drained time.Duration) bool {
	return (r.Phase == analysis.PhaseHealthy || r.Phase == analysis.PhaseRecovered) && r.OldestWait <= drained
}

// Leak is the capacity held by VMs with no build on them, nor one on its
// way: every VM that holds a slot less those booting and running. It is the
// janitor's leak of finished VMs in 2015, the stalled (orphaned) VMs in
// 2019, and, where a never-booted VM holds a slot, those too.
func Leak(s series.Sample) float64 {
	return float64(max(s.InUse-s.ByState[cluster.Booting]-s.ByState[cluster.Running], 0))
}

// Question is what the recovery question asks of a run.
type Question struct {
	// IsRemoval says whether a timeline mark removes the trigger; the
	// first that does is the removal.
	IsRemoval func(series.Mark) bool
	// Horizon is the window the question covers after the removal (0: to
	// the run's end); the window runs from the start of the run to the
	// removal plus Horizon.
	Horizon time.Duration
	// Trend is the trailing window the trend of the backlog and the leak
	// is estimated over, at the window's end.
	Trend time.Duration
	// Cycle: the arrivals follow a daily curve in the window (no constant
	// load), so that the trend is taken of the levels' means over the day
	// before each point, which a daily cycle does not move.
	Cycle bool
	// Drained is the run's threshold of a normal backlog (Healthy).
	Drained time.Duration
}

// Day is the daily cycle's period.
const Day = 24 * time.Hour

// TrendLevel is the confidence of a trend's interval.
const TrendLevel = 0.95

// maxTrendPoints bounds the points a trend is fitted to (Theil-Sen takes
// every pair of them).
const maxTrendPoints = 240

// Trace is what the question needs of one run, in model hours: a results
// file's record of it.
type Trace struct {
	// RemovedH is when the trigger was removed; nil if it never was.
	RemovedH *float64 `json:"removed_h,omitempty"`
	// EndH is the window's end: the removal plus the horizon, or the run's
	// end if that comes first (or if there is no removal).
	EndH float64 `json:"end_h"`
	// FirstUnhealthyH is the first unhealthy sample of the run; nil if none.
	FirstUnhealthyH *float64 `json:"first_unhealthy_h,omitempty"`
	// HealthyFromH is the start of the healthy stretch that reaches the
	// window's end (0 if the run was never unhealthy in it); nil if the
	// run is unhealthy at its end.
	HealthyFromH *float64 `json:"healthy_from_h,omitempty"`
	// Backlog and Leak are their trends at the window's end, for a run
	// unhealthy there whose removal left enough of the window to fit one.
	Backlog *LevelTrend `json:"backlog_trend,omitempty"`
	Leak    *LevelTrend `json:"leak_trend,omitempty"`
	// Backlog and Leak normals, for a control: the largest and the mean
	// of its levels over its run (Normal).
	BacklogNormal *Normal `json:"backlog_normal,omitempty"`
	LeakNormal    *Normal `json:"leak_normal,omitempty"`
	// Cycle: the trend was taken of the levels' means over the day before
	// each point (Question.Cycle).
	Cycle bool `json:"cycle,omitempty"`
	// NotByItself lists the timeline actions that came after the removal
	// and are not part of it: the replica did not recover by itself, and
	// is not judged (a file's check at load time should have refused
	// them).
	NotByItself []string `json:"not_by_itself,omitempty"`
}

// LevelTrend is one level's trend at the window's end: its level there
// (under a daily cycle, its mean over the day before), and its slope per
// hour with the 95 % interval (nil bounds are unbounded).
type LevelTrend struct {
	Level float64  `json:"level"`
	Slope float64  `json:"slope_per_h"`
	Lo    *float64 `json:"lo,omitempty"`
	Hi    *float64 `json:"hi,omitempty"`
	// Points is how many points it was fitted to, over WindowH hours.
	Points  int     `json:"points"`
	WindowH float64 `json:"window_h"`
}

// Falling reports whether the level falls with confidence: the interval
// lies wholly below 0.
func (lt *LevelTrend) Falling() bool { return lt.Hi != nil && *lt.Hi < 0 }

func ptr(x float64) *float64 { return &x }

// finite is x, or nil if it is not finite.
func finite(x float64) *float64 {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return nil
	}
	return &x
}

// trendOf fits the trend of ys over ts (hours), as a LevelTrend; nil if too
// few points.
func trendOf(ts, ys []float64, level, windowH float64) *LevelTrend {
	if len(ts) < 3 {
		return nil
	}
	tr, err := compare.TheilSen(ts, ys, TrendLevel)
	if err != nil {
		return nil
	}
	return &LevelTrend{Level: level, Slope: tr.Slope, Lo: finite(tr.Lo), Hi: finite(tr.Hi), Points: tr.N, WindowH: windowH}
}
