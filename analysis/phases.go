package analysis

import (
	"time"

	"vmstorm/config"
	"vmstorm/internal/vmstate"
	"vmstorm/series"
)

// The phases of an incident, as the analysis judges them from what the
// model does (not from the timeline's labels).
const (
	PhaseHealthy       = "healthy"        // nothing has gone wrong yet
	PhaseSilentLeak    = "silent leak"    // VMs leak, the janitor fails, and no alert says so
	PhaseLeak          = "leak"           // VMs leak, and monitoring can see it
	PhaseStorm         = "storm"          // requeues outrun arrivals
	PhasePaused        = "paused"         // every queue paused
	PhaseCatchUp       = "catch-up"       // working again, backlog above normal
	PhaseSecondFailure = "second failure" // a storm again, after an earlier one ended, with the janitor working
	PhaseReducedRate   = "reduced rate"   // backlog draining under a lowered build limit
	PhaseRecovered     = "recovered"      // after a fault, back to a normal backlog
)

// Phases lists the phases, in the order an incident may go through them.
var Phases = []string{PhaseHealthy, PhaseSilentLeak, PhaseLeak, PhaseStorm, PhasePaused, PhaseCatchUp,
	PhaseSecondFailure, PhaseReducedRate, PhaseRecovered}

// phaseDebounce is how many samples in a row a new phase must show before
// the run moves to it, so that a phase does not flicker at its edges: a
// phase starts up to two samples after what caused it.
const phaseDebounce = 3

// PhaseStats is one phase of the run.
type PhaseStats struct {
	Name                  string
	Start, Length         time.Duration
	Completed, Requeues   int64
	PeakVMs, PeakReported int64
	PeakBacklog           int64
	WorstWait             time.Duration // the longest any job had waited for a VM, at any sample
}

// phaseInput is what the phase of a sample is judged on.
type phaseInput struct {
	series.Sample
	Storm bool // requeues outrun arrivals (see stormWatch)
	// OrphansGrew is how many more VMs are orphaned (abandoned by their
	// workers) than a window before.
	OrphansGrew int64
	Firing      bool // an alert is firing
	Marked      bool // the timeline has acted
}

type phaser struct {
	queues      int
	drained     time.Duration
	phase       string
	candidate   string
	candidates  int
	stormBefore bool // a storm phase has come and gone

	done    []PhaseStats // as many as held allows
	held    *held
	cur     PhaseStats
	started bool
	base    series.Sample // the state before the current phase began
}

func newPhaser(cfg config.Config, h *held) phaser {
	return phaser{queues: len(cfg.Queues), drained: cfg.Drained, phase: PhaseHealthy, held: h}
}

func stormy(phase string) bool { return phase == PhaseStorm || phase == PhaseSecondFailure }

// classify is the phase the state in shows, before debouncing.
func (p *phaser) classify(in phaseInput) string {
	// Leaking: the janitor cleans nothing, or VMs that their workers
	// abandoned pile up: more than a twentieth of the cluster, and more
	// than a window ago by a hundredth of it (and at least 10). A cluster
	// draining its orphans is not leaking; finished VMs waiting for the
	// janitor's next pass are not a leak either.
	// Once leaking, orphans that stay put are still a leak, until they
	// begin to drain.
	orphans := in.ByState[vmstate.Orphaned]
	wasLeaking := p.phase == PhaseLeak || p.phase == PhaseSilentLeak
	leaking := in.JanitorFailing || (orphans*20 > in.Capacity &&
		(in.OrphansGrew >= max(in.Capacity/100, 10) || (wasLeaking && in.OrphansGrew >= 0)))
	// Silent: the janitor fails (its report is stale, or none) and no
	// alert fires.
	silent := in.JanitorFailing && !in.Firing
	// A backlog is high above Drained, and stays high until it is under
	// half of it, so that a phase does not flicker at the threshold.
	backlogHigh := in.OldestWait > p.drained ||
		(in.OldestWait > p.drained/2 && (p.phase == PhaseCatchUp || p.phase == PhaseReducedRate))
	switch {
	case p.queues > 0 && in.Paused == p.queues:
		return PhasePaused
	case in.Storm && stormy(p.phase):
		return p.phase
	case in.Storm && p.stormBefore && !in.JanitorFailing:
		return PhaseSecondFailure
	case in.Storm:
		return PhaseStorm
	case leaking && silent:
		return PhaseSilentLeak
	case leaking:
		return PhaseLeak
	case backlogHigh && in.ReducedQueues > 0:
		return PhaseReducedRate
	case backlogHigh && in.Marked:
		return PhaseCatchUp
	case p.phase != PhaseHealthy:
		return PhaseRecovered
	default:
		return PhaseHealthy
	}
}

// next judges the phase at in, moving to a new phase once it has shown for
// phaseDebounce samples in a row, and keeps the phase table.
func (p *phaser) next(in phaseInput, changes []series.Change) (string, []series.Change) {
	now := p.classify(in)
	switch {
	case now == p.phase:
		p.candidate, p.candidates = "", 0
	case now != p.candidate:
		p.candidate, p.candidates = now, 1
	default:
		p.candidates++
	}
	if p.candidate != "" && p.candidates >= phaseDebounce {
		changes = append(changes, series.Change{Event: "phase_changed", Name: now, From: p.phase})
		if stormy(p.phase) && !stormy(now) {
			p.stormBefore = true
		}
		p.phase, p.candidate, p.candidates = now, "", 0
	}
	p.record(in.Sample, p.phase)
	return p.phase, changes
}

// record adds sample s, in phase, to the phase table. A phase begins at
// the sample judged the first in it (the sample whose row says it, and at
// which the console logs phase_changed), and the phase before ends there:
// the change of the totals up to that sample is the phase before's.
func (p *phaser) record(s series.Sample, phase string) {
	if !p.started || phase != p.cur.Name {
		if p.started {
			c := &p.cur
			c.Length = s.T - c.Start
			c.Completed = s.Completed - p.base.Completed
			c.Requeues = s.Requeues - p.base.Requeues
			if p.held.take(s.T) {
				p.done = append(p.done, p.cur)
			}
			p.base = s
		}
		p.cur, p.started = PhaseStats{Name: phase, Start: p.base.T}, true
	}
	c := &p.cur
	c.Length = s.T - c.Start
	c.Completed = s.Completed - p.base.Completed
	c.Requeues = s.Requeues - p.base.Requeues
	c.PeakVMs = max(c.PeakVMs, s.VMs)
	c.PeakReported = max(c.PeakReported, s.ReportedVMs)
	c.PeakBacklog = max(c.PeakBacklog, s.Backlog)
	c.WorstWait = max(c.WorstWait, s.OldestWait)
}

// table is the phases of the run so far.
func (p *phaser) table() []PhaseStats {
	if !p.started {
		return nil
	}
	return append(append([]PhaseStats(nil), p.done...), p.cur)
}

// stormWatch says whether a requeue storm is on: it starts when requeues
// outrun arrivals over the window, and lasts until they fall under half
// the arrival rate. It keeps the storm's first start and its peak rate.
type stormWatch struct {
	on       bool
	seen     bool
	start    time.Duration
	peakRate float64 // requeues per model minute, over the window
}

func (w stormWatch) next(s series.Sample, r series.Rates) (stormWatch, *series.Change) {
	w.peakRate = max(w.peakRate, r.Requeues)
	on := r.Requeues > 0 && (r.Requeues > r.Arrivals || (w.on && r.Requeues > r.Arrivals/2))
	var c *series.Change
	switch {
	case on && !w.on:
		if !w.seen {
			w.seen, w.start = true, s.T
		}
		c = &series.Change{Event: "requeue_storm", Value: r.Requeues, Detail: "jobs are requeued faster than they arrive"}
	case !on && w.on:
		c = &series.Change{Event: "requeue_storm_over", Value: r.Requeues}
	}
	w.on = on
	return w, c
}

// StormStats says whether a requeue storm happened, when it began and how
// high it peaked.
type StormStats struct {
	Happened bool
	Start    time.Duration // the first sample at which requeues outran arrivals over the window
	PeakRate float64       // the highest requeue rate over the window, per model minute
}

func (w stormWatch) stats() StormStats {
	return StormStats{Happened: w.seen, Start: w.start, PeakRate: w.peakRate}
}
