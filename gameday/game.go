// Package gameday is a game day on a scenario: a player takes the
// on-call's place in a paced run of the model, sees what the on-call of
// the time could see (the reported VM count, the alerts, the backlog and
// its age, the requeue and power-on failure rates, a log tail), acts with
// the operators' actions the scenario allows, and is scored at the end
// beside the scenario's own responders and the best variant of its what-if
// experiment. A Game is one run; a Server serves it to browsers.
//
// The game is an ordinary run. It holds the model at every Step of model
// time (pipeline.Hold), and an action the player takes becomes a timeline
// event at the next step, applied as a scenario's event at that time would
// be; pacing, pause and the idle timeout are waits on the wall clock
// between steps, outside the model. So Export's scenario, replayed, is the
// same run, byte for byte.
package gameday

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"

	"vmstorm/config"
	"vmstorm/experiment"
	"vmstorm/incident"
	"vmstorm/internal/format"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/scenario"
	"vmstorm/series"
)

// Step is the model time between two holds: an action takes effect at the
// first whole model minute the model has not reached.
const Step = time.Minute

// DefaultPace is the wall time a model hour takes, unless the game is told
// otherwise.
const DefaultPace = 30 * time.Second

// DefaultIdle is how long a game waits, on the wall clock, for a request
// from a browser before it ends: a closed browser does not leave the model
// running for ever.
const DefaultIdle = 5 * time.Minute

// MaxIdle is the longest idle timeout a game takes: a day without a
// browser is a game left behind, not one waited for.
const MaxIdle = 24 * time.Hour

// Investigations: what an investigation shows, and the model time it
// costs, during which the player cannot act.
var Investigations = []Investigation{
	{"count_vms", "count the VMs on the cluster in vSphere (the true count, not the janitor's report)", 10 * time.Minute},
	{"janitor_logs", "read the janitor's own logs (its failed log-ins, which it reported nowhere)", 5 * time.Minute},
}

// Investigation is one way to look past what monitoring shows.
type Investigation struct {
	Name, Doc string
	Cost      time.Duration
}

// Options configure a game. A game waits, paused, at its start until the
// player resumes it (or asks for a pause further on).
type Options struct {
	// Scenario is the scenario played, cut to the run (its Config is the
	// run's configuration, flags applied, with a seed).
	Scenario *scenario.Scenario
	// Start is the model time from which the game is paced; the model
	// runs to it as fast as it can. It is rounded up to a Step.
	Start time.Duration
	// Pace is the wall time of a model hour (DefaultPace if 0; below 0,
	// as fast as the machine allows).
	Pace time.Duration
	// Idle is the idle timeout (DefaultIdle if 0).
	Idle time.Duration
	// WhatIf, if not nil, is the what-if experiment whose variants the
	// scorecard compares with, each run once with the game's seed.
	WhatIf *experiment.Experiment
	// Log, if not nil, is also given the run's log.
	Log *zap.Logger
	// Watchers are also given the run's rows and marks (a series file).
	Watchers []series.Watcher
}

// Action is one of the player's actions, as the game logged it.
type Action struct {
	Event incident.Event `json:"-"`
	// At is the model time it takes effect; Taken, the model time shown
	// when the player took it. Placed is false until the run reaches it.
	At, Taken time.Duration
	Placed    bool
	By        string // the seat that took it
}

// Reveal is what an investigation showed, and when.
type Reveal struct {
	Name  string
	At    time.Duration
	Value string
}

// Errors of an action refused.
var (
	ErrEnded         = errors.New("the game has ended: no more actions")
	ErrInvestigating = errors.New("an investigation is under way: wait for its result")
	ErrNotAllowed    = errors.New("not an action of this scenario's operators")
)

// Game is one game day: one run of the model, held at every Step.
type Game struct {
	opt      Options
	cfg      config.Config // the run's
	faults   incident.Timeline
	allowed  []string
	kernel   *sim.Kernel
	log      *tail
	idle     time.Duration
	startAt  time.Duration
	pace     time.Duration
	ended    chan struct{} // closed when the run has ended and the scorecard is ready or abandoned
	abandon  context.CancelCauseFunc
	runCtx   context.Context
	wakeCh   chan struct{} // closed and replaced when the hold should look again
	heldCh   chan struct{} // closed and replaced when the hold waits in a pause
	touchCh  chan struct{}
	compared chan struct{} // closed when the comparisons are done

	mu          sync.Mutex
	held        time.Duration // the step the model is held before (or last was)
	paused      bool
	inPause     bool          // the hold waits in a pause
	pauseAt     time.Duration // 0: none
	finishing   bool          // the player ended the game: the run goes to its end unheld
	over        bool          // the run has ended
	pending     []int         // indices in actions not yet placed
	actions     []Action
	investigate *Investigation
	until       time.Duration // the investigation's end
	reveals     []Reveal
	rows        []view
	last        series.Row
	alerts      []Alert
	wallDue     time.Time
	result      *outcome.Outcome
	runErr      error
	responders  *outcome.Outcome
	variants    []Variant
	compareErr  error
	seat        string
}

// New makes the game of o; Run plays it.
func New(o Options) (*Game, error) {
	if o.Scenario == nil {
		return nil, errors.New("gameday: no scenario")
	}
	cfg := o.Scenario.Config
	if cfg.Seed == 0 {
		return nil, errors.New("gameday: the run needs a seed")
	}
	if o.Pace == 0 {
		o.Pace = DefaultPace
	}
	if o.Idle <= 0 {
		o.Idle = DefaultIdle
	}
	start := (o.Start + Step - 1) / Step * Step
	if start < Step {
		start = Step
	}
	if start > cfg.Duration {
		return nil, fmt.Errorf("the start %s is after the run's end %s", format.ModelTime(cfg.Epoch, o.Start), format.ModelTime(cfg.Epoch, cfg.Duration))
	}
	cfg.Timeline = Faults(cfg.Timeline)
	cfg.Speed = config.MaxSpeed // the game paces itself, between steps
	g := &Game{
		opt: o, cfg: cfg, faults: cfg.Timeline, allowed: Allowed(o.Scenario.Config.Timeline),
		idle: o.Idle, startAt: start, pace: o.Pace,
		paused: true, // at the start, until the player resumes: nobody may be watching yet
		ended:  make(chan struct{}), wakeCh: make(chan struct{}), heldCh: make(chan struct{}), touchCh: make(chan struct{}, 1),
		compared: make(chan struct{}),
	}
	g.kernel = pipeline.NewKernel(cfg, sim.Serial)
	g.log = newTail(g.kernel, cfg.Epoch)
	return g, nil
}

// Faults is the timeline's faults: what the game keeps of a scenario's
// timeline, the operators' actions being the player's to take.
func Faults(tl incident.Timeline) incident.Timeline {
	var out incident.Timeline
	for _, ev := range tl {
		if incident.IsFault(ev.Action) && !ev.AfterDetection {
			out = append(out, ev)
		}
	}
	return out
}

// pairs are the actions that undo or complete one another: a scenario that
// lets its operators take one lets the player take the other.
var pairs = map[string][]string{
	"pause_builds":            {"resume_builds"},
	"resume_builds":           {"pause_builds"},
	"aggressive_cleanup":      {"normal_cleanup"},
	"normal_cleanup":          {"aggressive_cleanup"},
	"fix_cleanup_credentials": {"restart_janitor"},
	"restart_janitor":         {"fix_cleanup_credentials"},
}

// Allowed is the actions a player may take in a scenario whose timeline is
// tl: its operators' actions, those that undo or complete them, and
// turning a mitigation on or off, in the catalogue's order.
func Allowed(tl incident.Timeline) []string {
	set := map[string]bool{"enable_mitigation": true, "disable_mitigation": true}
	for _, ev := range tl {
		if incident.IsOperatorAction(ev.Action) {
			set[ev.Action] = true
			for _, p := range pairs[ev.Action] {
				set[p] = true
			}
		}
	}
	var out []string
	for _, a := range incident.Actions {
		if set[a.Name] {
			out = append(out, a.Name)
		}
	}
	return out
}

// Start is the model time from which the game is paced.
func (g *Game) Start() time.Duration { return g.startAt }

// Ended is closed once the run has ended and the scorecard is ready, or
// the game was abandoned.
func (g *Game) Ended() <-chan struct{} { return g.ended }

// Run plays the game: it runs the comparisons and the model, held at every
// step, until the model reaches its end, ctx is done, or no browser has
// been heard from for the idle timeout; then it waits for the comparisons
// (the scorecard's) and, unless the game was abandoned, for the idle
// timeout again, so that the browsers can read the scorecard and export
// the run. It returns the run's outcome.
func (g *Game) Run(ctx context.Context) (*outcome.Outcome, error) {
	runCtx, abandon := context.WithCancelCause(ctx)
	defer abandon(nil)
	g.mu.Lock()
	g.runCtx, g.abandon = runCtx, abandon
	g.mu.Unlock()

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { g.compare(runCtx) })
	wg.Go(func() { g.watchIdle(runCtx, abandon) })

	log := zap.New(g.log)
	if g.opt.Log != nil {
		log = zap.New(zapcoreTee(g.log, g.opt.Log))
	}
	out, err := outcome.Run(runCtx, g.cfg, g.kernel, outcome.Options{
		Log: log, Watchers: append([]series.Watcher{(*watcher)(g)}, g.opt.Watchers...),
		Hold: &pipeline.Hold{Every: Step, At: g.hold},
	})
	g.mu.Lock()
	g.over, g.result, g.runErr = true, out, err
	g.mu.Unlock()
	g.wake()
	select {
	case <-g.compared:
	case <-runCtx.Done():
	}
	close(g.ended)
	if runCtx.Err() == nil {
		<-runCtx.Done() // the idle timeout, or ctx: the scorecard stays up till then
	}
	if err == nil && out != nil && out.Summary.Ended != pipeline.ErrDurationReached.Error() && out.Summary.Ended != pipeline.ErrAllJobsFinished.Error() {
		err = fmt.Errorf("the game was abandoned at %s: %w", format.ModelTime(g.cfg.Epoch, out.Summary.Model), context.Cause(runCtx))
	}
	return out, err
}

// ErrIdle is why a game no browser was heard from ended.
var ErrIdle = errors.New("no browser was heard from for the idle timeout")

// watchIdle ends the game (abandon) once no browser has been heard from
// for the idle timeout.
func (g *Game) watchIdle(ctx context.Context, abandon context.CancelCauseFunc) {
	t := time.NewTimer(g.idle)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-g.touchCh:
			t.Reset(g.idle)
		case <-t.C:
			abandon(fmt.Errorf("%w (%s)", ErrIdle, g.idle))
			g.wake()
			return
		}
	}
}

// Touch says a browser was heard from.
func (g *Game) Touch() {
	select {
	case g.touchCh <- struct{}{}:
	default:
	}
}

// wake makes the hold look again at what has changed.
func (g *Game) wake() {
	g.mu.Lock()
	close(g.wakeCh)
	g.wakeCh = make(chan struct{})
	g.mu.Unlock()
}

// hold is the run's pipeline.Hold: at a nanosecond before step b it waits,
// on the wall clock, for the pace, a pause and an investigation, then
// gives the run the player's actions taken since the last step, to be
// applied at b.
func (g *Game) hold(ctx context.Context, b time.Duration) []incident.Event {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.held = b
	if g.investigate != nil && b >= g.until {
		g.reveals = append(g.reveals, g.reveal(*g.investigate, b))
		g.investigate = nil
	}
	if b >= g.startAt && !g.finishing {
		if g.pauseAt > 0 && b >= g.pauseAt {
			g.paused, g.pauseAt = true, 0
		}
		if g.wallDue.IsZero() || g.pace < 0 {
			g.wallDue = time.Now()
		}
		pausedHere := false
		for (g.paused && g.investigate == nil) || time.Now().Before(g.wallDue) {
			if g.finishing || ctx.Err() != nil {
				break
			}
			wake := g.wakeCh
			if g.paused && g.investigate == nil && !g.inPause {
				g.inPause, pausedHere = true, true
				close(g.heldCh)
				g.heldCh = make(chan struct{})
			}
			var t *time.Timer
			var timer <-chan time.Time
			if !g.paused || g.investigate != nil {
				t = time.NewTimer(time.Until(g.wallDue))
				timer = t.C
			}
			g.mu.Unlock()
			select {
			case <-wake:
			case <-timer:
			case <-ctx.Done():
			}
			if t != nil {
				t.Stop()
			}
			g.mu.Lock()
		}
		if pausedHere {
			g.wallDue = time.Now() // a pause does not make the model run to catch up
		}
		g.inPause = false
		if g.pace > 0 {
			g.wallDue = g.wallDue.Add(time.Duration(float64(g.pace) * float64(Step) / float64(time.Hour)))
		}
	}
	if b < g.startAt {
		return nil // the game begins at its start: what the player did before takes effect there
	}
	var events []incident.Event
	for _, i := range g.pending {
		g.actions[i].At, g.actions[i].Placed = b, true
		events = append(events, g.actions[i].Event)
	}
	g.pending = nil
	return events
}

// reveal is what investigation inv shows at step b, from the last row.
func (g *Game) reveal(inv Investigation, b time.Duration) Reveal {
	r := Reveal{Name: inv.Name, At: b}
	switch inv.Name {
	case "count_vms":
		r.Value = fmt.Sprintf("%d VMs on the cluster (the janitor reports %d)", g.last.VMs, g.last.ReportedVMs)
	case "janitor_logs":
		if g.last.JanitorFailing {
			r.Value = fmt.Sprintf("the janitor's passes fail: vSphere log-in failed; no pass has succeeded for %s", format.Duration(g.last.JanitorAge))
		} else {
			r.Value = fmt.Sprintf("the janitor's passes succeed; the last one %s ago", format.Duration(g.last.JanitorAge))
		}
	}
	return r
}

// Act takes the player's action ev: it takes effect at the next step. It
// returns the model time shown when it was taken.
func (g *Game) Act(ev incident.Event, seat string) (time.Duration, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if err := g.actableLocked(); err != nil {
		return 0, err
	}
	if !slices.Contains(g.allowed, ev.Action) {
		return 0, fmt.Errorf("%w: %q; the actions are %s", ErrNotAllowed, ev.Action, strings.Join(g.allowed, ", "))
	}
	ev.At, ev.AfterDetection = 0, false
	if err := ev.Validate(g.cfg.QueueNames()); err != nil {
		return 0, err
	}
	g.pending = append(g.pending, len(g.actions))
	g.actions = append(g.actions, Action{Event: ev, Taken: g.held, By: seat})
	return g.held, nil
}

// actableLocked says why the player cannot act now, if they cannot.
func (g *Game) actableLocked() error {
	switch {
	case g.over || g.finishing || g.runCtx != nil && g.runCtx.Err() != nil:
		return ErrEnded
	case g.investigate != nil:
		return ErrInvestigating
	}
	return nil
}

// Investigate starts the named investigation: its result shows once the
// model has run for its cost, and the player cannot act meanwhile.
func (g *Game) Investigate(name string) error {
	g.mu.Lock()
	if err := g.actableLocked(); err != nil {
		g.mu.Unlock()
		return err
	}
	for _, inv := range Investigations {
		if inv.Name == name {
			g.investigate, g.until = &inv, g.held+inv.Cost
			g.mu.Unlock()
			g.wake()
			return nil
		}
	}
	g.mu.Unlock()
	var names []string
	for _, inv := range Investigations {
		names = append(names, inv.Name)
	}
	return fmt.Errorf("no investigation %q; the investigations are %s", name, strings.Join(names, ", "))
}

// Control is a change to the game's clock: pause, resume, a pace, a pause
// at a model time, or the end of the game (the run goes on to its end at
// once, with no more actions).
type Control struct {
	Op      string        `json:"op"`             // pause, resume, pace, pause_at, finish
	Pace    time.Duration `json:"pace,omitempty"` // for pace: the wall time of a model hour; below 0, as fast as possible
	PauseAt time.Duration `json:"pause_at,omitempty"`
}

// Control changes the game's clock.
func (g *Game) Control(c Control) error {
	g.mu.Lock()
	if err := g.actableLocked(); err != nil && !errors.Is(err, ErrInvestigating) {
		g.mu.Unlock()
		return err
	}
	switch c.Op {
	case "pause":
		g.paused = true
	case "resume":
		g.paused, g.inPause = false, false
	case "pace":
		if c.Pace == 0 || c.Pace > time.Hour {
			g.mu.Unlock()
			return fmt.Errorf("pace %v: want the wall time of a model hour, from 1ns to 1h, or below 0 for as fast as possible", c.Pace)
		}
		g.pace = c.Pace
		g.wallDue = time.Now()
	case "pause_at":
		if c.PauseAt <= g.held || c.PauseAt > g.cfg.Duration {
			g.mu.Unlock()
			return fmt.Errorf("pause_at %s: want a model time after %s and by the end, %s", format.ModelTime(g.cfg.Epoch, c.PauseAt),
				format.ModelTime(g.cfg.Epoch, g.held), format.ModelTime(g.cfg.Epoch, g.cfg.Duration))
		}
		g.pauseAt = (c.PauseAt + Step - 1) / Step * Step
		g.paused, g.inPause = false, false
	case "finish":
		g.finishing, g.inPause = true, false
	default:
		g.mu.Unlock()
		return fmt.Errorf("no control %q; the controls are pause, resume, pace, pause_at and finish", c.Op)
	}
	g.mu.Unlock()
	g.wake()
	return nil
}

// Claim gives seat the controls; the seat that held them loses them. Once
// the game has ended there are no controls to take: ErrEnded, and the seat
// that held them keeps them.
func (g *Game) Claim(seat string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.over || g.finishing || g.runCtx != nil && g.runCtx.Err() != nil {
		return ErrEnded
	}
	g.seat = seat
	return nil
}

// Holds reports whether seat holds the controls.
func (g *Game) Holds(seat string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return seat != "" && seat == g.seat
}

// Actions is the player's actions so far.
func (g *Game) Actions() []Action {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.actions)
}

// Timeline is the run's timeline as it stands: the scenario's faults, then
// the player's actions placed so far, at their times, in the order the
// run applies them.
func (g *Game) Timeline() incident.Timeline {
	g.mu.Lock()
	defer g.mu.Unlock()
	tl := slices.Clone(g.faults)
	for _, a := range g.actions {
		if a.Placed {
			ev := a.Event
			ev.At = a.At
			tl = append(tl, ev)
		}
	}
	return tl
}

// Export is the scenario of the game's run, once it has ended: the
// scenario played, its timeline the faults and the player's actions at
// their model times, with no checks (they judge the scenario's own
// responders). Replayed, it is the same run.
func (g *Game) Export() ([]byte, error) {
	g.mu.Lock()
	over := g.over && g.runErr == nil && g.result != nil && g.result.Summary.Ended == pipeline.ErrDurationReached.Error() ||
		g.over && g.result != nil && g.result.Summary.Ended == pipeline.ErrAllJobsFinished.Error()
	g.mu.Unlock()
	if !over {
		return nil, errors.New("the run has not reached its end: finish the game first")
	}
	sc := *g.opt.Scenario
	sc.Name = sc.Name + "-gameday"
	sc.Description = "a game day on " + g.opt.Scenario.Name + ": its faults, and a player's actions at the model times they took effect"
	sc.Checks = nil
	sc.Config = g.cfg
	sc.Config.Speed = g.opt.Scenario.Config.Speed
	sc.Config.Timeline = g.Timeline()
	return scenario.Marshal(&sc)
}

// Outcome is the run's outcome, once it has ended.
func (g *Game) Outcome() (*outcome.Outcome, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.over {
		return nil, errors.New("the run has not ended")
	}
	return g.result, g.runErr
}

// Switches names the mitigations a player may turn on or off.
func Switches() []string { return incident.MitigationNames[:] }

// WaitPaused waits until the model is held in a pause, and returns the
// model time at which the player's actions will take effect; false if ctx
// is done or the game ends first.
func (g *Game) WaitPaused(ctx context.Context) (time.Duration, bool) {
	for {
		g.mu.Lock()
		if g.inPause {
			at := g.held
			g.mu.Unlock()
			return at, true
		}
		ch := g.heldCh
		g.mu.Unlock()
		select {
		case <-ch:
		case <-g.ended:
			return 0, false
		case <-ctx.Done():
			return 0, false
		}
	}
}
