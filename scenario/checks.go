package scenario

import (
	"fmt"
	"slices"
	"strings"
	"vmstorm/analysis"
	"vmstorm/config"
)

// checkEntry is one faithfulness check as a file writes it; see
// analysis.Check for what each kind means, and docs/scenarios.md for the
// keys.
type checkEntry struct {
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
	Detected    *detected  `yaml:"detected,omitempty"`
	PhaseSeen   string     `yaml:"phase_seen,omitempty"`
	AlertBand   *alertBand `yaml:"alert_band,omitempty"`
}

// detected checks when the first alert after the fault fired, and, if
// Alert is set, that it was that alert.
type detected struct {
	NotBefore string `yaml:"not_before"`
	By        string `yaml:"by"`
	Alert     string `yaml:"alert,omitempty"`
}

// alertBand checks figures against the VM-count alert's band over a span.
type alertBand struct {
	Inside string `yaml:"inside,omitempty"`
	Above  string `yaml:"above,omitempty"`
}

func metricNames() string { return strings.Join(analysis.MetricNames(), ", ") }

func isMetric(name string) bool {
	_, ok := analysis.Metrics[name]
	return ok
}

func (c *Converter) moment(path, v string) analysis.Moment {
	switch v {
	case "":
		return analysis.Moment{Absent: true}
	case "detection":
		return analysis.Moment{Detection: true}
	case "end":
		return analysis.Moment{End: true}
	}
	return analysis.Moment{T: c.instant(path, v)}
}

// checks converts the file's checks, checking each one's keys.
func (c *Converter) checks(in []checkEntry, cfg config.Config) []analysis.Check {
	out := make([]analysis.Check, len(in))
	for i, ch := range in {
		p := fmt.Sprintf("$.checks[%d]", i)
		if ch.Name == "" {
			c.Fail(p, "the check has no name", "say in a few words what the incident's report says")
		}
		c.checkCauses(p, ch)
		kinds := 0
		for _, set := range []bool{ch.Metric != "", ch.Detected != nil, ch.PhaseSeen != "", ch.AlertBand != nil} {
			if set {
				kinds++
			}
		}
		if kinds != 1 {
			c.Fail(p, "a check needs exactly one of metric, detected, phase_seen or alert_band", "see docs/scenarios.md")
		}
		if ch.At != "" && (ch.From != "" || ch.To != "") {
			c.Fail(p+".at", "the check has both at and from/to", "a check measures at one time (at) or over a span (from, to), not both")
		}
		if ch.From == "end" {
			c.Fail(p+".from", "a span cannot start at the end", "use stat: at with at: end")
		}
		if ch.Metric == "" {
			for _, key := range []struct{ name, v string }{{"stat", ch.Stat}, {"per", ch.Per}} {
				if key.v != "" {
					c.Fail(p+"."+key.name, key.name+" is for a metric check", "remove it, or add metric:")
				}
			}
			if ch.Min != nil || ch.Max != nil {
				c.Fail(p, "min and max are for a metric check", "remove them, or add metric:")
			}
		}
		a := analysis.Check{Name: ch.Name, Causes: ch.Causes, Calibration: ch.Calibration, Metric: ch.Metric, Stat: ch.Stat,
			Per: ch.Per, Min: ch.Min, Max: ch.Max, PhaseSeen: ch.PhaseSeen,
			Band: [2]int64{cfg.Alerts.VMCountMin, cfg.Alerts.VMCountMax},
			At:   analysis.Moment{Absent: true}, From: analysis.Moment{Absent: true}, To: analysis.Moment{Absent: true}}
		switch {
		case ch.Metric != "":
			c.metricCheck(p, ch, &a)
		case ch.Detected != nil:
			c.noSpan(p, ch, "detected")
			a.Detected = &analysis.Detected{
				NotBefore: c.instant(p+".detected.not_before", ch.Detected.NotBefore),
				By:        c.instant(p+".detected.by", ch.Detected.By),
				Alert:     ch.Detected.Alert,
			}
			if al := ch.Detected.Alert; al != "" && !slices.Contains(analysis.Alerts, al) {
				c.Fail(p+".detected.alert", fmt.Sprintf("no alert %q", al), "the alerts are "+strings.Join(analysis.Alerts, ", "))
			}
		case ch.PhaseSeen != "":
			c.noSpan(p, ch, "phase_seen")
			if !slices.Contains(analysis.Phases, ch.PhaseSeen) {
				c.Fail(p+".phase_seen", fmt.Sprintf("no phase %q", ch.PhaseSeen), "the phases are "+strings.Join(analysis.Phases, ", "))
			}
		case ch.AlertBand != nil:
			if ch.At != "" {
				c.Fail(p+".at", "an alert_band check takes from and to, not at", "use from: and to:")
			}
			b := ch.AlertBand
			if b.Inside == "" && b.Above == "" {
				c.Fail(p+".alert_band", "the alert band check has neither inside nor above", "name the metric that stays in the band (inside), or rises above it (above), or both")
			}
			for _, m := range []struct{ key, name string }{{"inside", b.Inside}, {"above", b.Above}} {
				if m.name != "" && !isMetric(m.name) {
					c.Fail(p+".alert_band."+m.key, fmt.Sprintf("no metric %q", m.name), "the metrics are "+metricNames())
				}
			}
			a.AlertBand = &analysis.AlertBand{Inside: b.Inside, Above: b.Above}
			a.From, a.To = c.moment(p+".from", ch.From), c.moment(p+".to", ch.To)
		}
		out[i] = a
	}
	return out
}

// checkCauses checks that the check names causes from the catalogue, or
// says it is a calibration: one or the other.
func (c *Converter) checkCauses(p string, ch checkEntry) {
	switch {
	case len(ch.Causes) > 0 && ch.Calibration:
		c.Fail(p+".calibration", "the check names causes and is a calibration", "a check with a cause to remove is not a calibration: drop one of the two")
	case len(ch.Causes) == 0 && !ch.Calibration:
		c.Fail(p, "the check names no causes and is not a calibration",
			"add causes: [...] (the mechanisms without which it must fail: "+causeNames()+"), or calibration: true if it only restates the inputs")
	}
	for j, name := range ch.Causes {
		if _, ok := LookupCause(name); !ok {
			c.Fail(fmt.Sprintf("%s.causes[%d]", p, j), fmt.Sprintf("no cause %q", name), "the causes are "+causeNames())
		}
		if slices.Index(ch.Causes, name) != j {
			c.Fail(fmt.Sprintf("%s.causes[%d]", p, j), fmt.Sprintf("the cause %s is named twice", name), "name each cause once")
		}
	}
}

func (c *Converter) metricCheck(p string, ch checkEntry, a *analysis.Check) {
	if !isMetric(ch.Metric) {
		c.Fail(p+".metric", fmt.Sprintf("no metric %q", ch.Metric), "the metrics are "+metricNames())
	}
	if ch.Min == nil && ch.Max == nil {
		c.Fail(p, "the check has neither min nor max", "give the bounds the report implies")
	}
	a.At, a.From, a.To = c.moment(p+".at", ch.At), c.moment(p+".from", ch.From), c.moment(p+".to", ch.To)
	switch ch.Stat {
	case "at":
		if a.At.Absent {
			c.Fail(p, "stat at needs at", "add at: with a time, detection or end")
		}
	case "max", "min", "delta":
		if !a.At.Absent {
			c.Fail(p+".at", "stat "+ch.Stat+" takes from and to, not at", "use from: and to:, or stat: at")
		}
	default:
		c.Fail(p+".stat", fmt.Sprintf("no stat %q", ch.Stat), "the stats are at, max, min and delta")
	}
	if ch.Per != "" {
		if !isMetric(ch.Per) {
			c.Fail(p+".per", fmt.Sprintf("no metric %q", ch.Per), "the metrics are "+metricNames())
		}
		if ch.Stat != "delta" {
			c.Fail(p+".per", "per is for stat delta", "use stat: delta, or remove per")
		}
	}
}

// noSpan rejects at, from and to on a check of a kind that takes its times
// elsewhere.
func (c *Converter) noSpan(p string, ch checkEntry, kind string) {
	for _, key := range []struct{ name, v string }{{"at", ch.At}, {"from", ch.From}, {"to", ch.To}} {
		if key.v != "" {
			c.Fail(p+"."+key.name, fmt.Sprintf("a %s check takes no %s", kind, key.name), "remove it; docs/scenarios.md gives each kind's keys")
		}
	}
}

// checkAgainst checks what a scenario's checks need of its configuration:
// each cause a check names is in the scenario (taking it out changes
// something), and an alert band check has a band to judge by.
func (c *Converter) checkAgainst(s *Scenario) {
	for i, ch := range s.Checks {
		p := fmt.Sprintf("$.checks[%d]", i)
		for j, name := range ch.Causes {
			if cause, ok := LookupCause(name); ok && !cause.In(s.Config) {
				c.Fail(fmt.Sprintf("%s.causes[%d]", p, j), fmt.Sprintf("the scenario does not have the cause %s: removing it (%s) changes nothing", name, cause.Doc),
					"name only causes of this scenario")
			}
		}
		a := s.Config.Alerts
		switch b := ch.AlertBand; {
		case b == nil:
		case a.VMCountMin == 0 && a.VMCountMax == 0:
			c.Fail(p+".alert_band", "the alert band check has no band: the VM-count alert is off", "set alerts.vm_count_min and/or vm_count_max")
		case b.Above != "" && a.VMCountMax == 0:
			c.Fail(p+".alert_band.above", "the VM-count band has no top to rise above", "set alerts.vm_count_max")
		}
	}
}
