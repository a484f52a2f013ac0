// Package incident is the timeline of a run as data: the faults injected
// into the model and the operators' actions, each at a model time, and
// the catalogue of actions there are (their names, docs and arguments,
// and which of them inject a fault). It describes; the levers each action
// pulls on a running model are the model's (pipeline/levers.go).
//
// Adding an action is one entry in Actions, its lever in the pipeline's
// table, and its rows in the table tests of both packages.
package incident

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// Event is one entry of a timeline: an action at a model time or, for an
// operators' response, at a delay after detection (the first alert at or
// after the first fault), whenever that comes.
type Event struct {
	// ID, if not empty, names the entry, so that an experiment can say
	// which entry removes the trigger (experiment.Recovery's removed_by):
	// unique within a timeline (ValidID says what one may be).
	ID string
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
}

// Fault and operator: the catalogue's one distinction between the entries
// that inject a fault (the trigger an experiment's control run leaves out)
// and the operators' responses. An action that sets a fault's level, such
// as set_stall_chance, is a fault action even when it sets it to nothing:
// a control has no fault to end.

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

// Classify says what the named action is: an action of the catalogue
// (timeline), and of those, whether it injects a fault (fault). It is the
// catalogue as the analysis is handed it (analysis.Catalogue): the
// analysis reads a run's marks by name, and imports none of the model.
func Classify(name string) (timeline, fault bool) {
	a, ok := Lookup(name)
	return ok, ok && a.Fault
}

// Actions is the catalogue of timeline actions, in the order a person
// reads them.
var Actions = []Action{
	{Name: "rotate_cleanup_password", Fault: true,
		Doc: "the vSphere account's password is rotated; the janitor keeps the old one and can no longer log in"},
	{Name: "fix_cleanup_credentials",
		Doc: "the janitor's configuration gets the current password (it reads it when it restarts)"},
	{Name: "restart_janitor",
		Doc: "the janitor restarts: it rereads its configuration and makes a pass at once"},
	{Name: "aggressive_cleanup", Uses: []string{"rate"},
		Doc:       "the janitor destroys every VM, new build VMs included, at {rate} VMs per second",
		DocIfZero: "the janitor destroys every VM, new build VMs included, as fast as it can"},
	{Name: "normal_cleanup",
		Doc: "the janitor goes back to its normal rules and rate"},
	{Name: "pause_builds", Uses: []string{"queue"},
		Doc: "the jobs of {queue} are no longer started (builds already started go on)"},
	{Name: "resume_builds", Uses: []string{"queue"},
		Doc: "the jobs of {queue} are started again"},
	{Name: "set_max_builds", Uses: []string{"queue", "max_builds"},
		Doc:       "{queue} runs at most {max_builds} builds at once: the build rate changes",
		DocIfZero: "{queue} runs with no limit of builds at once"},
	{Name: "set_cpu_capacity", Uses: []string{"vms"},
		Doc:       "the reservation configuration changes: the cluster can run {vms} VMs at once",
		DocIfZero: "the reservation configuration changes: no CPU ceiling any more"},
	{Name: "crash_workers", Uses: []string{"fraction"}, Fault: true,
		Doc: "{fraction} of the Run workers crash: their builds' VMs are orphaned and the jobs requeued"},
	{Name: "restart_workers",
		Doc: "the crashed workers are restarted"},
	{Name: "set_api_rate_limit", Uses: []string{"rate"},
		Doc:       "the clients' own limit on cloud API calls becomes {rate} calls per second",
		DocIfZero: "the clients' own limit on cloud API calls is lifted"},
	{Name: "enable_mitigation", Uses: []string{"mitigation"},
		Doc: "operators turn on {mitigation}"},
	{Name: "disable_mitigation", Uses: []string{"mitigation"},
		Doc: "operators turn off {mitigation}"},
	{Name: "set_stall_chance", Uses: []string{"fraction"}, Fault: true,
		Doc:       "a booted VM stalls (its build never makes progress) with a chance of {fraction}",
		DocIfZero: "booted VMs no longer stall"},
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
	return args.describe(doc)
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
	given := ev.Args.given()
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
	for _, arg := range ArgNames() {
		if given[arg] && !slices.Contains(a.Uses, arg) {
			return &ArgError{arg, fmt.Sprintf("%s does not take %s", a.Name, arg)}
		}
	}
	if ev.Args.Queue != "" && ev.Args.Queue != "all" && !slices.Contains(queues, ev.Args.Queue) {
		return &ArgError{"queue", fmt.Sprintf("no queue %q; the queues are %s, or all", ev.Args.Queue, strings.Join(queues, ", "))}
	}
	if m := ev.Args.Mitigation; m != "" {
		if _, ok := LookupMitigation(m); !ok {
			return &ArgError{"mitigation", fmt.Sprintf("no mitigation %q; the mitigations are %s", m, strings.Join(MitigationNames[:], ", "))}
		}
	}
	return ev.Args.checkRanges()
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

// WithoutFaults is the timeline with every fault entry left out (IsFault):
// the trigger never applied, as an experiment's control runs it.
func (tl Timeline) WithoutFaults() Timeline {
	var out Timeline
	for _, ev := range tl {
		if !IsFault(ev.Action) {
			out = append(out, ev)
		}
	}
	return out
}

// ValidID reports whether id may name a timeline entry: a letter, then
// letters, digits, '_' or '-', at most 40 in all.
func ValidID(id string) bool {
	if id == "" || len(id) > 40 {
		return false
	}
	for i, r := range id {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '_' || r == '-')) {
			return false
		}
	}
	return true
}

// CheckIDs checks that the entries' ids are valid and each given once, and
// returns the first that is not.
func (tl Timeline) CheckIDs() error {
	seen := map[string]bool{}
	for _, ev := range tl {
		switch {
		case ev.ID == "":
		case !ValidID(ev.ID):
			return fmt.Errorf("id %q: want a letter, then letters, digits, _ or -, at most 40 in all", ev.ID)
		case seen[ev.ID]:
			return fmt.Errorf("the id %s is given to two entries: an id names one entry", ev.ID)
		}
		seen[ev.ID] = true
	}
	return nil
}

// Split sorts the timeline into the events timed from model time zero and,
// apart, in order of their delays, the events that wait for detection
// (see AfterDetection). Events at one time keep their order; tl itself is
// left as it is.
func (tl Timeline) Split() (atTimes, afterDetection Timeline) {
	for _, ev := range tl {
		if ev.AfterDetection {
			afterDetection = append(afterDetection, ev)
		} else {
			atTimes = append(atTimes, ev)
		}
	}
	atTimes.SortByTime()
	afterDetection.SortByTime()
	return atTimes, afterDetection
}

// SortByTime sorts the timeline in place by At, keeping the order of the
// events at one time.
func (tl Timeline) SortByTime() {
	sort.SliceStable(tl, func(i, j int) bool { return tl[i].At < tl[j].At })
}

// Detected places the events that wait for detection, now that it came at
// model time at: each at its delay after it. The result is sorted.
func (tl Timeline) Detected(at time.Duration) Timeline {
	out := make(Timeline, len(tl))
	for i, ev := range tl {
		ev.At, ev.AfterDetection = at+ev.At, false
		out[i] = ev
	}
	out.SortByTime()
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
