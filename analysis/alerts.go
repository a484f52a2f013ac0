package analysis

import (
	"time"

	"vmstorm/config"
	"vmstorm/internal/format"
	"vmstorm/series"
)

// The alerts monitoring can raise.
const (
	AlertVMCount     = "vm_count_out_of_band"
	AlertRequeueRate = "requeue_rate_high"
	AlertBacklogAge  = "backlog_age_high"
	// AlertJanitorStale is honest monitoring's: the janitor has not had a
	// successful pass for too long, whatever count it last reported.
	AlertJanitorStale = "janitor_stale"
)

// Alerts lists the alerts, in order.
var Alerts = []string{AlertVMCount, AlertRequeueRate, AlertBacklogAge, AlertJanitorStale}

// alertRules evaluates monitoring's rules on what it sees, as Prometheus
// does: a rule whose condition holds is pending, and fires once it has held
// for For; a firing rule whose condition stops holding resolves once it has
// been false for KeepFiringFor, so that a value hovering at a threshold
// does not flap.
type alertRules struct {
	cfg    config.Alerts
	window time.Duration
	state  map[string]*ruleState
	events []AlertEvent // as many as held allows
	held   *held
}

// AlertEvent is an alert firing or resolving.
type AlertEvent struct {
	T      time.Duration
	Name   string
	Firing bool // fired; false: resolved
}

type ruleState struct {
	since   time.Duration // when the condition last began to hold (holding) or stopped holding (firing)
	holding bool          // the condition held at the last sample
	firing  bool
}

func newAlertRules(cfg config.Config, h *held) alertRules {
	r := alertRules{cfg: cfg.Alerts, window: cfg.Window, state: map[string]*ruleState{}, held: h}
	for _, name := range Alerts {
		r.state[name] = &ruleState{}
	}
	return r
}

// eventAlertFiring is the change an alert's firing makes.
const eventAlertFiring = "alert_firing"

// evaluate judges the rules at s, appends what changed, and returns the
// alerts firing.
func (r *alertRules) evaluate(s series.Sample, rates series.Rates, changes []series.Change) ([]string, []series.Change) {
	a := r.cfg
	// Monitoring judges the VM count once the janitor has had a window to
	// report one: an empty cluster at the start is not an alert.
	warm := s.T >= r.window
	rules := []struct {
		name  string
		holds bool
		value float64
	}{
		{AlertVMCount, warm && (a.VMCountMin > 0 || a.VMCountMax > 0) &&
			(s.ReportedVMs < a.VMCountMin || (a.VMCountMax > 0 && s.ReportedVMs > a.VMCountMax)), float64(s.ReportedVMs)},
		{AlertRequeueRate, a.RequeueRateMax > 0 && rates.Requeues > a.RequeueRateMax, rates.Requeues},
		{AlertBacklogAge, a.BacklogAgeMax > 0 && s.OldestWait > a.BacklogAgeMax, s.OldestWait.Minutes()},
		{AlertJanitorStale, a.JanitorAgeMax > 0 && s.JanitorAge > a.JanitorAgeMax, s.JanitorAge.Minutes()},
	}
	var firing []string
	for _, rule := range rules {
		st := r.state[rule.name]
		if rule.holds != st.holding {
			st.holding, st.since = rule.holds, s.T
		}
		switch {
		case !st.firing && st.holding && s.T-st.since >= a.For:
			st.firing = true
			changes = append(changes, series.Change{Event: eventAlertFiring, Name: rule.name, Value: format.Round1(rule.value)})
			if r.held.take(s.T) {
				r.events = append(r.events, AlertEvent{T: s.T, Name: rule.name, Firing: true})
			}
		case st.firing && !st.holding && s.T-st.since >= a.KeepFiringFor:
			st.firing = false
			changes = append(changes, series.Change{Event: "alert_resolved", Name: rule.name, Value: format.Round1(rule.value)})
			if r.held.take(s.T) {
				r.events = append(r.events, AlertEvent{T: s.T, Name: rule.name})
			}
		}
		if st.firing {
			firing = append(firing, rule.name)
		}
	}
	return firing, changes
}

// firstFired is when each alert first fired, from its events: a map of its
// own, whoever holds it.
func (r *alertRules) firstFired() map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, ev := range r.events {
		if _, seen := out[ev.Name]; ev.Firing && !seen {
			out[ev.Name] = ev.T
		}
	}
	return out
}
