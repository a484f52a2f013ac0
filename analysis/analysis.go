// Package analysis judges a run from what it observed of itself: its
// samples and its timeline's events. From them alone, in one place, it
// derives every figure a person reads: the rates over the run's window,
// the alerts (rules with a for: and a keep_firing_for:, as Prometheus's),
// the incident's phases, the requeue storm, the incident's times (fault,
// detection, mitigation, recovery) and the scenario's checks. It has no
// goroutines and does no I/O: a series written to a CSV file today, read
// back tomorrow, is judged the same (see series.Read).
//
// An Analyzer is a series.Sink: the model feeds it samples and marks as the
// run goes, it hands each sample, judged, to its Watchers (the status line,
// the live view, the metrics, the CSV file) as a series.Row, and at the end
// Result sums the run up.
package analysis

import (
	"time"

	"vmstorm/config"
	"vmstorm/internal/vmstate"
	"vmstorm/series"
)

// Judges reports whether parameter p is one the analysis reads, besides
// the run's queues and epoch: the alert rules, the window and what counts
// as drained. Those judge a run; every other parameter only makes it.
func Judges(p config.Param) bool {
	return p.Section == config.SectionAlerts || p.Flag == "window" || p.Flag == "drained"
}

// Catalogue says what the analysis needs to know of a mark by its name:
// whether it is an entry of the timeline (timeline), rather than something
// the model did of itself (a breaker opening), and whether it injects a
// fault (fault). The catalogue of actions is the model's
// (incident.Classify): the analysis is handed it, and reads the samples
// and marks alone.
type Catalogue func(name string) (timeline, fault bool)

// Analyzer judges one run's samples as they come. Make one with New.
type Analyzer struct {
	cfg      config.Config
	actions  Catalogue
	watchers []series.Watcher

	window []series.Sample // samples back to the newest at least Window older than the last
	ring   []series.Sample // the array window is in, from its start
	last   series.Sample
	marks  []series.Mark
	held   held // the budget of marks, alerts' changes and phases kept

	alerts alertRules
	phases phaser
	storm  stormWatch
	full   bool
	checks []*evaluation

	fault     *series.Mark
	detection *Detection
	acted     bool // an event of the timeline has been applied
}

// New returns an Analyzer of a run of cfg, whose marks' actions it knows
// from the catalogue, that hands each judged sample to the watchers, and
// evaluates checks as it goes.
func New(cfg config.Config, actions Catalogue, checks []Check, watchers ...series.Watcher) *Analyzer {
	a := &Analyzer{cfg: cfg, actions: actions, watchers: watchers, held: held{limit: maxHeld}}
	a.alerts, a.phases = newAlertRules(cfg, &a.held), newPhaser(cfg, &a.held)
	for _, c := range checks {
		a.checks = append(a.checks, &evaluation{check: c, epoch: cfg.Epoch})
	}
	return a
}

// Mark takes a timeline event as it is applied, and passes it on.
func (a *Analyzer) Mark(m series.Mark) {
	if a.held.take(m.T) {
		a.marks = append(a.marks, m)
	}
	timeline, fault := a.actions(m.Name)
	if timeline {
		a.acted = true // the timeline's; not the model's own (a breaker's)
	}
	if a.fault == nil && fault {
		f := m
		a.fault = &f
	}
	for _, w := range a.watchers {
		w.Mark(m)
	}
}

// Sample judges s, and hands it on to the watchers.
func (a *Analyzer) Sample(s series.Sample) {
	row := a.judge(s)
	for _, w := range a.watchers {
		w.Row(row)
	}
}

// rates are per model minute over the window that ends at s: see
// RatesBetween, from the newest sample at least Window older (or from the
// start of the run, when every total was zero).
func (a *Analyzer) rates(s series.Sample) (series.Rates, series.Sample) {
	from := a.base(s)
	return RatesBetween(from, s), from
}

// RatesBetween is the one derivation of rates: the change in the run's
// totals from sample from to sample to, per model minute of the time
// between them (zero if none passed).
func RatesBetween(from, to series.Sample) series.Rates {
	minutes := (to.T - from.T).Minutes()
	if minutes <= 0 {
		return series.Rates{}
	}
	return series.Rates{
		Requeues:    float64(to.Requeues-from.Requeues) / minutes,
		Arrivals:    float64(to.Arrived-from.Arrived) / minutes,
		Completions: float64(to.Completed-from.Completed) / minutes,
	}
}

// push adds s to the window. The window moves along its array as it drops
// its oldest samples; at the array's end it moves back to its start, rather
// than grow a new array at every few dozen samples.
func (a *Analyzer) push(s series.Sample) {
	if len(a.window) == cap(a.window) && 2*len(a.window) <= cap(a.ring) {
		a.window = a.ring[:copy(a.ring, a.window)]
	}
	a.window = append(a.window, s)
	if cap(a.window) > cap(a.ring) { // a new array
		a.ring = a.window[:cap(a.window)]
	}
}

// base is the sample a window ending at s starts from; it keeps the window
// short as it goes.
func (a *Analyzer) base(s series.Sample) series.Sample {
	for len(a.window) > 1 && a.window[1].T <= s.T-a.cfg.Window {
		a.window = a.window[1:]
	}
	if len(a.window) == 0 || a.window[0].T > s.T-a.cfg.Window {
		return series.Sample{Capacity: s.Capacity} // the start: every total zero
	}
	return a.window[0]
}

func (a *Analyzer) judge(s series.Sample) series.Row {
	rates, from := a.rates(s)
	a.push(s)
	row := series.Row{Sample: s, Rates: rates}

	var changes []series.Change
	row.Firing, changes = a.alerts.evaluate(s, rates, changes)
	if a.fault != nil && a.detection == nil && s.T >= a.fault.T {
		// Detection is the first alert that fires at or after the fault:
		// one that fired before it, and resolved, counts when it fires
		// again. (From the changes, which are the alerts' only so far, not
		// from the events kept: it does not depend on the budget.)
		for _, c := range changes {
			if c.Event == eventAlertFiring {
				a.detection = &Detection{At: s.T, By: c.Name}
				break
			}
		}
	}
	var stormChange *series.Change
	a.storm, stormChange = a.storm.next(s, rates)
	if stormChange != nil {
		changes = append(changes, *stormChange)
	}
	row.Phase, changes = a.phases.next(phaseInput{
		Sample: s, Storm: a.storm.on,
		OrphansGrew: s.ByState[vmstate.Orphaned] - from.ByState[vmstate.Orphaned],
		Firing:      len(row.Firing) > 0,
		Marked:      a.acted,
	}, changes)
	full := s.Capacity > 0 && s.InUse >= s.Capacity
	switch {
	case full && !a.full:
		changes = append(changes, series.Change{Event: "cluster_full", Value: float64(s.InUse),
			Detail: "every new power-on will fail until a VM is destroyed"})
	case !full && a.full:
		changes = append(changes, series.Change{Event: "cluster_has_room", Value: float64(s.InUse)})
	}
	a.full = full
	row.Changes = changes

	for _, e := range a.checks {
		e.observe(s, a.detection)
	}
	a.last = s
	return row
}

// Detected is the model time of detection (the first alert at or after the
// first fault), once there is one: the analysis is the run's pager (see
// pipeline.Pager).
func (a *Analyzer) Detected() (time.Duration, bool) {
	if a.detection == nil {
		return 0, false
	}
	return a.detection.At, true
}

// Result is the run judged as a whole, from its first sample to its last;
// of part of it if Err is not nil.
func (a *Analyzer) Result() Result {
	r := Result{
		Phases:     a.phases.table(),
		Storm:      a.storm.stats(),
		FirstFired: a.alerts.firstFired(),
		Alerts:     append([]AlertEvent(nil), a.alerts.events...),
		Marks:      append([]series.Mark(nil), a.marks...),
		End:        a.last.T,
		Totals:     a.last,
	}
	r.Incident = incidentStats(a.actions, a.fault, a.detection, a.marks, r.Phases)
	for _, e := range a.checks {
		r.Checks = append(r.Checks, e.result(r))
	}
	return r
}

// Result is what the analysis says of a whole run.
type Result struct {
	Phases   []PhaseStats
	Storm    StormStats
	Incident IncidentStats
	// FirstFired is when each alert that fired first fired; Alerts is every
	// alert firing and resolving, in order.
	FirstFired map[string]time.Duration
	Alerts     []AlertEvent
	Marks      []series.Mark
	Checks     []CheckResult
	End        time.Duration // the last sample's model time
	Totals     series.Sample // the last sample: the run's totals at its end
}

// Detection is the first alert to fire at or after the fault.
type Detection struct {
	At time.Duration
	By string
}

// IncidentStats times the incident: from its first fault to detection (the
// first alert that fired at or after it), to mitigation (the first
// operator's action at or after detection), and to recovery (the start of
// the run's last phase, if it is "recovered").
type IncidentStats struct {
	FaultAt, DetectedAt, MitigatedAt, RecoveredAt time.Duration
	Faulted, Detected, Mitigated, Recovered       bool
	DetectedBy                                    string // the first alert
}

func incidentStats(actions Catalogue, fault *series.Mark, d *Detection, marks []series.Mark, phases []PhaseStats) IncidentStats {
	var in IncidentStats
	if fault == nil {
		return in
	}
	in.FaultAt, in.Faulted = fault.T, true
	if d == nil {
		return in
	}
	in.DetectedAt, in.DetectedBy, in.Detected = d.At, d.By, true
	// Mitigation is the operators' first action once they know: actions
	// before detection (a supervisor restarting workers) do not count.
	for _, m := range marks {
		if timeline, fault := actions(m.Name); m.T >= d.At && timeline && !fault { // an operators' action
			in.MitigatedAt, in.Mitigated = m.T, true
			break
		}
	}
	if n := len(phases); n > 0 && phases[n-1].Name == PhaseRecovered {
		in.RecoveredAt, in.Recovered = phases[n-1].Start, true
	}
	return in
}

// Replay judges a series read back from a file (series.Read) as a run of
// cfg: the marks go in before the rows at their model times, as the run
// applied them. Result is what the run's own analysis said of it. Replay
// is for a series held whole, so within the budget (MaxHeld); past it,
// Replay panics with the Analyzer's Err rather than judge part of it (a
// series too long to hold is judged a row at a time, with a Replayer).
func Replay(cfg config.Config, actions Catalogue, checks []Check, rows []series.Row, marks []series.Mark) Result {
	p := NewReplayer(cfg, actions, checks)
	p.marks = marks
	for _, r := range rows {
		if err := p.Row(r, nil); err != nil {
			panic("analysis.Replay: " + err.Error())
		}
	}
	r := p.Result()
	if err := p.Err(); err != nil {
		panic("analysis.Replay: " + err.Error())
	}
	return r
}

// Replayer is Replay a row at a time (series.Each), for a series too long
// to hold.
type Replayer struct {
	a     *Analyzer
	marks []series.Mark // read, not yet given to a
}

// NewReplayer starts judging a series as a run of cfg, whose marks' actions
// it knows from the catalogue.
func NewReplayer(cfg config.Config, actions Catalogue, checks []Check) *Replayer {
	return &Replayer{a: New(cfg, actions, checks)}
}

// Row takes the next row and the marks written with it. It returns the
// Analyzer's Err once the marks, alerts' changes and phases to hold, with
// the marks read and not yet due, pass the budget (MaxHeld): the series is
// then not to be judged.
func (p *Replayer) Row(r series.Row, marks []series.Mark) error {
	p.marks = append(p.marks, marks...)
	for len(p.marks) > 0 && p.marks[0].T <= r.T {
		p.a.Mark(p.marks[0])
		p.marks = p.marks[1:]
	}
	if h := &p.a.held; len(p.marks) > h.limit-h.used {
		h.refuse(p.marks[len(p.marks)-1].T)
		p.marks = nil // they will not be judged
	}
	p.a.Sample(r.Sample)
	return p.a.Err()
}

// Err is the Analyzer's Err: nil while everything given is held.
func (p *Replayer) Err() error { return p.a.Err() }

// Result is the judgement of the rows so far (the marks after the last
// row go in at the end); of part of them if Err is not nil.
func (p *Replayer) Result() Result {
	for _, m := range p.marks {
		p.a.Mark(m)
	}
	p.marks = nil
	return p.a.Result()
}
