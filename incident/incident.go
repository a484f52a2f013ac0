// Package incident is the timeline of a run: the faults injected into the
// model and the operators' actions, each at a model time, and the catalogue
// of actions there are, each pulling on the model's Parts.
//
// Adding an action is one entry in Actions (its name, its doc, its
// arguments, whether it is a fault, and what it does to the Parts), and its
// row in the table test of this package.
package incident

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"vmstorm/cluster"
	"vmstorm/workers"
)

// Parts are the parts of a running model that the timeline's actions pull
// on: the janitor's credentials, the janitor and its Cleanup pool, the
// scheduler's queues, the cluster, and the Run pool.
type Parts struct {
	Credentials *workers.Credentials
	Janitor     *workers.Janitor
	Cleanup     *workers.CleanupPool
	Queues      *workers.QueueControls
	Cluster     *cluster.Cluster
	Run         *workers.RunPool
	Switches    *workers.Switches // the mitigations' switches
}

// eachQueue calls f with the index of the named queue, or of every queue
// for "all".
func (p Parts) eachQueue(queue string, f func(q int)) error {
	if queue == "all" {
		for q := range p.Queues.Names {
			f(q)
		}
		return nil
	}
	q := p.Queues.Queue(queue)
	if q < 0 {
		return fmt.Errorf("no queue %q", queue)
	}
	f(q)
	return nil
}

// setMitigation turns the named mitigation on or off.
func (p Parts) setMitigation(name string, on bool) error {
	m, ok := workers.LookupMitigation(name)
	if !ok {
		return fmt.Errorf("no mitigation %q", name)
	}
	p.Switches.Set(m, on)
	return nil
}

// Args are the arguments an action may take; each action uses a few.
type Args struct {
	Queue     string   `yaml:"queue,omitempty"`
	Rate      *float64 `yaml:"rate,omitempty"`
	VMs       *int64   `yaml:"vms,omitempty"`
	MaxBuilds *int64   `yaml:"max_builds,omitempty"`
	Fraction  *float64 `yaml:"fraction,omitempty"`
	// Mitigation names a mitigation (workers.MitigationNames).
	Mitigation string `yaml:"mitigation,omitempty"`
}

// Event is one entry of a timeline: an action at a model time or, for an
// operators' response, at a delay after detection (the first alert at or
// after the first fault), whenever that comes.
type Event struct {
	At time.Duration
	// AfterDetection: At is the delay after detection, and the event
	// happens only if monitoring detects the incident.
	AfterDetection bool
	Action         string
	Args           Args
	// Note says in a few words why, for people reading the log; empty takes
	// the action's own description.
	Note string
}

// Action describes one kind of timeline entry.
type Action struct {
	Name string
	// Doc says what the action does, as a template: each argument's
	// placeholder ({queue}, {rate}, {vms}, {max_builds}, {fraction}) stands
	// where Describe puts the event's value.
	Doc string
	// DocIfZero, if set, is the template Describe uses instead when the
	// action's number (its rate, vms, max_builds or fraction) is 0, which
	// often means "no limit".
	DocIfZero string
	// Uses names the arguments the action takes, all of them required.
	Uses []string
	// Fault: the action injects a fault (rather than being an operator's
	// response); an incident is timed from its first fault.
	Fault bool
	apply func(Parts, Args) error
}

// IsOperatorAction reports whether the named action is an operators'
// response (an action of the catalogue that is not a fault), rather than a
// fault or something the model did of itself (a breaker opening).
func IsOperatorAction(name string) bool {
	a, ok := Lookup(name)
	return ok && !a.Fault
}

// IsFault reports whether the named action injects a fault.
func IsFault(name string) bool {
	a, ok := Lookup(name)
	return ok && a.Fault
}

// Actions is the catalogue of timeline actions, in the order a person
// reads them.
var Actions = []Action{
	{"rotate_cleanup_password", "the vSphere account's password is rotated; the janitor keeps the old one and can no longer log in", "", nil, true,
		func(p Parts, _ Args) error { p.Credentials.Rotate(); return nil }},
	{"fix_cleanup_credentials", "the janitor's configuration gets the current password (it reads it when it restarts)", "", nil, false,
		func(p Parts, _ Args) error { p.Credentials.Fix(); return nil }},
	{"restart_janitor", "the janitor restarts: it rereads its configuration and makes a pass at once", "", nil, false,
		func(p Parts, _ Args) error { p.Janitor.Restart(); return nil }},
	{"aggressive_cleanup", "the janitor destroys every VM, new build VMs included, at {rate} VMs per second",
		"the janitor destroys every VM, new build VMs included, as fast as it can", []string{"rate"}, false,
		func(p Parts, a Args) error {
			p.Janitor.SetAggressive(true, *a.Rate)
			p.Cleanup.SetAggressive(true)
			return nil
		}},
	{"normal_cleanup", "the janitor goes back to its normal rules and rate", "", nil, false,
		func(p Parts, _ Args) error {
			p.Janitor.SetAggressive(false, 0)
			p.Cleanup.SetAggressive(false)
			return nil
		}},
	{"pause_builds", "the jobs of {queue} are no longer started (builds already started go on)", "", []string{"queue"}, false,
		func(p Parts, a Args) error { return p.eachQueue(a.Queue, func(q int) { p.Queues.SetPaused(q, true) }) }},
	{"resume_builds", "the jobs of {queue} are started again", "", []string{"queue"}, false,
		func(p Parts, a Args) error { return p.eachQueue(a.Queue, func(q int) { p.Queues.SetPaused(q, false) }) }},
	{"set_max_builds", "{queue} runs at most {max_builds} builds at once: the build rate changes",
		"{queue} runs with no limit of builds at once", []string{"queue", "max_builds"}, false,
		func(p Parts, a Args) error {
			return p.eachQueue(a.Queue, func(q int) { p.Queues.SetLimit(q, *a.MaxBuilds) })
		}},
	{"set_cpu_capacity", "the reservation configuration changes: the cluster can run {vms} VMs at once",
		"the reservation configuration changes: no CPU ceiling any more", []string{"vms"}, false,
		func(p Parts, a Args) error { p.Cluster.SetCPUVMs(*a.VMs); return nil }},
	{"crash_workers", "{fraction} of the Run workers crash: their builds' VMs are orphaned and the jobs requeued", "", []string{"fraction"}, true,
		func(p Parts, a Args) error { p.Run.Crash(*a.Fraction); return nil }},
	{"restart_workers", "the crashed workers are restarted", "", nil, false,
		func(p Parts, _ Args) error { p.Run.Restart(); return nil }},
	{"set_api_rate_limit", "the clients' own limit on cloud API calls becomes {rate} calls per second",
		"the clients' own limit on cloud API calls is lifted", []string{"rate"}, false,
		func(p Parts, a Args) error { p.Cluster.SetClientRate(*a.Rate); return nil }},
	{"enable_mitigation", "operators turn on {mitigation}", "", []string{"mitigation"}, false,
		func(p Parts, a Args) error { return p.setMitigation(a.Mitigation, true) }},
	{"disable_mitigation", "operators turn off {mitigation}", "", []string{"mitigation"}, false,
		func(p Parts, a Args) error { return p.setMitigation(a.Mitigation, false) }},
	{"set_stall_chance", "a booted VM stalls (its build never makes progress) with a chance of {fraction}",
		"booted VMs no longer stall", []string{"fraction"}, true,
		func(p Parts, a Args) error { p.Run.SetStallChance(*a.Fraction); return nil }},
}

// Describe is the action's Doc with its placeholders filled from args (or
// DocIfZero, when its number is 0): a queue as "queue com" or "every
// queue", a fraction as a percentage. A placeholder whose argument is
// missing is said without braces ("the queue given", "`rate`"), as an
// error's hint describes an action before it has all its arguments.
func (a Action) Describe(args Args) string {
	doc := a.Doc
	if n, ok := args.number(); ok && n == 0 && a.DocIfZero != "" {
		doc = a.DocIfZero
	}
	var pairs []string
	if q := args.Queue; q != "" {
		name := "queue " + q
		if q == "all" {
			name = "every queue"
		}
		pairs = append(pairs, "{queue}", name)
	}
	if args.Rate != nil {
		pairs = append(pairs, "{rate}", strconv.FormatFloat(*args.Rate, 'g', -1, 64))
	}
	if args.VMs != nil {
		pairs = append(pairs, "{vms}", strconv.FormatInt(*args.VMs, 10))
	}
	if args.MaxBuilds != nil {
		pairs = append(pairs, "{max_builds}", strconv.FormatInt(*args.MaxBuilds, 10))
	}
	if args.Fraction != nil {
		pairs = append(pairs, "{fraction}", fmt.Sprintf("%.4g%%", *args.Fraction*100))
	}
	if m := args.Mitigation; m != "" {
		pairs = append(pairs, "{mitigation}", strings.ReplaceAll(m, "_", " "))
	}
	pairs = append(pairs, unfilled...) // after the values: the first pair for a placeholder wins
	return strings.NewReplacer(pairs...).Replace(doc)
}

// unfilled are what Describe puts for a placeholder whose argument is not
// given: a queue or a mitigation in words, a number by its argument's key
// in backquotes, as the docs write a key ("runs at most `max_builds`
// builds at once", not "at most max_builds builds").
var unfilled = []string{
	"{queue}", "the queue given", "{rate}", "`rate`", "{vms}", "`vms`",
	"{max_builds}", "`max_builds`", "{fraction}", "`fraction`", "{mitigation}", "the mitigation given",
}

// number is the event's one numeric argument, if it has one.
func (a Args) number() (float64, bool) {
	switch {
	case a.Rate != nil:
		return *a.Rate, true
	case a.VMs != nil:
		return float64(*a.VMs), true
	case a.MaxBuilds != nil:
		return float64(*a.MaxBuilds), true
	case a.Fraction != nil:
		return *a.Fraction, true
	}
	return 0, false
}

// String lists the arguments given, as name value pairs: "queue com,
// max_builds 100".
func (a Args) String() string {
	var out []string
	a.Each(func(name, value string) { out = append(out, name+" "+value) })
	return strings.Join(out, ", ")
}

// Each calls f with each argument given, by its name in a scenario file,
// in a fixed order: the one list of Args' fields that the ways of writing
// them share.
func (a Args) Each(f func(name, value string)) {
	if a.Queue != "" {
		f("queue", a.Queue)
	}
	if a.Rate != nil {
		f("rate", strconv.FormatFloat(*a.Rate, 'g', -1, 64))
	}
	if a.VMs != nil {
		f("vms", strconv.FormatInt(*a.VMs, 10))
	}
	if a.MaxBuilds != nil {
		f("max_builds", strconv.FormatInt(*a.MaxBuilds, 10))
	}
	if a.Fraction != nil {
		f("fraction", strconv.FormatFloat(*a.Fraction, 'g', -1, 64))
	}
	if a.Mitigation != "" {
		f("mitigation", a.Mitigation)
	}
}

// Lookup returns the action of that name.
func Lookup(name string) (Action, bool) {
	for _, a := range Actions {
		if a.Name == name {
			return a, true
		}
	}
	return Action{}, false
}

// ArgError says what is wrong with one argument of an event (or with its
// action, when Arg is "action").
type ArgError struct {
	Arg string
	Msg string
}

func (e *ArgError) Error() string { return e.Arg + ": " + e.Msg }

// Validate checks the event's action and arguments against the catalogue
// and the model's queues.
func (ev Event) Validate(queues []string) error {
	a, ok := Lookup(ev.Action)
	if !ok {
		return &ArgError{"action", fmt.Sprintf("unknown action %q; the actions are: %s", ev.Action, strings.Join(names(), ", "))}
	}
	uses := func(arg string) bool {
		for _, u := range a.Uses {
			if u == arg {
				return true
			}
		}
		return false
	}
	given := map[string]bool{
		"queue": ev.Args.Queue != "", "rate": ev.Args.Rate != nil, "vms": ev.Args.VMs != nil,
		"max_builds": ev.Args.MaxBuilds != nil, "fraction": ev.Args.Fraction != nil,
		"mitigation": ev.Args.Mitigation != "",
	}
	var missing []string
	for _, arg := range a.Uses {
		if !given[arg] {
			missing = append(missing, arg)
		}
	}
	if len(missing) > 0 {
		// The hint describes the action with what was given: a number as
		// it is, a queue if it is one (a name that is not is refused
		// below, quoted).
		hint := ev.Args
		hint.Mitigation = ""
		if hint.Queue != "all" && !slices.Contains(queues, hint.Queue) {
			hint.Queue = ""
		}
		return &ArgError{"action", fmt.Sprintf("%s needs %s: %s", a.Name, strings.Join(missing, " and "), a.Describe(hint))}
	}
	for _, arg := range []string{"queue", "rate", "vms", "max_builds", "fraction", "mitigation"} {
		if given[arg] && !uses(arg) {
			return &ArgError{arg, fmt.Sprintf("%s does not take %s", a.Name, arg)}
		}
	}
	if ev.Args.Queue != "" && ev.Args.Queue != "all" && !contains(queues, ev.Args.Queue) {
		return &ArgError{"queue", fmt.Sprintf("no queue %q; the queues are %s, or all", ev.Args.Queue, strings.Join(queues, ", "))}
	}
	if m := ev.Args.Mitigation; m != "" {
		if _, ok := workers.LookupMitigation(m); !ok {
			return &ArgError{"mitigation", fmt.Sprintf("no mitigation %q; the mitigations are %s", m, strings.Join(workers.MitigationNames[:], ", "))}
		}
	}
	switch {
	case ev.Args.Rate != nil && !(*ev.Args.Rate >= 0):
		return &ArgError{"rate", "want a rate of 0 or more"}
	case ev.Args.VMs != nil && *ev.Args.VMs < 0:
		return &ArgError{"vms", "want 0 or more VMs"}
	case ev.Args.MaxBuilds != nil && *ev.Args.MaxBuilds < 0:
		return &ArgError{"max_builds", "want 0 (no limit) or more builds"}
	case ev.Args.Fraction != nil && !(*ev.Args.Fraction >= 0 && *ev.Args.Fraction <= 1):
		return &ArgError{"fraction", "want a fraction from 0 to 1"}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func names() []string {
	out := make([]string, len(Actions))
	for i, a := range Actions {
		out[i] = a.Name
	}
	return out
}

// Describe says what the event does, with its arguments: its action's
// description filled from them, or, if the event has a note, the note with
// the arguments after it.
func (ev Event) Describe() string {
	a, ok := Lookup(ev.Action)
	switch {
	case ev.Note == "" && ok:
		return a.Describe(ev.Args)
	case ev.Note != "" && ev.Args.String() != "":
		return ev.Note + " (" + ev.Args.String() + ")"
	}
	return ev.Note
}

// Timeline is a run's events.
type Timeline []Event

// Begin sorts the timeline, applies the events due at model time zero (or
// before), so that they hold before any part of the model starts, and
// returns the events still to come, in order, for the caller to Apply at
// their times, and apart, in order of their delays, the events that wait
// for detection (see AfterDetection and Detected). applied, if not nil, is
// called after each event.
func (tl Timeline) Begin(p Parts, log *zap.Logger, applied func(Event)) (future, afterDetection Timeline, err error) {
	for _, ev := range tl {
		if ev.AfterDetection {
			afterDetection = append(afterDetection, ev)
		} else {
			future = append(future, ev)
		}
	}
	sort.SliceStable(future, func(i, j int) bool { return future[i].At < future[j].At })
	sort.SliceStable(afterDetection, func(i, j int) bool { return afterDetection[i].At < afterDetection[j].At })
	for len(future) > 0 && future[0].At <= 0 {
		if err := future[0].Apply(p, log, applied); err != nil {
			return nil, nil, err
		}
		future = future[1:]
	}
	return future, afterDetection, nil
}

// Detected places the events that wait for detection, now that it came at
// model time at: each at its delay after it. The result is sorted.
func (tl Timeline) Detected(at time.Duration) Timeline {
	out := make(Timeline, len(tl))
	for i, ev := range tl {
		ev.At, ev.AfterDetection = at+ev.At, false
		out[i] = ev
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At < out[j].At })
	return out
}

// Merge merges two sorted timelines into one, sorted; events at the same
// time keep tl's first.
func (tl Timeline) Merge(other Timeline) Timeline {
	out := make(Timeline, 0, len(tl)+len(other))
	i, j := 0, 0
	for i < len(tl) && j < len(other) {
		if other[j].At < tl[i].At {
			out = append(out, other[j])
			j++
		} else {
			out = append(out, tl[i])
			i++
		}
	}
	out = append(out, tl[i:]...)
	return append(out, other[j:]...)
}

// Apply pulls the event's lever, logs the event under its action's name,
// and calls applied, if not nil.
func (ev Event) Apply(p Parts, log *zap.Logger, applied func(Event)) error {
	a, ok := Lookup(ev.Action)
	if !ok {
		return fmt.Errorf("timeline: unknown action %q", ev.Action)
	}
	if err := a.apply(p, ev.Args); err != nil {
		return fmt.Errorf("timeline: %s: %w", ev.Action, err)
	}
	fields := []zap.Field{zap.String("note", ev.Describe())}
	if ev.Args.Queue != "" {
		fields = append(fields, zap.String("queue", ev.Args.Queue))
	}
	if ev.Args.Rate != nil {
		fields = append(fields, zap.Float64("rate", *ev.Args.Rate))
	}
	if ev.Args.Fraction != nil {
		fields = append(fields, zap.Float64("fraction", *ev.Args.Fraction))
	}
	if ev.Args.VMs != nil {
		fields = append(fields, zap.Int64("vms", *ev.Args.VMs))
	}
	if ev.Args.MaxBuilds != nil {
		fields = append(fields, zap.Int64("max_builds", *ev.Args.MaxBuilds))
	}
	if ev.Args.Mitigation != "" {
		fields = append(fields, zap.String("mitigation", ev.Args.Mitigation))
	}
	log.Warn(ev.Action, fields...)
	if applied != nil {
		applied(ev)
	}
	return nil
}
