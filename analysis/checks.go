package analysis

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"vmstorm/internal/format"
	"vmstorm/internal/vmstate"
	"vmstorm/series"
)

// Check is one faithfulness check of a scenario: a figure of the run, at a
// model time or over a span of it, against what the incident's report says
// (scenario files write them; docs/scenarios.md has the keys). A check is
// one of four kinds: a metric check (Metric and Stat, with At or From/To,
// Min and/or Max, and for a delta optionally Per), a detection check
// (Detected), a phase check (PhaseSeen), or an alert-band check
// (AlertBand, over From/To).
//
// A check names the Causes it depends on: the mechanisms of the incident
// without any one of which it must fail. A check that no removable cause
// makes hold (it restates the inputs the scenario was tuned with) is a
// Calibration instead.
type Check struct {
	Name        string
	Causes      []string
	Calibration bool
	Metric      string
	Stat        string // at, max, min or delta
	Per         string // delta only: divided by the delta of this metric
	At          Moment
	From, To    Moment
	Min, Max    *float64
	Detected    *Detected
	PhaseSeen   string
	AlertBand   *AlertBand
	// Band is the VM-count alert's band, [Band[0], Band[1]] (0 for no top),
	// for an alert-band check.
	Band [2]int64
}

// Detected checks when the first alert after the fault fired, and, if
// Alert is set, that it was that alert.
type Detected struct {
	NotBefore, By time.Duration
	Alert         string
}

// AlertBand checks figures against the VM-count alert's band over a span:
// Inside stays in the band at every sample (the alert sees nothing wrong),
// and Above rises over the band's top at some sample.
type AlertBand struct {
	Inside, Above string
}

// Moment is a model time, or the time of detection, or the end of the run,
// or none (Absent: the start, for From; the end, for To).
type Moment struct {
	T                      time.Duration
	Detection, End, Absent bool
}

// Metrics are the figures a check can read from a sample.
var Metrics = map[string]func(series.Sample) float64{
	"vms_true":        func(s series.Sample) float64 { return float64(s.VMs) },
	"vms_reported":    func(s series.Sample) float64 { return float64(s.ReportedVMs) },
	"in_use":          func(s series.Sample) float64 { return float64(s.InUse) },
	"free_slots":      func(s series.Sample) float64 { return float64(s.Capacity - s.InUse) },
	"cpu_in_use":      func(s series.Sample) float64 { return float64(s.CPUInUse) },
	"backlog":         func(s series.Sample) float64 { return float64(s.Backlog) },
	"oldest_wait_min": func(s series.Sample) float64 { return s.OldestWait.Minutes() },
	"never_booted":    func(s series.Sample) float64 { return float64(s.ByState[vmstate.NeverBooted]) },
	"orphaned":        func(s series.Sample) float64 { return float64(s.ByState[vmstate.Orphaned]) },
	"finished":        func(s series.Sample) float64 { return float64(s.ByState[vmstate.Finished]) },
	"requeues":        func(s series.Sample) float64 { return float64(s.Requeues) },
	"completed":       func(s series.Sample) float64 { return float64(s.Completed) },
	"arrived":         func(s series.Sample) float64 { return float64(s.Arrived) },
	"failed":          func(s series.Sample) float64 { return float64(s.Failed) },
	"rate_limited":    func(s series.Sample) float64 { return float64(s.RateLimited) },
	// The mitigations' (docs/mitigations.md).
	"failed_by_budget": func(s series.Sample) float64 { return float64(s.FailedByBudget) },
	"shed":             func(s series.Sample) float64 { return float64(s.Shed) },
	"backing_off":      func(s series.Sample) float64 { return float64(s.BackingOff) },
	"breaker_state":    func(s series.Sample) float64 { return float64(s.Breaker) },
	"reaped":           func(s series.Sample) float64 { return float64(s.Reaped) },
	"janitor_age_min":  func(s series.Sample) float64 { return s.JanitorAge.Minutes() },
}

// MetricNames lists the metrics, sorted.
func MetricNames() []string {
	names := make([]string, 0, len(Metrics))
	for n := range Metrics {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// CheckResult is one check, done.
type CheckResult struct {
	Check Check
	OK    bool
	// Model is the model's figure, in words; Want is what the check
	// requires, in words.
	Model, Want string
	// Value is the figure a metric check judged, if it had one (HasValue).
	Value    float64
	HasValue bool
}

// evaluation follows one check through a run, sample by sample: it keeps
// what the check needs (a sample at a moment, the first and last of a
// span, a running extreme), never the series.
type evaluation struct {
	check Check
	epoch time.Time

	at          *series.Sample // stat at: the sample at the moment
	first, last *series.Sample // the span's
	lo, hi      float64        // the span's extremes of the metric (or of Inside)
	outAt       *time.Duration // alert band: the first sample out of the band (Inside)
	aboveAt     *time.Duration // alert band: the first sample above it (Above)
	aboveLo     float64
	aboveHi     float64
	spanClosed  bool
}

// observe takes the next sample; d is the detection, once there is one.
func (e *evaluation) observe(s series.Sample, d *Detection) {
	c := e.check
	if c.Metric != "" && c.Stat == "at" {
		switch m := c.At; {
		case m.End:
			e.at = keep(e.at, s)
		case m.Detection:
			if d != nil && e.at == nil {
				e.at = keep(e.at, s)
			}
		case s.T <= m.T:
			e.at = keep(e.at, s)
		}
		return
	}
	if c.Metric == "" && c.AlertBand == nil {
		return // detection and phase checks read the result
	}
	if e.spanClosed || !e.inSpan(s, d) {
		return
	}
	metric := Metrics[c.Metric]
	if c.AlertBand != nil {
		metric = Metrics[c.AlertBand.Inside]
	}
	if e.first == nil {
		e.first = keep(nil, s)
		if metric != nil {
			e.lo, e.hi = metric(s), metric(s)
		}
		if c.AlertBand != nil && c.AlertBand.Above != "" {
			v := Metrics[c.AlertBand.Above](s)
			e.aboveLo, e.aboveHi = v, v
		}
	}
	e.last = keep(e.last, s)
	if metric != nil {
		e.lo, e.hi = min(e.lo, metric(s)), max(e.hi, metric(s))
	}
	if b := c.AlertBand; b != nil {
		lo, hi := c.Band[0], c.Band[1]
		if b.Inside != "" && e.outAt == nil {
			v := metric(s)
			if v < float64(lo) || (hi > 0 && v > float64(hi)) {
				t := s.T
				e.outAt = &t
			}
		}
		if b.Above != "" {
			v := Metrics[b.Above](s)
			e.aboveLo, e.aboveHi = min(e.aboveLo, v), max(e.aboveHi, v)
			if e.aboveAt == nil && hi > 0 && v > float64(hi) {
				t := s.T
				e.aboveAt = &t
			}
		}
	}
}

// keep is where an evaluation keeps s: in kept, if it has one, or in a new
// one. Only a sample kept is copied to the heap, not every one observed.
func keep(kept *series.Sample, s series.Sample) *series.Sample {
	if kept == nil {
		kept = new(series.Sample)
	}
	*kept = s
	return kept
}

// inSpan reports whether s is in the check's span from..to; a span that
// ends at detection closes once detection is passed.
func (e *evaluation) inSpan(s series.Sample, d *Detection) bool {
	c := e.check
	switch f := c.From; {
	case f.Detection:
		if d == nil || s.T < d.At {
			return false
		}
	case f.End:
		// a span from the end holds only the last sample: kept by result
	case !f.Absent && s.T < f.T:
		return false
	}
	switch t := c.To; {
	case t.Detection:
		if d != nil && s.T > d.At {
			e.spanClosed = true
			return false
		}
	case t.Absent || t.End:
	case s.T > t.T:
		e.spanClosed = true
		return false
	}
	return true
}

func (e *evaluation) clock(t time.Duration) string { return format.Minute(e.epoch, t) }

// result judges the check at the end of the run.
func (e *evaluation) result(r Result) CheckResult {
	c := e.check
	out := CheckResult{Check: c}
	switch {
	case c.Detected != nil:
		d := c.Detected
		out.Want = fmt.Sprintf("first alert between %s and %s", e.clock(d.NotBefore), e.clock(d.By))
		if d.Alert != "" {
			out.Want += ", " + d.Alert
		}
		if !r.Incident.Detected {
			out.Model = "no alert fired"
			return out
		}
		t := r.Incident.DetectedAt
		out.Model = fmt.Sprintf("%s fired at %s", r.Incident.DetectedBy, e.clock(t))
		out.OK = t >= d.NotBefore && t <= d.By && (d.Alert == "" || d.Alert == r.Incident.DetectedBy)
		return out
	case c.PhaseSeen != "":
		out.Want = fmt.Sprintf("a %q phase", c.PhaseSeen)
		var seen []string
		for _, ph := range r.Phases {
			seen = append(seen, ph.Name)
			out.OK = out.OK || ph.Name == c.PhaseSeen
		}
		out.Model = "phases: " + strings.Join(seen, ", ")
		return out
	case c.AlertBand != nil:
		return e.alertBand(out, r)
	}
	return e.metric(out, r)
}

// noSpan says why a span check has nothing to judge.
func (e *evaluation) noSpan(r Result) string {
	c := e.check
	if (c.From.Detection || c.To.Detection) && !r.Incident.Detected {
		return "no detection to measure from"
	}
	from, to := c.From.T, c.To.T
	if c.To.Absent || c.To.End {
		to = r.End
	}
	return fmt.Sprintf("no samples from %s to %s", e.clock(from), e.clock(to))
}

func (e *evaluation) alertBand(out CheckResult, r Result) CheckResult {
	c, b := e.check, e.check.AlertBand
	band := fmt.Sprintf("[%d, %d]", c.Band[0], c.Band[1])
	if c.Band[1] == 0 {
		band = fmt.Sprintf("[%d, no limit]", c.Band[0])
	}
	var want, model []string
	if b.Inside != "" {
		want = append(want, b.Inside+" inside the band "+band+" throughout")
	}
	if b.Above != "" {
		want = append(want, b.Above+" above it at some time")
	}
	out.Want = strings.Join(want, "; ")
	if e.first == nil {
		out.Model = e.noSpan(r)
		return out
	}
	out.OK = true
	if b.Inside != "" {
		fig := fmt.Sprintf("%s from %s to %s", b.Inside, format.Num(e.lo), format.Num(e.hi))
		if e.outAt != nil {
			fig += ", out of the band at " + e.clock(*e.outAt)
			out.OK = false
		}
		model = append(model, fig)
	}
	if b.Above != "" {
		fig := fmt.Sprintf("%s from %s to %s", b.Above, format.Num(e.aboveLo), format.Num(e.aboveHi))
		if e.aboveAt != nil {
			fig += ", above the band from " + e.clock(*e.aboveAt)
		} else {
			fig += ", never above the band"
			out.OK = false
		}
		model = append(model, fig)
	}
	out.Model = strings.Join(model, "; ") + fmt.Sprintf(" (%s to %s)", e.clock(e.first.T), e.clock(e.last.T))
	return out
}

func (e *evaluation) metric(out CheckResult, r Result) CheckResult {
	c := e.check
	metric := Metrics[c.Metric]
	out.Want = bounds(c.Min, c.Max)
	var value float64
	switch c.Stat {
	case "at":
		if e.at == nil {
			if c.At.Detection {
				out.Model = "no detection to measure at"
			} else {
				out.Model = "no sample at " + e.clock(c.At.T)
			}
			return out
		}
		value = metric(*e.at)
		out.Model = fmt.Sprintf("%s %s at %s", format.Num(value), c.Metric, e.clock(e.at.T))
	default:
		if e.first == nil {
			out.Model = e.noSpan(r)
			return out
		}
		first, last := *e.first, *e.last
		switch c.Stat {
		case "max":
			value = e.hi
		case "min":
			value = e.lo
		}
		name := c.Metric
		if c.Stat == "delta" {
			value = metric(last) - metric(first)
			if c.Per != "" {
				per := Metrics[c.Per]
				d := per(last) - per(first)
				if d <= 0 {
					out.Model = fmt.Sprintf("no %s from %s to %s", c.Per, e.clock(first.T), e.clock(last.T))
					return out
				}
				name = fmt.Sprintf("%s per %s (%s / %s)", c.Metric, c.Per, format.Num(value), format.Num(d))
				value /= d
			}
		}
		out.Model = fmt.Sprintf("%s of %s = %s, %s to %s", c.Stat, name, format.Num(value), e.clock(first.T), e.clock(last.T))
	}
	out.OK = (c.Min == nil || value >= *c.Min) && (c.Max == nil || value <= *c.Max)
	out.Value, out.HasValue = value, true
	return out
}

func bounds(lo, hi *float64) string {
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf("from %s to %s", format.Num(*lo), format.Num(*hi))
	case lo != nil:
		return "at least " + format.Num(*lo)
	default:
		return "at most " + format.Num(*hi)
	}
}

// Hold reports whether every result held, checks and calibrations alike.
func Hold(results []CheckResult) bool {
	for _, r := range results {
		if !r.OK {
			return false
		}
	}
	return true
}
