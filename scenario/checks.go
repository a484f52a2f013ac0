package scenario

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"vmstorm/cluster"
	"vmstorm/pipeline"
)

// Check is one faithfulness check of a scenario: a figure of the run, at a
// model time or over a span of it, against what the incident's report says.
// A check is either a metric check (Metric and Stat, with At or From/To,
// and Min and/or Max), a detection check (Detected), or a phase check
// (PhaseSeen).
type Check struct {
	Name      string    `yaml:"name"`
	Metric    string    `yaml:"metric,omitempty"`
	Stat      string    `yaml:"stat,omitempty"` // at, max, min or delta
	At        string    `yaml:"at,omitempty"`   // a time, "detection" or "end"
	From      string    `yaml:"from,omitempty"`
	To        string    `yaml:"to,omitempty"`
	Min       *float64  `yaml:"min,omitempty"`
	Max       *float64  `yaml:"max,omitempty"`
	Detected  *Detected `yaml:"detected,omitempty"`
	PhaseSeen string    `yaml:"phase_seen,omitempty"`

	at, from, to moment
	notBefore    time.Duration
	by           time.Duration
}

// Detected checks when the first alert after the fault fired.
type Detected struct {
	NotBefore string `yaml:"not_before"`
	By        string `yaml:"by"`
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
		kinds := 0
		for _, set := range []bool{ch.Metric != "", ch.Detected != nil, ch.PhaseSeen != ""} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			c.fail(p, "a check needs exactly one of metric, detected or phase_seen", "see docs/scenarios.md")
		}
		switch {
		case ch.Metric != "":
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
		case ch.Detected != nil:
			ch.notBefore = c.instant(p+".detected.not_before", ch.Detected.NotBefore)
			ch.by = c.instant(p+".detected.by", ch.Detected.By)
		}
		out[i] = ch
	}
	return out
}

// Result is one check, done.
type Result struct {
	Check Check
	OK    bool
	// Model is the model's figure, in words.
	Model string
	Want  string
}

// Evaluate runs the checks against a run's summary.
func (s *Scenario) Evaluate(sum *pipeline.Summary) []Result {
	out := make([]Result, len(s.Checks))
	for i, ch := range s.Checks {
		out[i] = ch.evaluate(sum)
	}
	return out
}

func (ch Check) evaluate(sum *pipeline.Summary) Result {
	r := Result{Check: ch}
	when := func(m moment, def time.Duration) (time.Duration, bool) {
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
	switch {
	case ch.Detected != nil:
		r.Want = fmt.Sprintf("first alert between %s and %s", clock(sum, ch.notBefore), clock(sum, ch.by))
		if !sum.Incident.Detected {
			r.Model = "no alert fired"
			return r
		}
		t := sum.Incident.DetectedAt
		r.Model = fmt.Sprintf("%s fired at %s", sum.Incident.DetectedBy, clock(sum, t))
		r.OK = t >= ch.notBefore && t <= ch.by
		return r
	case ch.PhaseSeen != "":
		r.Want = fmt.Sprintf("a %q phase", ch.PhaseSeen)
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
	metric := metrics[ch.Metric]
	r.Want = bounds(ch.Min, ch.Max)
	var value float64
	switch ch.Stat {
	case "at":
		t, ok := when(ch.at, 0)
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
		from, ok1 := when(ch.from, 0)
		to, ok2 := when(ch.to, sum.Model)
		if !ok1 || !ok2 {
			r.Model = "no detection to measure from"
			return r
		}
		first, last, n := pipeline.Sample{}, pipeline.Sample{}, 0
		for _, smp := range sum.Series {
			if smp.T < from || smp.T > to {
				continue
			}
			v := metric(smp)
			switch {
			case n == 0:
				first, value = smp, v
			case ch.Stat == "max":
				value = max(value, v)
			case ch.Stat == "min":
				value = min(value, v)
			}
			last = smp
			n++
		}
		if n == 0 {
			r.Model = fmt.Sprintf("no samples from %s to %s", clock(sum, from), clock(sum, to))
			return r
		}
		if ch.Stat == "delta" {
			value = metric(last) - metric(first)
		}
		r.Model = fmt.Sprintf("%s of %s = %s, %s to %s", ch.Stat, ch.Metric, num(value), clock(sum, first.T), clock(sum, last.T))
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

// FormatResults writes the checks as a table: the model's figure beside
// what the report says.
func FormatResults(w io.Writer, name string, results []Result) error {
	if len(results) == 0 {
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "\nFAITHFULNESS (%s)\tmodel\twant\n", name)
	passed := 0
	for _, r := range results {
		mark := "FAIL"
		if r.OK {
			mark, passed = "ok", passed+1
		}
		fmt.Fprintf(tw, "  %-4s %s\t%s\t%s\n", mark, r.Check.Name, r.Model, r.Want)
	}
	fmt.Fprintf(tw, "  %d of %d checks hold\t\t\n", passed, len(results))
	return tw.Flush()
}
