package metastable

import (
	"fmt"
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
	// with the interval the slopes' intervals give.
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
	clear := func(lt *LevelTrend, n Normal) bool { return lt != nil && lt.Level <= n.Max }
	falling := func(lt *LevelTrend, n Normal) bool { return lt != nil && !clear(lt, n) && lt.Falling() }
	switch {
	case t.Backlog == nil || t.Leak == nil:
		return Verdict{Outcome: Stuck, Why: "unhealthy at the window's end, with too little of the window after the removal to fit a trend"}, nil
	case !(clear(t.Backlog, backlog) || falling(t.Backlog, backlog)) || !(clear(t.Leak, leak) || falling(t.Leak, leak)):
		return Verdict{Outcome: Stuck, Why: "unhealthy at the window's end, its backlog or leak neither clear nor falling"}, nil
	}
	v := Verdict{Outcome: Draining, Why: "unhealthy at the window's end, its backlog and leak clear or falling"}
	// Both must clear: the later of their times, and of their bounds. A
	// level falls at -Slope an hour, no faster than -Lo and no slower than
	// -Hi (the interval's bounds, Hi < 0).
	est, lo, hi := 0.0, 0.0, 0.0
	for _, p := range []struct {
		lt *LevelTrend
		n  Normal
	}{{t.Backlog, backlog}, {t.Leak, leak}} {
		if !falling(p.lt, p.n) {
			continue
		}
		excess := max(p.lt.Level-p.n.Mean, 0)
		est = max(est, excess/-p.lt.Slope)
		if p.lt.Lo != nil {
			lo = max(lo, excess/-*p.lt.Lo)
		}
		hi = max(hi, excess/-*p.lt.Hi)
	}
	v.ClearH, v.ClearLo, v.ClearHi = &est, &lo, &hi
	return v, nil
}
