// Package incident is the timeline of a run: the faults injected into the
// model and the operators' actions, each at a model time, and the catalogue
// of actions there are. The model's levers are behind Controls, so that a
// timeline can drive any run.
package incident

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Controls are the levers of a running model that faults and operators'
// actions pull. Queue names are the model's queues, or "all".
type Controls interface {
	RotateCleanupPassword()
	FixCleanupCredentials()
	RestartJanitor()
	SetAggressiveCleanup(on bool, rate float64)
	SetPaused(queue string, paused bool) error
	SetMaxBuilds(queue string, n int64) error
	SetCPUCapacity(vms int64)
	CrashWorkers(fraction float64) int
	RestartWorkers()
	SetClientAPIRate(perSecond float64)
	SetStallChance(p float64)
}

// Args are the arguments an action may take; each action uses a few.
type Args struct {
	Queue     string   `yaml:"queue,omitempty"`
	Rate      *float64 `yaml:"rate,omitempty"`
	VMs       *int64   `yaml:"vms,omitempty"`
	MaxBuilds *int64   `yaml:"max_builds,omitempty"`
	Fraction  *float64 `yaml:"fraction,omitempty"`
}

// Event is one entry of a timeline: an action at a model time.
type Event struct {
	At     time.Duration
	Action string
	Args   Args
	// Note says in a few words why, for people reading the log; empty takes
	// the action's own description.
	Note string
}

// Action describes one kind of timeline entry.
type Action struct {
	Name string
	Doc  string
	// Uses names the arguments the action takes, all of them required.
	Uses []string
	// Fault: the action injects a fault (rather than being an operator's
	// response); an incident is timed from its first fault.
	Fault bool
	apply func(Controls, Args) error
}

// IsFault reports whether the named action injects a fault.
func IsFault(name string) bool {
	a, ok := Lookup(name)
	return ok && a.Fault
}

func f64(p *float64) float64 { return *p }

// Actions is the catalogue of timeline actions, in the order a person
// reads them.
var Actions = []Action{
	{"rotate_cleanup_password", "the vSphere account's password is rotated; the janitor keeps the old one and can no longer log in", nil, true,
		func(c Controls, _ Args) error { c.RotateCleanupPassword(); return nil }},
	{"fix_cleanup_credentials", "the janitor's configuration gets the current password (it reads it when it restarts)", nil, false,
		func(c Controls, _ Args) error { c.FixCleanupCredentials(); return nil }},
	{"restart_janitor", "the janitor restarts: it rereads its configuration and makes a pass at once", nil, false,
		func(c Controls, _ Args) error { c.RestartJanitor(); return nil }},
	{"aggressive_cleanup", "the janitor destroys every VM, new build VMs included, at rate VMs per second", []string{"rate"}, false,
		func(c Controls, a Args) error { c.SetAggressiveCleanup(true, f64(a.Rate)); return nil }},
	{"normal_cleanup", "the janitor goes back to its normal rules and rate", nil, false,
		func(c Controls, _ Args) error { c.SetAggressiveCleanup(false, 0); return nil }},
	{"pause_builds", "the queue's jobs are no longer started (builds already started go on)", []string{"queue"}, false,
		func(c Controls, a Args) error { return c.SetPaused(a.Queue, true) }},
	{"resume_builds", "the queue's jobs are started again", []string{"queue"}, false,
		func(c Controls, a Args) error { return c.SetPaused(a.Queue, false) }},
	{"set_max_builds", "the queue runs at most max_builds builds at once (0: no limit): lowers or raises the build rate", []string{"queue", "max_builds"}, false,
		func(c Controls, a Args) error { return c.SetMaxBuilds(a.Queue, *a.MaxBuilds) }},
	{"set_cpu_capacity", "the reservation configuration changes: the cluster can run vms VMs at once (0: no CPU ceiling)", []string{"vms"}, false,
		func(c Controls, a Args) error { c.SetCPUCapacity(*a.VMs); return nil }},
	{"crash_workers", "a fraction of the Run workers crash: their builds' VMs are orphaned and the jobs requeued", []string{"fraction"}, true,
		func(c Controls, a Args) error { c.CrashWorkers(f64(a.Fraction)); return nil }},
	{"restart_workers", "the crashed workers are restarted", nil, false,
		func(c Controls, _ Args) error { c.RestartWorkers(); return nil }},
	{"set_api_rate_limit", "the clients' own limit on cloud API calls becomes rate calls per second (0: none)", []string{"rate"}, false,
		func(c Controls, a Args) error { c.SetClientAPIRate(f64(a.Rate)); return nil }},
	{"set_stall_chance", "a booted VM stalls (its build never makes progress) with this chance", []string{"fraction"}, true,
		func(c Controls, a Args) error { c.SetStallChance(f64(a.Fraction)); return nil }},
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
	}
	for _, arg := range a.Uses {
		if !given[arg] {
			return &ArgError{"action", fmt.Sprintf("%s needs %s (%s)", a.Name, strings.Join(a.Uses, " and "), a.Doc)}
		}
	}
	for _, arg := range []string{"queue", "rate", "vms", "max_builds", "fraction"} {
		if given[arg] && !uses(arg) {
			return &ArgError{arg, fmt.Sprintf("%s does not take %s", a.Name, arg)}
		}
	}
	if ev.Args.Queue != "" && ev.Args.Queue != "all" && !contains(queues, ev.Args.Queue) {
		return &ArgError{"queue", fmt.Sprintf("no queue %q; the queues are %s, or all", ev.Args.Queue, strings.Join(queues, ", "))}
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

// Describe is the event's note, or its action's description.
func (ev Event) Describe() string {
	if ev.Note != "" {
		return ev.Note
	}
	a, _ := Lookup(ev.Action)
	return a.Doc
}

// Timeline is a run's events.
type Timeline []Event

// Begin sorts the timeline, applies the events due at model time zero (or
// before), so that they hold before any part of the model starts, and
// returns the events still to come, in order, for the caller to Apply at
// their times. applied, if not nil, is called after each event.
func (tl Timeline) Begin(c Controls, log *zap.Logger, applied func(Event)) (Timeline, error) {
	events := append(Timeline(nil), tl...)
	sort.SliceStable(events, func(i, j int) bool { return events[i].At < events[j].At })
	for len(events) > 0 && events[0].At <= 0 {
		if err := events[0].Apply(c, log, applied); err != nil {
			return nil, err
		}
		events = events[1:]
	}
	return events, nil
}

// Apply pulls the event's lever, logs the event under its action's name,
// and calls applied, if not nil.
func (ev Event) Apply(c Controls, log *zap.Logger, applied func(Event)) error {
	a, ok := Lookup(ev.Action)
	if !ok {
		return fmt.Errorf("timeline: unknown action %q", ev.Action)
	}
	if err := a.apply(c, ev.Args); err != nil {
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
	log.Warn(ev.Action, fields...)
	if applied != nil {
		applied(ev)
	}
	return nil
}
