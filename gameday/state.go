package gameday

import (
	"time"

	"vmstorm/incident"
	"vmstorm/internal/format"
)

// Lookback is how much of the model's history before the start the page
// shows: the on-call's graphs had a past.
const Lookback = 3 * time.Hour

// State is what the page is given: the game's clock and what the on-call
// can see, the rows from a given index on.
type State struct {
	Scenario       string
	Clock          string        // the held step, as the model's calendar writes it
	Held           time.Duration // the step the player's actions take effect at
	Start, End     time.Duration
	ShowFrom       time.Duration // the charts' left edge
	Epoch          string        // RFC 3339, or empty for no calendar
	Paused         bool
	Finishing      bool
	Over           bool
	Abandoned      string `json:",omitempty"`
	Pace           time.Duration
	Investigating  string `json:",omitempty"`
	Until          time.Duration
	Controls       string // you, other or none
	Allowed        []ActionDoc
	Queues         []string
	Mitigations    []string
	Investigations []Investigation
	RowsFrom       int
	Rows           [][7]float64 // model minutes, reported VMs, backlog, oldest wait (min), requeues/min, power-on failures/min, alerts firing
	Alerts         []AlertView
	Log            []string
	Actions        []ActionView
	Reveals        []RevealView
	Scorecard      *Scorecard `json:",omitempty"`
	Responders     []ActionView
}

// ActionDoc is an action the player may take.
type ActionDoc struct {
	Name, Doc string
	Uses      []string
}

// AlertView is an alert's change, for the page.
type AlertView struct {
	Clock, Name string
	Firing      bool
	Value       float64
}

// ActionView is an action, for the page.
type ActionView struct {
	Clock, Action, Args, By string
	At                      time.Duration
	Placed                  bool
}

// RevealView is an investigation's result, for the page.
type RevealView struct {
	Clock, Name, Value string
	At                 time.Duration
}

// State is the game's state for a browser whose seat is seat (holds: it
// holds the controls), with the rows from index from on.
func (g *Game) State(seat string, holds bool, from int) State {
	card, carded := g.Scorecard()
	lines := g.log.Lines()
	g.mu.Lock()
	defer g.mu.Unlock()
	ep := g.cfg.Epoch
	st := State{
		Scenario: g.opt.Scenario.Name, Clock: format.ModelTime(ep, g.held), Held: g.held,
		Start: g.startAt, End: g.cfg.Duration, ShowFrom: max(0, g.startAt-Lookback),
		Paused: g.paused, Finishing: g.finishing, Over: g.over, Pace: g.pace,
		Queues: g.cfg.QueueNames(), Mitigations: Switches(), Investigations: Investigations,
		Log: lines, Controls: "none",
	}
	if !ep.IsZero() {
		st.Epoch = ep.Format(time.RFC3339)
	}
	if g.runCtx != nil && g.runCtx.Err() != nil && !g.over {
		st.Abandoned = "the game was abandoned"
	}
	switch {
	case holds:
		st.Controls = "you"
	case g.seat != "":
		st.Controls = "other"
	}
	if g.investigate != nil {
		st.Investigating, st.Until = g.investigate.Name, g.until
	}
	for _, name := range g.allowed {
		a, _ := incident.Lookup(name)
		st.Allowed = append(st.Allowed, ActionDoc{Name: a.Name, Doc: a.Describe(incident.Args{}), Uses: a.Uses}) // the arguments by what stands for them, not {placeholders}
	}
	first := 0
	for first < len(g.rows) && g.rows[first].T < st.ShowFrom {
		first++
	}
	from = max(from, first)
	st.RowsFrom = from
	for _, v := range g.rows[min(from, len(g.rows)):] {
		st.Rows = append(st.Rows, [7]float64{v.T.Minutes(), float64(v.ReportedVMs), float64(v.Backlog), v.OldestWait.Minutes(),
			v.Requeues, v.PowerOnFails, float64(v.Firing)})
	}
	for _, a := range g.alerts {
		if a.T >= st.ShowFrom {
			st.Alerts = append(st.Alerts, AlertView{Clock: format.ModelTime(ep, a.T), Name: a.Name, Firing: a.Firing, Value: a.Value})
		}
	}
	for _, a := range g.actions {
		at := a.At
		if !a.Placed {
			at = g.held
		}
		st.Actions = append(st.Actions, ActionView{Clock: format.ModelTime(ep, at), Action: a.Event.Action, Args: a.Event.Args.String(), At: at, Placed: a.Placed})
	}
	for _, r := range g.reveals {
		st.Reveals = append(st.Reveals, RevealView{Clock: format.ModelTime(ep, r.At), Name: r.Name, Value: r.Value, At: r.At})
	}
	if carded {
		st.Scorecard = &card
		for _, ev := range g.opt.Scenario.Config.Timeline {
			if incident.IsOperatorAction(ev.Action) && !ev.AfterDetection && ev.At >= g.startAt && ev.At <= g.cfg.Duration {
				st.Responders = append(st.Responders, ActionView{Clock: format.ModelTime(ep, ev.At), Action: ev.Action, Args: ev.Args.String(), At: ev.At, Placed: true})
			}
		}
	}
	return st
}
