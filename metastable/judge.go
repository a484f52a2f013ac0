package metastable

import (
	"fmt"
	"math"
	"time"
)

// Normal is a control's level over its run, the system with no trigger:
// its largest and its mean. A level at or below Max is clear (within the
// system's normal variation); a falling level clears when it reaches Mean.
type Normal struct {
	Max  float64 `json:"max"`
	Mean float64 `json:"mean"`
}

// Verdict is a replica's outcome, with what it rests on.
type Verdict struct {
	Outcome Outcome
	// HealthyH, for a recovered or a draining replica that was healthy
	// by the window's end, is the hours from the removal to healthy for
	// good (0 if it was healthy by then).
	HealthyH *float64
	// ClearH, for a draining replica still unhealthy at the window's end,
	// is the projected hours from that end until its backlog and leak are
	// clear (their level less the control's mean, over the falling rate),
	// with the interval the slopes' intervals give (ClearHi nil: the
	// interval reaches a slope of 0, and no bound).
	ClearH, ClearLo, ClearHi *float64
	// Why says what decided it, for people.
	Why string
}

// Judge judges a replica from its trace and the trace of its control (the
// same run, with the same seed, its trigger never applied, whose normal
// backlog and leak it holds); within is the time the question gives a run
// to be healthy again after the removal.
//
// In order: a replica whose trigger was never removed is not_removed; one
// whose control was unhealthy anywhere from the start to the window's end
// is overloaded; one healthy for good from no later than within after the
// removal is recovered; one healthy for good from later, by the window's
// end, is draining (slowly, and seen to); one unhealthy at the end is
// draining if its backlog and its leak are each clear or falling (the
// interval of its slope wholly below 0), and one of them falling, and
// stuck otherwise. A trace with actions after the removal that are not
// part of it is an error: it is not "by itself", and is not judged.
func Judge(t, control Trace, within time.Duration) (Verdict, error) {
	if len(t.NotByItself) > 0 {
		return Verdict{}, fmt.Errorf("%v came after the trigger's removal: the run is not left to itself", t.NotByItself)
	}
	if t.RemovedH == nil {
		return Verdict{Outcome: NotRemoved, Why: "the trigger was never removed"}, nil
	}
	if control.BacklogNormal == nil || control.LeakNormal == nil {
		return Verdict{}, fmt.Errorf("the control's trace has no normal levels: not a control's")
	}
	backlog, leak := *control.BacklogNormal, *control.LeakNormal
	removed, end := *t.RemovedH, t.EndH
	if f := control.FirstUnhealthyH; f != nil && *f <= end {
		return Verdict{Outcome: Overloaded, Why: fmt.Sprintf("its control was unhealthy at %.2f h, before the window's end at %.2f h", *f, end)}, nil
	}
	if h := t.HealthyFromH; h != nil {
		took := max(*h-removed, 0)
		o := Recovered
		if took > within.Hours() {
			o = Draining
		}
		return Verdict{Outcome: o, HealthyH: &took, Why: fmt.Sprintf("healthy for good %.2f h after the removal", took)}, nil
	}
	// A level is clear at or below its control's largest. Else it drains
	// if it falls: with confidence (its slope's interval wholly below 0),
	// or at a rate that would clear it within as long again as the window
	// after the removal that was watched (its Theil-Sen slope, whose
	// interval a strongly correlated series can leave unbounded). It
	// clears in excess / -slope hours, never if the slope is not negative;
	// both must clear, so the later counts.
	if t.Backlog == nil || t.Leak == nil {
		return Verdict{Outcome: Stuck, Why: "unhealthy at the window's end, with too little of the window after the removal to fit a trend"}, nil
	}
	inf := math.Inf(1)
	watched := end - removed
	est, lo, hi := 0.0, 0.0, 0.0
	for _, p := range []struct {
		name string
		lt   *LevelTrend
		n    Normal
	}{{"backlog", t.Backlog, backlog}, {"leak", t.Leak, leak}} {
		if p.lt.Level <= p.n.Max {
			continue
		}
		excess := p.lt.Level - p.n.Mean
		at := func(slope *float64, ifNone float64) float64 {
			switch {
			case slope == nil:
				return ifNone
			case *slope >= 0:
				return inf
			}
			return excess / -*slope
		}
		clears := at(&p.lt.Slope, inf)
		if !p.lt.Falling() && clears > watched {
			why := fmt.Sprintf("unhealthy at the window's end, its %s flat or growing", p.name)
			if !math.IsInf(clears, 1) {
				why = fmt.Sprintf("unhealthy at the window's end, its %s falling too slowly to tell from a state that stays "+
					"(clear in %.1f h at its rate, more than the %.1f h watched after the removal, and not falling with confidence)", p.name, clears, watched)
			}
			return Verdict{Outcome: Stuck, Why: why}, nil
		}
		est = max(est, clears)
		lo = max(lo, at(p.lt.Lo, 0)) // the steepest fall the interval allows is the soonest
		hi = max(hi, at(p.lt.Hi, inf))
	}
	v := Verdict{Outcome: Draining, Why: "unhealthy at the window's end, its backlog and leak clear or falling fast enough to clear", ClearH: &est, ClearLo: &lo}
	if !math.IsInf(hi, 1) {
		v.ClearHi = &hi
	}
	return v, nil
}
