package scenario

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"vmstorm/cluster"
	"vmstorm/pipeline"
)

// Check is one faithfulness check of a scenario: a figure of the run, at a
// model time or over a span of it, against what the incident's report says.
//
// A check is one of four kinds: a metric check (Metric and Stat, with At
// or From/To, Min and/or Max, and for a delta optionally Per), a detection
// check (Detected), a phase check (PhaseSeen), or an alert-band check
// (AlertBand, over From/To).
//
// A check names the Causes it depends on: the mechanisms of the incident
// (see Causes) without any one of which it must fail. A check that no
// removable cause makes hold (it restates the inputs the scenario was
// tuned with) is a Calibration instead. Every check is one or the other.
type Check struct {
	Name        string     `yaml:"name"`
	Causes      []string   `yaml:"causes,omitempty"`
	Calibration bool       `yaml:"calibration,omitempty"`
	Metric      string     `yaml:"metric,omitempty"`
	Stat        string     `yaml:"stat,omitempty"` // at, max, min or delta
	Per         string     `yaml:"per,omitempty"`  // delta only: divided by the delta of this metric
	At          string     `yaml:"at,omitempty"`   // a time, "detection" or "end"
	From        string     `yaml:"from,omitempty"`
	To          string     `yaml:"to,omitempty"`
	Min         *float64   `yaml:"min,omitempty"`
	Max         *float64   `yaml:"max,omitempty"`
	Detected    *Detected  `yaml:"detected,omitempty"`
	PhaseSeen   string     `yaml:"phase_seen,omitempty"`
	AlertBand   *AlertBand `yaml:"alert_band,omitempty"`

	at, from, to moment
	notBefore    time.Duration
	by           time.Duration
}

// Detected checks when the first alert after the fault fired, and, if
// Alert is set, that it was that alert.
type Detected struct {
	NotBefore string `yaml:"not_before"`
	By        string `yaml:"by"`
	Alert     string `yaml:"alert,omitempty"`
}

// AlertBand checks figures against the VM-count alert's band,
// [alerts.vm_count_min, alerts.vm_count_max], over a span: Inside stays in
// the band at every sample (the alert sees nothing wrong), and Above rises
// over the band's top at some sample.
type AlertBand struct {
	Inside string `yaml:"inside,omitempty"`
	Above  string `yaml:"above,omitempty"`
}

// moment is a model time, or the time of detection, or the end of the run.
type moment struct {
	t           time.Duration
	detection   bool
	end, absent bool
}

// metrics are the figures a check can read from a sample.
var metrics = map[string]func(pipeline.Sample) float64{
	"vms_true":        func(s pipeline.Sample) float64 { return float64(s.VMs) },
	"vms_reported":    func(s pipeline.Sample) float64 { return float64(s.ReportedVMs) },
	"in_use":          func(s pipeline.Sample) float64 { return float64(s.InUse) },
	"cpu_in_use":      func(s pipeline.Sample) float64 { return float64(s.CPUInUse) },
	"backlog":         func(s pipeline.Sample) float64 { return float64(s.Backlog) },
	"oldest_wait_min": func(s pipeline.Sample) float64 { return s.OldestWait.Minutes() },
	"never_booted":    func(s pipeline.Sample) float64 { return float64(s.ByState[cluster.NeverBooted]) },
	"orphaned":        func(s pipeline.Sample) float64 { return float64(s.ByState[cluster.Orphaned]) },
	"finished":        func(s pipeline.Sample) float64 { return float64(s.ByState[cluster.Finished]) },
	"requeues":        func(s pipeline.Sample) float64 { return float64(s.Requeues) },
	"completed":       func(s pipeline.Sample) float64 { return float64(s.Completed) },
	"arrived":         func(s pipeline.Sample) float64 { return float64(s.Arrived) },
	"failed":          func(s pipeline.Sample) float64 { return float64(s.Failed) },
	"rate_limited":    func(s pipeline.Sample) float64 { return float64(s.RateLimited) },
}

func metricNames() string {
	return "vms_true, vms_reported, in_use, cpu_in_use, backlog, oldest_wait_min, never_booted, orphaned, finished, requeues, completed, arrived, failed, rate_limited"
}

// alerts are the alerts a detection check can name.
var alerts = []string{pipeline.AlertVMCount, pipeline.AlertRequeueRate, pipeline.AlertBacklogAge}

func (c *converter) moment(path, v string) moment {
	switch v {
	case "":
		return moment{absent: true}
	case "detection":
		return moment{detection: true}
	case "end":
		return moment{end: true}
	}
	return moment{t: c.instant(path, v)}
}

func (c *converter) checks(in []Check) []Check {
	out := make([]Check, len(in))
	for i, ch := range in {
		p := fmt.Sprintf("$.checks[%d]", i)
		if ch.Name == "" {
			c.fail(p, "the check has no name", "say in a few words what the incident's report says")
		}
		c.checkCauses(p, ch)
		kinds := 0
		for _, set := range []bool{ch.Metric != "", ch.Detected != nil, ch.PhaseSeen != "", ch.AlertBand != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			c.fail(p, "a check needs exactly one of metric, detected, phase_seen or alert_band", "see docs/scenarios.md")
		}
		if ch.At != "" && (ch.From != "" || ch.To != "") {
			c.fail(p+".at", "the check has both at and from/to", "a check measures at one time (at) or over a span (from, to), not both")
		}
		if ch.Metric == "" {
			for _, key := range []struct{ name, v string }{{"stat", ch.Stat}, {"per", ch.Per}} {
				if key.v != "" {
					c.fail(p+"."+key.name, key.name+" is for a metric check", "remove it, or add metric:")
				}
			}
			if ch.Min != nil || ch.Max != nil {
				c.fail(p, "min and max are for a metric check", "remove them, or add metric:")
			}
		}
		switch {
		case ch.Metric != "":
			c.metricCheck(p, &ch)
		case ch.Detected != nil:
			c.noSpan(p, ch, "detected")
			ch.notBefore = c.instant(p+".detected.not_before", ch.Detected.NotBefore)
			ch.by = c.instant(p+".detected.by", ch.Detected.By)
			if a := ch.Detected.Alert; a != "" && !slices.Contains(alerts, a) {
				c.fail(p+".detected.alert", fmt.Sprintf("no alert %q", a), "the alerts are "+strings.Join(alerts, ", "))
			}
		case ch.PhaseSeen != "":
			c.noSpan(p, ch, "phase_seen")
		case ch.AlertBand != nil:
			if ch.At != "" {
				c.fail(p+".at", "an alert_band check takes from and to, not at", "use from: and to:")
			}
			b := ch.AlertBand
			if b.Inside == "" && b.Above == "" {
				c.fail(p+".alert_band", "the alert band check has neither inside nor above", "name the metric that stays in the band (inside), or rises above it (above), or both")
			}
			for _, m := range []struct{ key, name string }{{"inside", b.Inside}, {"above", b.Above}} {
				if _, ok := metrics[m.name]; m.name != "" && !ok {
					c.fail(p+".alert_band."+m.key, fmt.Sprintf("no metric %q", m.name), "the metrics are "+metricNames())
				}
			}
			ch.from, ch.to = c.moment(p+".from", ch.From), c.moment(p+".to", ch.To)
		}
		out[i] = ch
	}
	return out
}

// checkCauses checks that the check names causes from the catalogue, or
// says it is a calibration: one or the other.
func (c *converter) checkCauses(p string, ch Check) {
	switch {
	case len(ch.Causes) > 0 && ch.Calibration:
		c.fail(p+".calibration", "the check names causes and is a calibration", "a check with a cause to remove is not a calibration: drop one of the two")
	case len(ch.Causes) == 0 && !ch.Calibration:
		c.fail(p, "the check names no causes and is not a calibration",
			"add causes: [...] (the mechanisms without which it must fail: "+causeNames()+"), or calibration: true if it only restates the inputs")
	}
	for j, name := range ch.Causes {
		if _, ok := LookupCause(name); !ok {
			c.fail(fmt.Sprintf("%s.causes[%d]", p, j), fmt.Sprintf("no cause %q", name), "the causes are "+causeNames())
		}
		if slices.Index(ch.Causes, name) != j {
			c.fail(fmt.Sprintf("%s.causes[%d]", p, j), fmt.Sprintf("the cause %s is named twice", name), "name each cause once")
		}
	}
}

func (c *converter) metricCheck(p string, ch *Check) {
	if _, ok := metrics[ch.Metric]; !ok {
		c.fail(p+".metric", fmt.Sprintf("no metric %q", ch.Metric), "the metrics are "+metricNames())
	}
	if ch.Min == nil && ch.Max == nil {
		c.fail(p, "the check has neither min nor max", "give the bounds the report implies")
	}
	ch.at, ch.from, ch.to = c.moment(p+".at", ch.At), c.moment(p+".from", ch.From), c.moment(p+".to", ch.To)
	switch ch.Stat {
	case "at":
		if ch.at.absent {
			c.fail(p, "stat at needs at", "add at: with a time, detection or end")
		}
	case "max", "min", "delta":
		if !ch.at.absent {
			c.fail(p+".at", "stat "+ch.Stat+" takes from and to, not at", "use from: and to:, or stat: at")
		}
	default:
		c.fail(p+".stat", fmt.Sprintf("no stat %q", ch.Stat), "the stats are at, max, min and delta")
	}
	if ch.Per != "" {
		if _, ok := metrics[ch.Per]; !ok {
			c.fail(p+".per", fmt.Sprintf("no metric %q", ch.Per), "the metrics are "+metricNames())
		}
		if ch.Stat != "delta" {
			c.fail(p+".per", "per is for stat delta", "use stat: delta, or remove per")
		}
	}
}

// noSpan rejects at, from and to on a check of a kind that takes its times
// elsewhere.
func (c *converter) noSpan(p string, ch Check, kind string) {
	for _, key := range []struct{ name, v string }{{"at", ch.At}, {"from", ch.From}, {"to", ch.To}} {
		if key.v != "" {
			c.fail(p+"."+key.name, fmt.Sprintf("a %s check takes no %s", kind, key.name), "remove it; docs/scenarios.md gives each kind's keys")
		}
	}
}

// checkAgainst checks what a scenario's checks need of its configuration:
// each cause a check names is in the scenario (taking it out changes
// something), and an alert band check has a band to judge by.
func (c *converter) checkAgainst(s *Scenario) {
	for i, ch := range s.Checks {
		p := fmt.Sprintf("$.checks[%d]", i)
		for j, name := range ch.Causes {
			if cause, ok := LookupCause(name); ok && !cause.In(s.Config) {
				c.fail(fmt.Sprintf("%s.causes[%d]", p, j), fmt.Sprintf("the scenario does not have the cause %s: removing it (%s) changes nothing", name, cause.Doc),
					"name only causes of this scenario")
			}
		}
		a := s.Config.Alerts
		switch b := ch.AlertBand; {
		case b == nil:
		case a.VMCountMin == 0 && a.VMCountMax == 0:
			c.fail(p+".alert_band", "the alert band check has no band: the VM-count alert is off", "set alerts.vm_count_min and/or vm_count_max")
		case b.Above != "" && a.VMCountMax == 0:
			c.fail(p+".alert_band.above", "the VM-count band has no top to rise above", "set alerts.vm_count_max")
		}
	}
}

// Result is one check, done.
type Result struct {
	Check Check
	OK    bool
	// Model is the model's figure, in words.
	Model string
	// Want is what the check requires, in words.
	Want string
}

// Evaluate runs the checks against a run's summary.
func (s *Scenario) Evaluate(sum *pipeline.Summary) []Result {
	out := make([]Result, len(s.Checks))
	for i, ch := range s.Checks {
		out[i] = ch.evaluate(sum)
	}
	return out
}

// Hold reports whether every result held, checks and calibrations alike.
func Hold(results []Result) bool {
	for _, r := range results {
		if !r.OK {
			return false
		}
	}
	return true
}

func (ch Check) evaluate(sum *pipeline.Summary) Result {
	switch {
	case ch.Detected != nil:
		return ch.detected(sum)
	case ch.PhaseSeen != "":
		return ch.phaseSeen(sum)
	case ch.AlertBand != nil:
		return ch.alertBand(sum)
	}
	return ch.metric(sum)
}

// when is the model time of a moment in a run, def if it is absent; false
// if it is the detection and nothing was detected.
func when(sum *pipeline.Summary, m moment, def time.Duration) (time.Duration, bool) {
	switch {
	case m.absent:
		return def, true
	case m.end:
		return sum.Model, true
	case m.detection:
		return sum.Incident.DetectedAt, sum.Incident.Detected
	}
	return m.t, true
}

// span is the samples from..to of a run, or a reason there are none.
func (ch Check) span(sum *pipeline.Summary) ([]pipeline.Sample, string) {
	from, ok1 := when(sum, ch.from, 0)
	to, ok2 := when(sum, ch.to, sum.Model)
	if !ok1 || !ok2 {
		return nil, "no detection to measure from"
	}
	var out []pipeline.Sample
	for _, smp := range sum.Series {
		if smp.T >= from && smp.T <= to {
			out = append(out, smp)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Sprintf("no samples from %s to %s", clock(sum, from), clock(sum, to))
	}
	return out, ""
}

func (ch Check) detected(sum *pipeline.Summary) Result {
	r := Result{Check: ch}
	r.Want = fmt.Sprintf("first alert between %s and %s", clock(sum, ch.notBefore), clock(sum, ch.by))
	if ch.Detected.Alert != "" {
		r.Want += ", " + ch.Detected.Alert
	}
	if !sum.Incident.Detected {
		r.Model = "no alert fired"
		return r
	}
	t := sum.Incident.DetectedAt
	r.Model = fmt.Sprintf("%s fired at %s", sum.Incident.DetectedBy, clock(sum, t))
	r.OK = t >= ch.notBefore && t <= ch.by && (ch.Detected.Alert == "" || ch.Detected.Alert == sum.Incident.DetectedBy)
	return r
}

func (ch Check) phaseSeen(sum *pipeline.Summary) Result {
	r := Result{Check: ch, Want: fmt.Sprintf("a %q phase", ch.PhaseSeen)}
	var seen []string
	for _, ph := range sum.Phases {
		seen = append(seen, ph.Name)
		if ph.Name == ch.PhaseSeen {
			r.OK = true
		}
	}
	r.Model = "phases: " + strings.Join(seen, ", ")
	return r
}

func (ch Check) alertBand(sum *pipeline.Summary) Result {
	r := Result{Check: ch}
	lo, hi := sum.Config.Alerts.VMCountMin, sum.Config.Alerts.VMCountMax
	inBand := func(v float64) bool { return v >= float64(lo) && (hi == 0 || v <= float64(hi)) }
	above := func(v float64) bool { return hi > 0 && v > float64(hi) }
	band := fmt.Sprintf("[%d, %d]", lo, hi)
	if hi == 0 {
		band = fmt.Sprintf("[%d, no limit]", lo)
	}
	b := ch.AlertBand
	var want, model []string
	if b.Inside != "" {
		want = append(want, b.Inside+" inside the band "+band+" throughout")
	}
	if b.Above != "" {
		want = append(want, b.Above+" above it at some time")
	}
	r.Want = strings.Join(want, "; ")
	samples, none := ch.span(sum)
	if samples == nil {
		r.Model = none
		return r
	}
	// scan describes a metric's range over the span, and finds the first
	// sample at which it meets cond.
	scan := func(name string, cond func(float64) bool) (string, *pipeline.Sample) {
		f := metrics[name]
		lowest, highest := f(samples[0]), f(samples[0])
		var first *pipeline.Sample
		for i, smp := range samples {
			lowest, highest = min(lowest, f(smp)), max(highest, f(smp))
			if first == nil && cond(f(smp)) {
				first = &samples[i]
			}
		}
		return fmt.Sprintf("%s from %s to %s", name, num(lowest), num(highest)), first
	}
	r.OK = true
	if b.Inside != "" {
		fig, out := scan(b.Inside, func(v float64) bool { return !inBand(v) })
		if out != nil {
			fig += ", out of the band at " + clock(sum, out.T)
			r.OK = false
		}
		model = append(model, fig)
	}
	if b.Above != "" {
		fig, over := scan(b.Above, above)
		if over != nil {
			fig += ", above the band from " + clock(sum, over.T)
		} else {
			fig += ", never above the band"
			r.OK = false
		}
		model = append(model, fig)
	}
	r.Model = strings.Join(model, "; ") + fmt.Sprintf(" (%s to %s)", clock(sum, samples[0].T), clock(sum, samples[len(samples)-1].T))
	return r
}

func (ch Check) metric(sum *pipeline.Summary) Result {
	r := Result{Check: ch}
	metric := metrics[ch.Metric]
	r.Want = bounds(ch.Min, ch.Max)
	var value float64
	switch ch.Stat {
	case "at":
		t, ok := when(sum, ch.at, 0)
		if !ok {
			r.Model = "no detection to measure at"
			return r
		}
		smp, ok := sampleAt(sum.Series, t)
		if !ok {
			r.Model = "no sample at " + clock(sum, t)
			return r
		}
		value = metric(smp)
		r.Model = fmt.Sprintf("%s %s at %s", num(value), ch.Metric, clock(sum, smp.T))
	default:
		samples, none := ch.span(sum)
		if samples == nil {
			r.Model = none
			return r
		}
		first, last := samples[0], samples[len(samples)-1]
		value = metric(first)
		for _, smp := range samples[1:] {
			switch ch.Stat {
			case "max":
				value = max(value, metric(smp))
			case "min":
				value = min(value, metric(smp))
			}
		}
		name := ch.Metric
		if ch.Stat == "delta" {
			value = metric(last) - metric(first)
			if ch.Per != "" {
				per := metrics[ch.Per]
				d := per(last) - per(first)
				if d <= 0 {
					r.Model = fmt.Sprintf("no %s from %s to %s", ch.Per, clock(sum, first.T), clock(sum, last.T))
					return r
				}
				name = fmt.Sprintf("%s per %s (%s / %s)", ch.Metric, ch.Per, num(value), num(d))
				value /= d
			}
		}
		r.Model = fmt.Sprintf("%s of %s = %s, %s to %s", ch.Stat, name, num(value), clock(sum, first.T), clock(sum, last.T))
	}
	r.OK = (ch.Min == nil || value >= *ch.Min) && (ch.Max == nil || value <= *ch.Max)
	return r
}

// sampleAt is the last sample at or before t.
func sampleAt(series []pipeline.Sample, t time.Duration) (pipeline.Sample, bool) {
	var out pipeline.Sample
	found := false
	for _, s := range series {
		if s.T > t {
			break
		}
		out, found = s, true
	}
	return out, found
}

func bounds(lo, hi *float64) string {
	switch {
	case lo != nil && hi != nil:
		return fmt.Sprintf("from %s to %s", num(*lo), num(*hi))
	case lo != nil:
		return "at least " + num(*lo)
	default:
		return "at most " + num(*hi)
	}
}

func num(v float64) string {
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d", int64(v))
	}
	return fmt.Sprintf("%.1f", v)
}

func clock(sum *pipeline.Summary, t time.Duration) string {
	if !sum.Config.Epoch.IsZero() {
		return sum.Config.Epoch.Add(t).UTC().Format("2006-01-02 15:04")
	}
	return "T+" + t.Round(time.Minute).String()
}

// FormatResults writes the checks as a table, the model's figure beside
// what the report says and the causes each depends on; then, apart, the
// calibrations.
func FormatResults(w io.Writer, name string, results []Result) error {
	if len(results) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	var checks, calibrations []Result
	for _, r := range results {
		if r.Check.Calibration {
			calibrations = append(calibrations, r)
		} else {
			checks = append(checks, r)
		}
	}
	table := func(title, noun string, rs []Result) {
		if len(rs) == 0 {
			return
		}
		fmt.Fprintf(tw, "\n%s\tmodel\twant\tcauses\n", title)
		passed := 0
		for _, r := range rs {
			mark := "FAIL"
			if r.OK {
				mark, passed = "ok", passed+1
			}
			causes := strings.Join(r.Check.Causes, ", ")
			if r.Check.Calibration {
				causes = "none: a calibration"
			}
			fmt.Fprintf(tw, "  %-4s %s\t%s\t%s\t%s\n", mark, r.Check.Name, r.Model, r.Want, causes)
		}
		fmt.Fprintf(tw, "  %d of %d %s hold\t\t\t\n", passed, len(rs), noun)
	}
	table(fmt.Sprintf("FAITHFULNESS (%s)", name), "checks", checks)
	table(fmt.Sprintf("CALIBRATIONS (%s: inputs chosen to match the report)", name), "calibrations", calibrations)
	return tw.Flush()
}
