package scenario

import (
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/printer"
	"github.com/goccy/go-yaml/token"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/incident"
)

// Marshal writes s back as a scenario file: every parameter of
// config.Params under its key (its value as the flags spell it), then the
// queues, the traffic curve, the timeline and the checks. Parse reads it
// back as the same scenario (every string value is written double-quoted).
// Comments of the original are not kept.
func Marshal(s *Scenario) ([]byte, error) {
	c := s.Config
	root := yaml.MapSlice{{Key: keyName, Value: s.Name}}
	if s.Description != "" {
		root = append(root, yaml.MapItem{Key: keyDescription, Value: s.Description})
	}
	sections := map[string]*yaml.MapSlice{}
	for _, sec := range config.Sections {
		if sec != config.SectionRun {
			sections[sec] = &yaml.MapSlice{}
		}
	}
	for _, p := range config.Params {
		if p.Key == "" {
			continue
		}
		v := scalarValue(p, &c)
		sec, leaf, nested := strings.Cut(p.Key, ".")
		if !nested {
			root = append(root, yaml.MapItem{Key: p.Key, Value: v})
			continue
		}
		*sections[sec] = append(*sections[sec], yaml.MapItem{Key: leaf, Value: v})
	}
	var queues []Queue
	for _, q := range c.Queues {
		queues = append(queues, Queue{Name: q.Name, Share: q.Share, MaxBuilds: q.MaxBuilds})
	}
	*sections[config.SectionWorkload] = append(*sections[config.SectionWorkload], yaml.MapItem{Key: "queues", Value: queues})
	if tr := c.Traffic; tr != nil {
		t := Traffic{PeakHour: &tr.PeakHour, Night: &tr.Night, Weekend: &tr.Weekend}
		for _, b := range tr.Bursts {
			t.Bursts = append(t.Bursts, Burst{At: instantString(c.Epoch, b.At), For: b.For.String(), Factor: b.Factor})
		}
		*sections[config.SectionWorkload] = append(*sections[config.SectionWorkload], yaml.MapItem{Key: "traffic", Value: t})
	}
	for _, sec := range config.Sections {
		if sec != config.SectionRun {
			root = append(root, yaml.MapItem{Key: sec, Value: *sections[sec]})
		}
	}
	if len(c.Timeline) > 0 {
		root = append(root, yaml.MapItem{Key: keyTimeline, Value: entries(c.Epoch, c.Timeline)})
	}
	if len(s.Checks) > 0 {
		var checks []checkEntry
		for _, ch := range s.Checks {
			checks = append(checks, entryOf(c.Epoch, ch))
		}
		root = append(root, yaml.MapItem{Key: keyChecks, Value: checks})
	}
	node, err := yaml.ValueToNode(root, yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		return nil, err
	}
	quoteValues(node)
	var p printer.Printer
	return p.PrintNode(node), nil
}

// quoteValues double-quotes every string value under node (not the keys):
// the encoder writes a string plain where it judges that safe, and it
// misjudges some (a note "? a" read back as a mapping), so every value is
// written with its escapes, as Go and YAML's double quotes spell them
// alike for the characters a scenario may hold (no control characters).
func quoteValues(node ast.Node) {
	keys := map[ast.Node]bool{}
	for _, n := range ast.Filter(ast.MappingValueType, node) {
		keys[n.(*ast.MappingValueNode).Key] = true
	}
	for _, n := range ast.Filter(ast.StringType, node) {
		s := n.(*ast.StringNode)
		quoted := strings.HasPrefix(s.Value, `"`) || strings.HasPrefix(s.Value, "'") // the encoder's own quotes
		if !keys[s] && !quoted {
			s.Token.Type = token.DoubleQuoteType
		}
	}
}

// scalarValue is a parameter's value as YAML writes it: numbers and
// switches as themselves, the rest (durations, "max", times) as the flags
// spell them.
func scalarValue(p config.Param, c *config.Config) any {
	switch v := p.Value(c).(type) {
	case int64, uint64, float64, bool:
		return v
	}
	return p.Get(c)
}

// instantString writes a model time as a scenario file does: on the
// calendar when the scenario has an epoch, else from the start.
func instantString(epoch time.Time, t time.Duration) string {
	if !epoch.IsZero() {
		return epoch.Add(t).UTC().Format(time.RFC3339Nano)
	}
	return t.String()
}

func entries(epoch time.Time, tl incident.Timeline) []Entry {
	out := make([]Entry, len(tl))
	for i, ev := range tl {
		at := instantString(epoch, ev.At)
		if ev.AfterDetection {
			at = detectionPrefix + " + " + ev.At.String()
		}
		out[i] = Entry{ID: ev.ID, At: at, Action: ev.Action, Note: ev.Note, Args: ev.Args}
	}
	return out
}

func momentString(epoch time.Time, m analysis.Moment) string {
	switch {
	case m.Absent:
		return ""
	case m.Detection:
		return "detection"
	case m.End:
		return "end"
	}
	return instantString(epoch, m.T)
}

// entryOf writes a check back as a file does.
func entryOf(epoch time.Time, ch analysis.Check) checkEntry {
	e := checkEntry{Name: ch.Name, Causes: ch.Causes, Calibration: ch.Calibration, Metric: ch.Metric, Stat: ch.Stat,
		Per: ch.Per, Min: ch.Min, Max: ch.Max, PhaseSeen: ch.PhaseSeen,
		At: momentString(epoch, ch.At), From: momentString(epoch, ch.From), To: momentString(epoch, ch.To)}
	if d := ch.Detected; d != nil {
		e.Detected = &detected{NotBefore: instantString(epoch, d.NotBefore), By: instantString(epoch, d.By), Alert: d.Alert}
	}
	if b := ch.AlertBand; b != nil {
		e.AlertBand = &alertBand{Inside: b.Inside, Above: b.Above}
	}
	return e
}
