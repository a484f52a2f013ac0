package analysis

import (
	"fmt"
	"time"

	"vmstorm/series"
)

// MaxHeld is the analysis's budget for what it keeps of a run beyond its
// window of samples: the timeline's marks, the alerts' firings and
// resolutions, and the phases, about a hundred bytes each. It is the run's
// one budget for what it keeps of its timeline, series.MaxHeld (which says
// why a million), that a series.Keeper keeps its marks within too.
const MaxHeld = series.MaxHeld

// maxHeld is the budget an Analyzer is made with: MaxHeld, but in a test.
var maxHeld = MaxHeld

// held counts what an Analyzer keeps against its budget. Once a thing to
// keep would pass it, nothing more is kept and the Analyzer's Err says
// so: a judgement made from part of a run is refused, never given.
type held struct {
	limit, used int
	over        bool
	at          time.Duration // the model time of the first thing not kept
}

// take reports whether one more thing, of model time at, may be kept, and
// counts it if so.
func (h *held) take(at time.Duration) bool {
	if h.over || h.used >= h.limit {
		h.refuse(at)
		return false
	}
	h.used++
	return true
}

// refuse records that a thing of model time at was not kept.
func (h *held) refuse(at time.Duration) {
	if !h.over {
		h.over, h.at = true, at
	}
}

// err is nil within the budget.
func (h *held) err() error {
	if !h.over {
		return nil
	}
	return fmt.Errorf("more than %d marks, alerts' changes and phases to hold (the first not held at model second %s): the analysis does not judge a run from part of them",
		h.limit, series.Seconds(h.at))
}

// Err is nil while the analysis has kept everything it was given. Past its
// budget (MaxHeld marks, alerts' changes and phases) it keeps no more of
// them, goes on judging each sample for the watchers, and Err says where
// it stopped keeping: Result is then of part of the run, and not to be
// used.
func (a *Analyzer) Err() error { return a.held.err() }
