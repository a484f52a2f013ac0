package experiment

import (
	"fmt"
	"slices"

	"vmstorm/compare"
	"vmstorm/metastable"
)

// Outcome is what a replica became once its trigger was removed (the five
// of package metastable), or, for a table's cell, that it could not be
// judged.
type Outcome string

// The outcomes, as Outcomes lists them.
const (
	Recovered          = Outcome(metastable.Recovered)
	Draining           = Outcome(metastable.Draining)
	Stuck              = Outcome(metastable.Stuck)
	Overloaded         = Outcome(metastable.Overloaded)
	NotRemoved         = Outcome(metastable.NotRemoved)
	Incomplete Outcome = "incomplete"
	NotRun     Outcome = "not run"
)

// ReplicaOutcomes are the five outcomes a replica can have, in a table's
// order.
var ReplicaOutcomes = []Outcome{Recovered, Draining, Stuck, Overloaded, NotRemoved}

// OutcomeDoc is an outcome with what it means, for a legend.
type OutcomeDoc struct {
	Outcome Outcome
	Means   string
}

// Outcomes lists every Outcome a cell can show, in a legend's order.
// Adding one is an entry here, its case in RecoveryCell.Outcome, and its
// style in the report (whose test requires one for each).
var Outcomes = []OutcomeDoc{
	{Recovered, metastable.Recovered.Means()},
	{Draining, metastable.Draining.Means()},
	{Stuck, metastable.Stuck.Means()},
	{Overloaded, metastable.Overloaded.Means()},
	{NotRemoved, metastable.NotRemoved.Means()},
	{Incomplete, "fewer replicas (with their controls) finished than asked: not judged"},
	{NotRun, "no replica ran: not judged"},
}

// Judged reports whether the cell's replicas all ran, so that it can be
// judged.
func (o Outcome) Judged() bool { return o != Incomplete && o != NotRun }

// severity orders the five for a cell's ties: the worse wins.
var severity = map[Outcome]int{NotRemoved: 0, Recovered: 1, Draining: 2, Overloaded: 3, Stuck: 4}

// judge is a replica's verdict, from its trace and its control's (nil
// when the replica has none: then its trigger must never have been
// removed).
func judge(e *Experiment, r Result, control *Result) (metastable.Verdict, error) {
	if r.Trace == nil {
		return metastable.Verdict{}, fmt.Errorf("variant %s, replica %d%s has no trace of its recovery", r.Variant, r.Replica, where(r))
	}
	if r.Trace.RemovedH == nil {
		return metastable.Judge(*r.Trace, metastable.Trace{}, e.Recovery.Within)
	}
	if control == nil || control.Trace == nil {
		return metastable.Verdict{}, fmt.Errorf("variant %s, replica %d%s: its trigger was removed, and it has no control to judge it by", r.Variant, r.Replica, where(r))
	}
	v, err := metastable.Judge(*r.Trace, *control.Trace, e.Recovery.Within)
	if err != nil {
		return v, fmt.Errorf("variant %s, replica %d%s: %w", r.Variant, r.Replica, where(r), err)
	}
	return v, nil
}

// withVerdict is r with its outcome and what it rests on.
func withVerdict(r Result, v metastable.Verdict) Result {
	r.Outcome = string(v.Outcome)
	r.Verdict = &ReplicaVerdict{HealthyH: v.HealthyH, ClearH: v.ClearH, ClearLo: v.ClearLo, ClearHi: v.ClearHi, Why: v.Why}
	return r
}

// Pairs holds each replica's result until its control's has come (a
// replica with no control goes at once), then gives both to emit, the
// replica's with its outcome: so that a results file holds a replica's
// outcome in its line, and an interrupted run leaves no replica whose
// control did not finish.
type Pairs struct {
	e       *Experiment
	waiting map[string]Result
	emit    func(Result)
}

// NewPairs pairs results as they come, and gives them to emit.
func NewPairs(e *Experiment, emit func(Result)) *Pairs {
	return &Pairs{e: e, waiting: map[string]Result{}, emit: emit}
}

// Add takes a result as it comes. An error says a replica could not be
// judged: a bug, or results that are not vmstorm's.
func (p *Pairs) Add(r Result) error {
	if !p.e.Recovery.Asked() {
		p.emit(r)
		return nil
	}
	cfg, err := Config(p.e, Task{Variant: r.Variant, Point: r.Point, Refine: r.Refine, Seed: uint64(r.Seed)})
	if err != nil {
		return err
	}
	if !p.e.Controlled(cfg) {
		v, err := judge(p.e, r, nil)
		if err != nil {
			return err
		}
		p.emit(withVerdict(r, v))
		return nil
	}
	key := pairKey(r.Variant, r.Point, r.Refine, r.Replica)
	other, ok := p.waiting[key]
	if !ok {
		p.waiting[key] = r
		return nil
	}
	delete(p.waiting, key)
	replica, control := r, other
	if r.Control {
		replica, control = other, r
	}
	v, err := judge(p.e, replica, &control)
	if err != nil {
		return err
	}
	p.emit(withVerdict(replica, v))
	p.emit(control)
	return nil
}

// Waiting is how many results wait for their pair's other half.
func (p *Pairs) Waiting() int { return len(p.waiting) }

// pairKey names a replica's pair: the replica and its control share it.
func pairKey(variant string, point []int, refine *Refinement, replica int) string {
	if refine != nil {
		return fmt.Sprintf("%q r%d %q %d %d", variant, refine.Round, refine.X, refine.Y, replica)
	}
	return fmt.Sprintf("%q %v %t %d", variant, point, point == nil, replica) // a variant's replica has a nil point, which an empty one is not
}

// judged are the replicas of rs (one group of a variant or a point) with
// their verdicts: each replica whose control, if it has one, is there
// too; a replica still waiting for its control is left out (it has not
// finished).
func judged(e *Experiment, rs []Result) ([]Result, error) {
	controls := map[int]*Result{}
	for i, r := range rs {
		if r.Control {
			controls[r.Replica] = &rs[i]
		}
	}
	var out []Result
	for _, r := range rs {
		if r.Control {
			continue
		}
		c := controls[r.Replica]
		if c == nil && r.Trace != nil && r.Trace.RemovedH != nil {
			continue // its control has not run
		}
		v, err := judge(e, r, c)
		if err != nil {
			return nil, err
		}
		out = append(out, withVerdict(r, v))
	}
	return out, nil
}

// RecoveryCell is the metastability verdict of a variant or a sweep point:
// of its replicas, how many had each of the five outcomes, each share with
// its exact 95 % interval, and how long the recovered took to be healthy
// and the draining are projected to take to clear. The shares and times
// are set only when every replica asked finished, with its control.
type RecoveryCell struct {
	Asked    int // replicas asked
	Replicas int // of which judged: finished, with their controls
	// Counts are the replicas of each outcome, in ReplicaOutcomes' order,
	// and Shares their shares of Replicas.
	Counts [5]int
	Shares [5]*compare.Interval
	// Time is the median hours from the removal to healthy for good, over
	// the replicas healthy by the window's end (the recovered, and the
	// draining that were seen to clear); Clear the median projected hours
	// to clear, from the window's end, over the draining still unhealthy
	// there.
	Time, Clear *compare.Interval
}

// Count is how many replicas had outcome o.
func (c RecoveryCell) Count(o Outcome) int {
	return c.Counts[slices.Index(ReplicaOutcomes, o)]
}

// Share is the share of the replicas with outcome o, with its interval;
// nil when the cell is not judged.
func (c RecoveryCell) Share(o Outcome) *compare.Interval {
	return c.Shares[slices.Index(ReplicaOutcomes, o)]
}

// Removed is how many replicas had their trigger removed.
func (c RecoveryCell) Removed() int { return c.Replicas - c.Count(NotRemoved) }

// recoveryCell counts the judged replicas rs of a cell that asks for
// asked.
func recoveryCell(rs []Result, asked int) RecoveryCell {
	c := RecoveryCell{Asked: asked, Replicas: len(rs)}
	var times, clears []float64
	for _, r := range rs {
		i := slices.Index(ReplicaOutcomes, Outcome(r.Outcome))
		if i < 0 {
			continue // not judged: checked results always are
		}
		c.Counts[i]++
		if v := r.Verdict; v != nil {
			switch {
			case (r.Outcome == string(Recovered) || r.Outcome == string(Draining)) && v.HealthyH != nil:
				times = append(times, *v.HealthyH)
			case r.Outcome == string(Draining) && v.ClearH != nil:
				clears = append(clears, *v.ClearH)
			}
		}
	}
	if c.Replicas < c.Asked || c.Replicas == 0 {
		return c // nothing concluded from missing data
	}
	for i, k := range c.Counts {
		s, _ := compare.Share(k, c.Replicas)
		c.Shares[i] = &s
	}
	if len(times) > 0 {
		m, _ := compare.Median(times)
		c.Time = &m
	}
	if len(clears) > 0 {
		m, _ := compare.Median(clears)
		c.Clear = &m
	}
	return c
}

// Outcome is what the cell shows at a glance, the heat map's colour: not
// run or incomplete, or the outcome most of its replicas had (a tie goes
// to the worse: stuck, overloaded, draining, recovered, not removed).
func (c RecoveryCell) Outcome() Outcome {
	switch {
	case c.Replicas == 0:
		return NotRun
	case c.Replicas < c.Asked:
		return Incomplete
	}
	best := NotRemoved
	for i, o := range ReplicaOutcomes {
		b := c.Count(best)
		if c.Counts[i] > b || (c.Counts[i] == b && severity[o] > severity[best]) {
			best = o
		}
	}
	return best
}

// where names a result's sweep point, if it has one.
func where(r Result) string {
	switch {
	case r.Refine != nil:
		return fmt.Sprintf(" at refinement %s (round %d)", r.Refine.X, r.Refine.Round)
	case r.Point != nil:
		return fmt.Sprintf(" at sweep point %v", r.Point)
	}
	return ""
}

// CellOf is the cell of asked replicas of which those given finished,
// with those outcomes (no times): for a legend, or a test.
func CellOf(asked int, outcomes ...Outcome) RecoveryCell {
	rs := make([]Result, len(outcomes))
	for i, o := range outcomes {
		rs[i].Outcome = string(o)
	}
	return recoveryCell(rs, asked)
}
