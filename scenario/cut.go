package scenario

import (
	"fmt"
	"io"
	"strings"
	"time"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/format"
)

// Cut is what a run shorter than its scenario leaves out: the timeline
// events, the traffic bursts and the checks after the run's end.
type Cut struct {
	End    time.Duration // the run's end, model time
	Epoch  time.Time     // the scenario's epoch, to say times in its clock
	Events incident.Timeline
	Bursts []config.Burst
	// Checks are not evaluated: each names a model time after the end, so
	// the run cannot judge it.
	Checks []analysis.Check
}

// Empty reports whether nothing is left out.
func (c Cut) Empty() bool {
	return len(c.Events) == 0 && len(c.Bursts) == 0 && len(c.Checks) == 0
}

// CutTo fits the scenario to cfg, its Config with the command line on top.
// When cfg.Duration ends the run before a timeline event, a traffic burst
// or a check's time, the events and bursts are left out of the Config it
// returns, the checks out of s.Checks, and s.Cut lists them all. cfg and
// s.Config are not changed.
func (s *Scenario) CutTo(cfg config.Config) config.Config {
	end := cfg.Duration
	s.Cut = Cut{End: end, Epoch: cfg.Epoch}
	var events incident.Timeline
	for _, ev := range cfg.Timeline {
		if !ev.AfterDetection && ev.At > end {
			s.Cut.Events = append(s.Cut.Events, ev)
			continue
		}
		events = append(events, ev)
	}
	if len(s.Cut.Events) > 0 {
		cfg.Timeline = events
	}
	if cfg.Traffic != nil {
		var bursts []config.Burst
		for _, b := range cfg.Traffic.Bursts {
			if b.At > end {
				s.Cut.Bursts = append(s.Cut.Bursts, b)
				continue
			}
			bursts = append(bursts, b)
		}
		if len(s.Cut.Bursts) > 0 {
			tr := *cfg.Traffic
			tr.Bursts = bursts
			cfg.Traffic = &tr
		}
	}
	var checks []analysis.Check
	for _, ch := range s.Checks {
		if after(ch, end) {
			s.Cut.Checks = append(s.Cut.Checks, ch)
			continue
		}
		checks = append(checks, ch)
	}
	s.Checks = checks
	return cfg
}

// after reports whether the check names a model time after end: a run
// that ends first cannot judge it (a window it did not reach, or an alert
// it could not see fire).
func after(ch analysis.Check, end time.Duration) bool {
	for _, m := range []analysis.Moment{ch.At, ch.From, ch.To} {
		if !m.Absent && !m.Detection && !m.End && m.T > end {
			return true
		}
	}
	return ch.Detected != nil && (ch.Detected.NotBefore > end || ch.Detected.By > end)
}

// Lines say what the cut leaves out: a line for the cut, then one for
// each event, burst and check, for the caller to print before the run.
// There are none when nothing is left out.
func (c Cut) Lines() []string {
	if c.Empty() {
		return nil
	}
	var what []string
	if left := c.left(); left != "" {
		what = append(what, left+" after it "+plural(len(c.Events)+len(c.Bursts), "is", "are")+" left out")
	}
	if n := len(c.Checks); n > 0 {
		what = append(what, fmt.Sprintf("%d %s not evaluated", n, plural(n, "check is", "checks are")))
	}
	out := []string{fmt.Sprintf("-duration %s cuts the scenario at %s: %s", format.Duration(c.End), c.instant(c.End), strings.Join(what, "; "))}
	for _, ev := range c.Events {
		out = append(out, fmt.Sprintf("  left out: %s%s at %s", ev.Action, args(ev.Args), c.instant(ev.At)))
	}
	for _, b := range c.Bursts {
		out = append(out, fmt.Sprintf("  left out: traffic burst x%g for %s at %s", b.Factor, format.Duration(b.For), c.instant(b.At)))
	}
	for _, ch := range c.Checks {
		out = append(out, fmt.Sprintf("  not evaluated: check %q: after the end of the run", ch.Name))
	}
	return out
}

// FormatChecks lists the checks the cut leaves out, under the results of
// the others, as not evaluated.
func (c Cut) FormatChecks(w io.Writer, name string) error {
	if len(c.Checks) == 0 {
		return nil
	}
	var b strings.Builder
	for _, line := range format.Wrap(fmt.Sprintf("NOT EVALUATED (%s): after the end of the run at %s", name, c.instant(c.End)), 0, 2, format.TextWidth) {
		fmt.Fprintf(&b, "\n%s", line)
	}
	b.WriteString("\n")
	for _, ch := range c.Checks {
		for i, line := range format.Wrap(ch.Name, 8, 8, format.TextWidth) {
			if i == 0 {
				fmt.Fprintf(&b, "  --    %s\n", line)
			} else {
				fmt.Fprintf(&b, "        %s\n", line)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// left counts the events and bursts left out, in words.
func (c Cut) left() string {
	var parts []string
	if n := len(c.Events); n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, "timeline event", "timeline events")))
	}
	if n := len(c.Bursts); n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, "traffic burst", "traffic bursts")))
	}
	return strings.Join(parts, " and ")
}

// instant is a model time in the scenario's clock: a calendar time with an
// epoch, T+ a duration without.
func (c Cut) instant(t time.Duration) string {
	if c.Epoch.IsZero() {
		return "T+" + format.Duration(t)
	}
	return c.Epoch.Add(t).UTC().Format(time.RFC3339)
}

// args are an event's arguments, as a scenario file writes them.
func args(a incident.Args) string {
	var parts []string
	a.Each(func(name, value string) { parts = append(parts, name+": "+value) })
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func plural(n int, one, other string) string {
	if n == 1 {
		return one
	}
	return other
}
