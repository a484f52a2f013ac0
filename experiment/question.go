package experiment

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/format"
	"vmstorm/scenario"
	"vmstorm/series"
)

// Recovery is the metastability question: once the trigger is removed (by
// the first of the RemovedBy entries to happen in a run), does the run
// return to healthy by itself, and stay so, with no other action?
type Recovery struct {
	// RemovedBy names the timeline entries that remove the trigger: an
	// entry's id, or an action, which names every entry of it.
	RemovedBy []string
	// Within is the time a run has to be healthy again after the removal
	// to count as recovered.
	Within time.Duration
	// Horizon is the window the question covers after the removal: the
	// control must be healthy, and the run is judged, from the start of
	// the run to the removal plus Horizon. 0: to the run's end.
	Horizon time.Duration
	// Load, if Constant, holds the arrivals at a constant rate from the
	// removal for Horizon (the hysteresis test: the night lull cannot
	// rescue a run).
	Load RecoveryLoad
	// Trend is the trailing window over which the trend of a run still
	// unhealthy at the window's end is estimated.
	Trend time.Duration
}

// RecoveryLoad is the arrivals a recovery question holds after the removal.
type RecoveryLoad struct {
	Constant bool
	// Factor is the constant rate as a factor of workload.arrival_rate
	// (the daily peak, under a traffic curve); with Mean, the curve's mean
	// over a week instead (WeekMean).
	Factor float64
	Mean   bool
}

// String writes the load as a file does.
func (l RecoveryLoad) String() string {
	switch {
	case !l.Constant:
		return "the traffic curve"
	case l.Mean:
		return "constant at the curve's weekly mean"
	case l.Factor == 1:
		return "constant at the arrival rate (the daily peak)"
	}
	return fmt.Sprintf("constant at %s × the arrival rate", format.Figure(l.Factor))
}

// Asked reports whether the experiment asks the question.
func (r Recovery) Asked() bool { return len(r.RemovedBy) > 0 }

// Removes reports whether a timeline entry, by its id or its action, is
// one that removes the trigger.
func (r Recovery) Removes(id, action string) bool {
	return (id != "" && slices.Contains(r.RemovedBy, id)) || slices.Contains(r.RemovedBy, action)
}

// IsRemoval reports whether a run's mark is of an entry that removes the
// trigger.
func (r Recovery) IsRemoval(m series.Mark) bool { return r.Removes(m.ID, m.Name) }

// TriggerRemoved is when the first entry that removes the trigger
// happened in a run, from its marks (so that an entry placed after
// detection counts when it came), and false if none did.
func (r Recovery) TriggerRemoved(marks []series.Mark) (time.Duration, bool) {
	for _, m := range marks {
		if r.IsRemoval(m) {
			return m.T, true
		}
	}
	return 0, false
}

// RemovedByText names the removal for people: "fix_cleanup_credentials or
// restart_janitor".
func (r Recovery) RemovedByText() string { return strings.Join(r.RemovedBy, " or ") }

// DefaultTrend is the trend's trailing window when a file gives none (or
// the horizon, if that is shorter).
const DefaultTrend = 6 * time.Hour

// Cycle reports whether, in a run of cfg, the arrivals follow a daily
// cycle in the question's window: a traffic curve with a night below its
// peak, and no constant load.
func (r Recovery) Cycle(cfg config.Config) bool {
	return !r.Load.Constant && cfg.Traffic != nil && cfg.Traffic.Night < 1
}

// removal is where the trigger's removal lies in a timeline: the entries
// that remove it, the earliest of them (by its time, or by its delay after
// detection), and whether that is timed from detection. ok is false if no
// entry removes it.
type removal struct {
	first          incident.Event
	afterDetection bool
}

// removalOf finds the removal in tl; an error if its entries are timed
// both ways (which comes first would depend on the run).
func (r Recovery) removalOf(tl incident.Timeline) (rm removal, ok bool, err error) {
	var fixed, detection []incident.Event
	for _, ev := range tl {
		if !r.Removes(ev.ID, ev.Action) {
			continue
		}
		if ev.AfterDetection {
			detection = append(detection, ev)
		} else {
			fixed = append(fixed, ev)
		}
	}
	earliest := func(evs []incident.Event) incident.Event {
		return slices.MinFunc(evs, func(a, b incident.Event) int { return int(a.At - b.At) })
	}
	switch {
	case len(fixed) > 0 && len(detection) > 0:
		return rm, false, fmt.Errorf("the trigger's removal has entries at model times (%s) and entries timed from detection (%s): which comes first would depend on the run",
			fixed[0].Action, detection[0].Action)
	case len(fixed) > 0:
		return removal{first: earliest(fixed)}, true, nil
	case len(detection) > 0:
		return removal{first: earliest(detection), afterDetection: true}, true, nil
	}
	return rm, false, nil
}

// RemovalAt is the model time of the trigger's removal in a run of cfg, if
// its entries are at model times; false if none removes it or they are
// timed from detection.
func (r Recovery) RemovalAt(cfg config.Config) (time.Duration, bool) {
	rm, ok, err := r.removalOf(cfg.FullTimeline())
	if !ok || err != nil || rm.afterDetection {
		return 0, false
	}
	return rm.first.At, true
}

// HasRemoval reports whether a run of cfg has an entry that removes the
// trigger (whether or not it happens: one timed from detection may not).
func (r Recovery) HasRemoval(cfg config.Config) bool {
	_, ok, _ := r.removalOf(cfg.FullTimeline())
	return ok
}

// ByItselfError says that a run of a variant cannot answer the question
// as asked: an entry of its timeline that is not part of the removal may
// come after it, or the removal cannot be placed. Entry is that entry,
// when there is one.
type ByItselfError struct {
	Entry *incident.Event
	Msg   string
	Hint  string
}

func (e *ByItselfError) Error() string { return e.Msg }

// CheckRun checks that a run of cfg can answer the question: that no
// timeline entry but the removal's own can come at or after the removal
// (an operators' action there would make the run's recovery not its own;
// a fault there would be a trigger again), and, under a constant load,
// that the removal is at a model time and the window within the run.
func (r Recovery) CheckRun(cfg config.Config) error {
	tl := cfg.FullTimeline()
	rm, ok, err := r.removalOf(tl)
	if err != nil {
		return &ByItselfError{Msg: err.Error(), Hint: "name entries in removed_by by their ids, timed the same way"}
	}
	if !ok {
		return nil // never removed: nothing to judge
	}
	// A run's first fault comes before its detection (the first alert at
	// or after it): an entry timed from detection comes no earlier than
	// the first fault plus its delay.
	firstFault := time.Duration(-1)
	for _, ev := range tl {
		if incident.IsFault(ev.Action) && !ev.AfterDetection && (firstFault < 0 || ev.At < firstFault) {
			firstFault = ev.At
		}
	}
	when := func(ev incident.Event) string {
		if ev.AfterDetection {
			return "detection + " + format.Duration(ev.At)
		}
		return format.Duration(ev.At) + " into the run"
	}
	for _, ev := range tl {
		if r.Removes(ev.ID, ev.Action) {
			continue
		}
		var after bool
		switch {
		case ev.AfterDetection == rm.afterDetection:
			after = ev.At >= rm.first.At
		case rm.afterDetection: // ev at a model time, the removal after detection
			// Detection comes at or after the first fault, and is seen at
			// a sample after it: what comes at the first fault or before
			// it comes first.
			after = firstFault < 0 || (ev.At > firstFault && ev.At >= firstFault+rm.first.At)
		default: // ev after detection, the removal at a model time: it may come first
			after = true
		}
		if after {
			ev := ev
			kind := "an operators' action"
			if incident.IsFault(ev.Action) {
				kind = "a fault"
			}
			return &ByItselfError{Entry: &ev,
				Msg: fmt.Sprintf("the entry %s at %s, %s, may come at or after the trigger's removal (%s at %s): the run would not recover by itself",
					entryName(ev), when(ev), kind, entryName(rm.first), when(rm.first)),
				Hint: "drop it, move it before the removal, or name it in recovery.removed_by if it is part of the removal"}
		}
	}
	if !r.Load.Constant {
		return nil // the window ends with the run, if not before
	}
	switch {
	case rm.afterDetection:
		return &ByItselfError{Msg: fmt.Sprintf("under load: constant the trigger's removal (%s) must be at a model time: a control, with no fault, has no detection to time it from", entryName(rm.first)),
			Hint: "give the removal a model time, or leave load out"}
	case rm.first.At+r.Horizon > cfg.Duration:
		return &ByItselfError{Msg: fmt.Sprintf("the run ends %s after the trigger's removal, before the horizon (%s)",
			format.Duration(cfg.Duration-rm.first.At), format.Duration(r.Horizon)), Hint: "lengthen the run (set: {duration: ...}), move the removal earlier, or shorten the horizon"}
	}
	return nil
}

// entryName names a timeline entry for people: its action, and its id if
// it has one.
func entryName(ev incident.Event) string {
	if ev.ID != "" {
		return ev.Action + " (" + ev.ID + ")"
	}
	return ev.Action
}

// Hold is cfg with the question's load: under a constant load, the
// arrivals held at the load's rate from the trigger's removal (at a model
// time: CheckRun) for the horizon. A control is held as its run is: from
// the time its run's removal is due.
func (r Recovery) Hold(cfg config.Config) config.Config {
	at, ok := r.RemovalAt(cfg)
	if !r.Load.Constant || !ok {
		return cfg
	}
	tr := config.Traffic{PeakHour: 12, Night: 1, Weekend: 1}
	if cfg.Traffic != nil {
		tr = *cfg.Traffic
		tr.Bursts = slices.Clone(tr.Bursts)
	}
	factor := r.Load.Factor
	if r.Load.Mean {
		factor = tr.WeekMean(cfg.Epoch)
	}
	tr.Hold = &config.Hold{From: at, For: r.Horizon, Factor: factor}
	cfg.Traffic = &tr
	return cfg
}

// parseLoadFactor reads load_factor: a number above 0, or "mean".
func parseLoadFactor(lit string) (factor float64, mean, ok bool) {
	lit = strings.TrimSpace(lit)
	if lit == "mean" {
		return 0, true, true
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || !(f > 0 && f <= config.MaxHoldFactor) {
		return 0, false, false
	}
	return f, false, true
}

// The recovery's keys, as an experiment file writes them.
const (
	keyRemovedBy  = "$.recovery.removed_by"
	keyWithin     = "$.recovery.within"
	keyHorizon    = "$.recovery.horizon"
	keyLoad       = "$.recovery.load"
	keyLoadFactor = "$.recovery.load_factor"
	keyTrend      = "$.recovery.trend"
)

// recovery converts the recovery's keys into r.
func (c *converter) recovery(r *Recovery, removedBy []string, within, horizon, load, loadFactor, trend string) {
	r.RemovedBy = removedBy
	given := within != "" || horizon != "" || load != "" || loadFactor != "" || trend != ""
	if len(removedBy) == 0 {
		if given {
			c.Fail("$.recovery", "the recovery names nothing in removed_by", "add removed_by: [the ids or actions of the entries that remove the trigger]")
		}
		return
	}
	for i, name := range removedBy {
		if slices.Contains(removedBy[:i], name) {
			c.Fail(fmt.Sprintf("%s[%d]", keyRemovedBy, i), fmt.Sprintf("%s is named twice", name), "name each entry or action once")
		}
	}
	r.Within = c.Duration(keyWithin, within, 0)
	if r.Within <= 0 && c.Err() == nil {
		c.Fail("$.recovery", "the recovery has no within", "add within: 12h, the time a run has to return to healthy by itself")
	}
	r.Horizon = c.Duration(keyHorizon, horizon, 0)
	def := DefaultTrend
	if r.Horizon > 0 {
		def = min(def, r.Horizon)
	}
	r.Trend = c.Duration(keyTrend, trend, def)
	switch load {
	case "":
	case "constant":
		r.Load = RecoveryLoad{Constant: true, Factor: 1}
	default:
		c.Fail(keyLoad, fmt.Sprintf("load %s: want constant, or leave it out for the traffic curve", scenario.Shown(load)), "load: constant holds the arrivals at a constant rate after the removal")
	}
	if loadFactor != "" {
		f, mean, ok := parseLoadFactor(loadFactor)
		switch {
		case !r.Load.Constant:
			c.Fail(keyLoadFactor, "load_factor without load: constant", "add load: constant, or remove load_factor")
		case !ok:
			c.Fail(keyLoadFactor, fmt.Sprintf("load_factor %s: want a number above 0 and at most %v, or mean", scenario.Shown(loadFactor), config.MaxHoldFactor),
				"1 holds the arrival rate (the daily peak), 0.5 half of it, mean the curve's weekly mean")
		}
		r.Load.Factor, r.Load.Mean = f, mean
	}
	switch {
	case c.Err() != nil:
	case r.Load.Constant && r.Horizon <= 0:
		c.Fail("$.recovery", "load: constant has no horizon", "add horizon: 24h, how long the load is held after the removal")
	case r.Horizon > 0 && r.Horizon < r.Within:
		c.Fail(keyHorizon, fmt.Sprintf("horizon %s is shorter than within (%s)", format.Duration(r.Horizon), format.Duration(r.Within)), "the window must hold the time a run has to recover")
	case r.Trend <= 0:
		c.Fail(keyTrend, "trend 0: want a window above 0", "6h, say: the trailing window the trend is taken over")
	case r.Horizon > 0 && r.Trend > r.Horizon:
		c.Fail(keyTrend, fmt.Sprintf("trend %s is longer than the horizon (%s)", format.Duration(r.Trend), format.Duration(r.Horizon)), "the trend is taken over the end of the window")
	}
}

// removedBy checks that every name in the recovery's removed_by is an
// action of the catalogue or the id of an entry of the experiment's
// timelines (the base's, the file's, or a variant's).
func (c *converter) removedBy(e *Experiment, base config.Config) {
	ids := map[string]bool{}
	for _, ev := range base.FullTimeline() {
		ids[ev.ID] = true
	}
	for _, v := range e.Variants {
		for _, ev := range v.Config.Timeline {
			ids[ev.ID] = true
		}
	}
	for i, name := range e.Recovery.RemovedBy {
		if _, ok := incident.Lookup(name); !ok && (name == "" || !ids[name]) {
			c.Fail(fmt.Sprintf("%s[%d]", keyRemovedBy, i), fmt.Sprintf("no timeline entry has the id %s, and no action is named so", scenario.Shown(name)),
				"name the entries that remove the trigger by their ids (id: in the timeline), or name an action, such as fix_cleanup_credentials")
			return
		}
	}
}

// checkRun checks that a run of cfg can answer the question
// (Recovery.CheckRun), and reports a mistake at the entry that cannot, if
// this file gave it, or else at path (a variant, or a sweep's value).
func (c *converter) checkRun(r Recovery, cfg config.Config, path string) {
	err := r.CheckRun(cfg)
	if err == nil {
		return
	}
	be := err.(*ByItselfError)
	if be.Entry != nil {
		if p, ok := c.EntryPath(*be.Entry); ok {
			path = p
		}
	}
	c.Fail(path, be.Msg, be.Hint)
}
