package pipeline

import (
	"fmt"

	"go.uber.org/zap"

	"vmstorm/cluster"
	"vmstorm/incident"
	"vmstorm/workers"
)

// levers are the parts of a running model that the timeline's actions
// pull on: the janitor's credentials, the janitor and its Cleanup pool,
// the scheduler's queues, the cluster, the Run pool and the mitigations'
// switches.
type levers struct {
	credentials *workers.Credentials
	janitor     *workers.Janitor
	cleanup     *workers.CleanupPool
	queues      *workers.QueueControls
	cluster     *cluster.Cluster
	run         *workers.RunPool
	switches    *workers.Switches
}

// pull is what each action of incident.Actions does to the model, by its
// name: one entry per action (the levers' test checks both lists agree).
var pull = map[string]func(levers, incident.Args) error{
	"rotate_cleanup_password": func(l levers, _ incident.Args) error { l.credentials.Rotate(); return nil },
	"fix_cleanup_credentials": func(l levers, _ incident.Args) error { l.credentials.Fix(); return nil },
	"restart_janitor":         func(l levers, _ incident.Args) error { l.janitor.Restart(); return nil },
	"aggressive_cleanup": func(l levers, a incident.Args) error {
		l.janitor.SetAggressive(true, *a.Rate)
		l.cleanup.SetAggressive(true)
		return nil
	},
	"normal_cleanup": func(l levers, _ incident.Args) error {
		l.janitor.SetAggressive(false, 0)
		l.cleanup.SetAggressive(false)
		return nil
	},
	"pause_builds": func(l levers, a incident.Args) error {
		return l.eachQueue(a.Queue, func(q int) { l.queues.SetPaused(q, true) })
	},
	"resume_builds": func(l levers, a incident.Args) error {
		return l.eachQueue(a.Queue, func(q int) { l.queues.SetPaused(q, false) })
	},
	"set_max_builds": func(l levers, a incident.Args) error {
		return l.eachQueue(a.Queue, func(q int) { l.queues.SetLimit(q, *a.MaxBuilds) })
	},
	"set_cpu_capacity":   func(l levers, a incident.Args) error { l.cluster.SetCPUVMs(*a.VMs); return nil },
	"crash_workers":      func(l levers, a incident.Args) error { l.run.Crash(*a.Fraction); return nil },
	"restart_workers":    func(l levers, _ incident.Args) error { l.run.Restart(); return nil },
	"set_api_rate_limit": func(l levers, a incident.Args) error { l.cluster.SetClientRate(*a.Rate); return nil },
	"enable_mitigation":  func(l levers, a incident.Args) error { return l.setMitigation(a.Mitigation, true) },
	"disable_mitigation": func(l levers, a incident.Args) error { return l.setMitigation(a.Mitigation, false) },
	"set_stall_chance":   func(l levers, a incident.Args) error { l.run.SetStallChance(*a.Fraction); return nil },
}

// eachQueue calls f with the index of the named queue, or of every queue
// for "all".
func (l levers) eachQueue(queue string, f func(q int)) error {
	if queue == "all" {
		for q := range l.queues.Names {
			f(q)
		}
		return nil
	}
	q := l.queues.Queue(queue)
	if q < 0 {
		return fmt.Errorf("no queue %q", queue)
	}
	f(q)
	return nil
}

// setMitigation turns the named mitigation on or off.
func (l levers) setMitigation(name string, on bool) error {
	m, ok := incident.LookupMitigation(name)
	if !ok {
		return fmt.Errorf("no mitigation %q", name)
	}
	l.switches.Set(m, on)
	return nil
}

// apply pulls ev's lever, logs the event under its action's name with its
// arguments as fields, and calls applied, if not nil.
func (l levers) apply(ev incident.Event, log *zap.Logger, applied func(incident.Event)) error {
	f, ok := pull[ev.Action]
	if !ok {
		return fmt.Errorf("timeline: unknown action %q", ev.Action)
	}
	if err := f(l, ev.Args); err != nil {
		return fmt.Errorf("timeline: %s: %w", ev.Action, err)
	}
	fields := []zap.Field{zap.String("note", ev.Describe())}
	ev.Args.Values(func(name string, v any) { fields = append(fields, zap.Any(name, v)) })
	log.Warn(ev.Action, fields...)
	if applied != nil {
		applied(ev)
	}
	return nil
}

// begin splits the timeline (incident.Timeline.Split), applies the events
// due at model time zero (or before), so that they hold before any part of
// the model starts, and returns the events still to come, in order, and
// apart, in order of their delays, the events that wait for detection.
// applied, if not nil, is called after each event.
func (l levers) begin(tl incident.Timeline, log *zap.Logger, applied func(incident.Event)) (future, afterDetection incident.Timeline, err error) {
	future, afterDetection = tl.Split()
	for len(future) > 0 && future[0].At <= 0 {
		if err := l.apply(future[0], log, applied); err != nil {
			return nil, nil, err
		}
		future = future[1:]
	}
	return future, afterDetection, nil
}
