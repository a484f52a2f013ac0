package incident

import (
	"fmt"
	"strconv"
	"strings"
)

// Args are the arguments an action may take; each action uses a few.
// Their names, their order, how each is written and described and the
// values each may take are in one list, argSpecs.
type Args struct {
	Queue     string   `yaml:"queue,omitempty"`
	Rate      *float64 `yaml:"rate,omitempty"`
	VMs       *int64   `yaml:"vms,omitempty"`
	MaxBuilds *int64   `yaml:"max_builds,omitempty"`
	Fraction  *float64 `yaml:"fraction,omitempty"`
	// Mitigation names a mitigation (MitigationNames).
	Mitigation string `yaml:"mitigation,omitempty"`
}

// argSpec is one argument of Args: its name (in a scenario file, in the
// log and as the {name} placeholder of an action's Doc), its value in an
// event, if given (a string, a float64 or an int64), how a description
// writes it, and, for a number, what it may be.
type argSpec struct {
	name string
	// value is the argument's value in a, and whether a gives it.
	value func(a Args) (any, bool)
	// describe writes the value for a description; nil writes it as Each
	// does.
	describe func(v any) string
	// valid reports whether a number is in range, and want says what the
	// range is; nil for an argument that is not a number.
	valid func(v any) bool
	want  string
}

// argSpecs is the one list of Args' fields, in the order they are written.
var argSpecs = []argSpec{
	{name: "queue", value: func(a Args) (any, bool) { return a.Queue, a.Queue != "" },
		describe: func(v any) string {
			if v == "all" {
				return "every queue"
			}
			return "queue " + v.(string)
		}},
	{name: "rate", value: func(a Args) (any, bool) { return deref(a.Rate) },
		valid: func(v any) bool { return v.(float64) >= 0 }, want: "want a rate of 0 or more"},
	{name: "vms", value: func(a Args) (any, bool) { return deref(a.VMs) },
		valid: func(v any) bool { return v.(int64) >= 0 }, want: "want 0 or more VMs"},
	{name: "max_builds", value: func(a Args) (any, bool) { return deref(a.MaxBuilds) },
		valid: func(v any) bool { return v.(int64) >= 0 }, want: "want 0 (no limit) or more builds"},
	{name: "fraction", value: func(a Args) (any, bool) { return deref(a.Fraction) },
		describe: func(v any) string { return fmt.Sprintf("%.4g%%", v.(float64)*100) },
		valid:    func(v any) bool { f := v.(float64); return f >= 0 && f <= 1 }, want: "want a fraction from 0 to 1"},
	{name: "mitigation", value: func(a Args) (any, bool) { return a.Mitigation, a.Mitigation != "" },
		describe: func(v any) string { return strings.ReplaceAll(v.(string), "_", " ") }},
}

// deref is *p and true, or nil and false for a nil p.
func deref[T float64 | int64](p *T) (any, bool) {
	if p == nil {
		return nil, false
	}
	return *p, true
}

// format writes an argument's value as a scenario file does.
func format(v any) string {
	switch v := v.(type) {
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case int64:
		return strconv.FormatInt(v, 10)
	}
	return v.(string)
}

// Values calls f with each argument given, by its name, and its value: a
// string, a float64 or an int64, in argSpecs' order.
func (a Args) Values(f func(name string, v any)) {
	for _, s := range argSpecs {
		if v, ok := s.value(a); ok {
			f(s.name, v)
		}
	}
}

// Each calls f with each argument given, by its name in a scenario file,
// and its value as a scenario file writes it, in argSpecs' order.
func (a Args) Each(f func(name, value string)) {
	a.Values(func(name string, v any) { f(name, format(v)) })
}

// String lists the arguments given, as name value pairs: "queue com,
// max_builds 100".
func (a Args) String() string {
	var out []string
	a.Each(func(name, value string) { out = append(out, name+" "+value) })
	return strings.Join(out, ", ")
}

// number is the event's one numeric argument, if it has one.
func (a Args) number() (float64, bool) {
	for _, s := range argSpecs {
		v, ok := s.value(a)
		switch v := v.(type) {
		case float64:
			return v, ok
		case int64:
			return float64(v), ok
		}
	}
	return 0, false
}

// given reports which arguments a gives, by name.
func (a Args) given() map[string]bool {
	out := map[string]bool{}
	a.Values(func(name string, _ any) { out[name] = true })
	return out
}

// describe fills doc's placeholders from the arguments given, and the
// others with what stands for them: a queue or a mitigation in words, a
// number by its argument's key in backquotes, as the docs write a key
// ("runs at most `max_builds` builds at once", not "at most max_builds
// builds").
func (a Args) describe(doc string) string {
	var pairs []string
	for _, s := range argSpecs {
		v, ok := s.value(a)
		var text string
		switch {
		case !ok && (s.name == "queue" || s.name == "mitigation"):
			text = "the " + s.name + " given"
		case !ok:
			text = "`" + s.name + "`"
		case s.describe != nil:
			text = s.describe(v)
		default:
			text = format(v)
		}
		pairs = append(pairs, "{"+s.name+"}", text)
	}
	return strings.NewReplacer(pairs...).Replace(doc)
}

// checkRanges returns the ArgError of the first number out of its range.
func (a Args) checkRanges() error {
	for _, s := range argSpecs {
		if v, ok := s.value(a); ok && s.valid != nil && !s.valid(v) {
			return &ArgError{s.name, s.want}
		}
	}
	return nil
}

// ArgNames are the arguments' names, in order.
func ArgNames() []string {
	out := make([]string, len(argSpecs))
	for i, s := range argSpecs {
		out[i] = s.name
	}
	return out
}
