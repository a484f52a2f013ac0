package pipeline

import (
	"sync"
	"time"

	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/mitigate"
	"vmstorm/series"
	"vmstorm/workers"
)

// wiring is what each mitigation needs of a run beyond its switch, by
// incident.Mitigation: one entry per mitigation (incident.MitigationTable
// has its name, switch and settings), which sets the parts' settings from
// its parameters. Every part reads the mitigation's switch itself, as it
// acts, from the one set newPolicies makes.
var wiring = [incident.NumMitigations]func(cfg config.Config, s *settings){
	incident.Backoff:     func(cfg config.Config, s *settings) { s.policies.Backoff = cfg.Mitigations.BackoffSettings },
	incident.RetryBudget: func(cfg config.Config, s *settings) { s.policies.RetryBudget = cfg.Mitigations.RetryBudgetSettings },
	incident.Breaker:     func(cfg config.Config, s *settings) { s.policies.Breaker = cfg.Mitigations.BreakerSettings },
	// The Build pool discards a failed start's VM: it has no settings.
	incident.DeleteFailedVMs: func(config.Config, *settings) {},
	incident.Reaper:          func(cfg config.Config, s *settings) { s.janitor.ReaperTTL = cfg.Mitigations.ReaperTTL },
	// The scheduler asks Room before it hands a job out, and the cluster's
	// OnRoom pokes it (both given in Run): it has no settings.
	incident.CapacityAware: func(config.Config, *settings) {},
	incident.Shed:          func(cfg config.Config, s *settings) { s.scheduler.ShedAfter = cfg.Mitigations.ShedAfter },
}

// newPolicies makes the mitigations' switches, each set as cfg's switch
// says, and their shared state with settings s, the breaker's transitions
// kept for the series as marks.
func newPolicies(cfg config.Config, s workers.PolicySettings, k *sim.Kernel, queues *workers.QueueControls) (*workers.Policies, *transitions, error) {
	marks := &transitions{}
	p, err := workers.NewPolicies(k, queues, s, marks.add)
	if err != nil {
		return nil, nil, err
	}
	for m := range incident.NumMitigations {
		if cfg.MitigationOn(m) {
			p.Switches.Set(m, true)
		}
	}
	return p, marks, nil
}

// transitions keeps the breaker's changes of state that the series marks,
// until the sampler takes them: its opening from closed and its closing.
// The flaps between open and half-open in between show in the series'
// breaker_state column, not as marks.
type transitions struct {
	mu    sync.Mutex
	marks []series.Mark
}

// The marks of the breaker's transitions.
const (
	MarkBreakerOpened = "breaker_opened"
	MarkBreakerClosed = "breaker_closed"
)

func (t *transitions) add(tr mitigate.Transition) {
	var m series.Mark
	switch {
	case tr.From == mitigate.Closed && tr.To == mitigate.Open:
		m = series.Mark{T: tr.At, Name: MarkBreakerOpened, Note: "the circuit breaker in front of the VM API opens: no VM starts until it lets a probe through"}
	case tr.To == mitigate.Closed:
		m = series.Mark{T: tr.At, Name: MarkBreakerClosed, Note: "the circuit breaker closes: its probes succeeded"}
	default:
		return
	}
	t.mu.Lock()
	t.marks = append(t.marks, m)
	t.mu.Unlock()
}

// take returns the marks kept so far, in order, and forgets them.
func (t *transitions) take() []series.Mark {
	t.mu.Lock()
	defer t.mu.Unlock()
	m := t.marks
	t.marks = nil
	return m
}

// mitigationStats reads what the mitigations did, at model time end.
func mitigationStats(end time.Duration, p *workers.Policies, backingOff int64) MitigationStats {
	switches := p.Switches
	st := MitigationStats{BackingOff: backingOff}
	for i, name := range incident.MitigationNames {
		if switches.On(incident.Mitigation(i)) {
			st.On = append(st.On, name)
		}
	}
	changes, openings := p.Breaker.Changes()
	st.BreakerOpened = openings
	if switches.On(incident.Breaker) || changes > 0 {
		st.BreakerState = p.Breaker.State(end).String()
	}
	st.RetryTokens = p.RetryBudget.Tokens()
	return st
}
