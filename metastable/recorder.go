package metastable

import (
	"math"
	"slices"
	"time"

	"vmstorm/incident"
	"vmstorm/series"
)

// Recorder watches a run for the question: every judged sample's health,
// the removal, the actions after it, and the backlog and the leak at
// evenly spaced times, for their trend. Its Trace is what it saw.
type Recorder struct {
	q    Question
	step time.Duration // levels kept at least this far apart

	removed   bool
	removedAt time.Duration
	end       time.Duration // the window's end, once the trigger is removed

	firstUnhealthy time.Duration // -1: none yet
	lastUnhealthy  time.Duration // at or before end; -1: none
	healthyFrom    time.Duration // of the stretch at the last sample in the window
	healthyNow     bool
	lastT          time.Duration // the last sample in the window

	ts              []time.Duration
	backlogs, leaks []float64
	notByItself     []string
}

// MaxLevels bounds the levels a recorder keeps of a run.
const MaxLevels = 20000

// NewRecorder is a recorder for a run of the given length and sample
// interval.
func NewRecorder(q Question, duration, sampleEvery time.Duration) *Recorder {
	return &Recorder{q: q, step: max(sampleEvery, duration/MaxLevels), end: math.MaxInt64,
		firstUnhealthy: -1, lastUnhealthy: -1, healthyNow: true}
}

// Row takes a judged sample.
func (r *Recorder) Row(row series.Row) {
	t := row.T
	healthy := Healthy(row, r.q.Drained)
	if !healthy && r.firstUnhealthy < 0 {
		r.firstUnhealthy = t
	}
	if t <= r.end {
		switch {
		case !healthy:
			r.lastUnhealthy, r.healthyNow = t, false
		case !r.healthyNow:
			r.healthyFrom, r.healthyNow = t, true
		}
		r.lastT = t
	}
	if n := len(r.ts); n == 0 || t-r.ts[n-1] >= r.step {
		r.ts = append(r.ts, t)
		r.backlogs = append(r.backlogs, float64(row.Backlog))
		r.leaks = append(r.leaks, Leak(row.Sample))
	}
}

// Mark takes a timeline event as applied.
func (r *Recorder) Mark(m series.Mark) {
	removal := r.q.IsRemoval(m)
	switch {
	case !r.removed && removal:
		r.removed, r.removedAt = true, m.T
		if r.q.Horizon > 0 {
			r.end = m.T + r.q.Horizon
		}
	case r.removed && !removal && (incident.IsFault(m.Name) || incident.IsOperatorAction(m.Name)):
		r.notByItself = append(r.notByItself, m.Name)
	}
}

// Trace is what the recorder saw of the run, which ended at end.
func (r *Recorder) Trace(runEnd time.Duration) Trace {
	end := min(r.end, runEnd)
	tr := Trace{EndH: end.Hours(), NotByItself: slices.Compact(r.notByItself), Cycle: r.q.Cycle,
		BacklogNormal: normalOf(r.backlogs), LeakNormal: normalOf(r.leaks)}
	if !r.removed {
		end = runEnd
		tr.EndH = end.Hours()
	} else {
		tr.RemovedH = ptr(r.removedAt.Hours())
	}
	if r.firstUnhealthy >= 0 {
		tr.FirstUnhealthyH = ptr(r.firstUnhealthy.Hours())
	}
	if r.healthyNow {
		tr.HealthyFromH = ptr(r.healthyFrom.Hours())
		return tr
	}
	if r.removed {
		tr.Backlog = r.trend(r.backlogs, end)
		tr.Leak = r.trend(r.leaks, end)
	}
	return tr
}

// trend is a level's trend over the question's trailing window before end,
// from the removal on (and, under a daily cycle, from a day after it: each
// point is the mean of the day before it).
func (r *Recorder) trend(levels []float64, end time.Duration) *LevelTrend {
	from := max(end-r.q.Trend, r.removedAt)
	if r.q.Cycle {
		from = max(end-r.q.Trend, r.removedAt+Day)
	}
	i0 := sortSearch(r.ts, from)
	i1 := sortSearch(r.ts, end+1)
	if i1-i0 < 3 {
		return nil
	}
	stride := max(1, (i1-i0+maxTrendPoints-1)/maxTrendPoints)
	var ts, ys []float64
	// Under a daily cycle each point is the mean over the day before it:
	// a running sum over a window that slides with the points.
	lo, sum := 0, 0.0
	hi := 0
	for i := i0; i < i1; i += stride {
		y := levels[i]
		if r.q.Cycle {
			for hi <= i {
				sum += levels[hi]
				hi++
			}
			for r.ts[lo] <= r.ts[i]-Day {
				sum -= levels[lo]
				lo++
			}
			y = sum / float64(hi-lo)
		}
		ts, ys = append(ts, r.ts[i].Hours()), append(ys, y)
	}
	return trendOf(ts, ys, ys[len(ys)-1], (end - from).Hours())
}

// sortSearch is the first index whose time is at or after t.
func sortSearch(ts []time.Duration, t time.Duration) int {
	i, _ := slices.BinarySearch(ts, t)
	return i
}

// normalOf is the largest and the mean of levels; nil for none.
func normalOf(levels []float64) *Normal {
	if len(levels) == 0 {
		return nil
	}
	n := Normal{Max: slices.Max(levels)}
	for _, x := range levels {
		n.Mean += x
	}
	n.Mean /= float64(len(levels))
	return &n
}
