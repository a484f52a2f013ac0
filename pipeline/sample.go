package pipeline

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"vmstorm/cluster"
	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/series"
	"vmstorm/workers"
)

// sampler reads the model's state into a series.Sample; it reads, and
// judges nothing. Nothing it does changes the model: a run sampled at any
// -sample-every is the same run (scenario's TestObservationNeverChangesTheModel).
type sampler struct {
	clock   sim.Clock
	cluster *cluster.Cluster
	ledger  *workers.Ledger
	janitor *workers.Janitor
	queues  *workers.QueueControls
	backlog func() int64
	stages  [3]*workers.Stage

	policies     *workers.Policies
	backoffs     *workers.Backoffs
	breakerMarks *transitions
}

func (p sampler) sample(t time.Duration) series.Sample {
	cs := p.cluster.Stats()
	js := p.ledger.Counts()
	s := series.Sample{
		T: t, VMs: cs.VMs, ReportedVMs: p.janitor.Stats().Reported,
		InUse: cs.InUse, Capacity: cs.Capacity, CPUInUse: cs.CPUInUse, CPUCapacity: cs.CPUCapacity,
		ByState: cs.ByState, Backlog: p.backlog(), Arrived: js.Arrived, Completed: js.Completed,
		Failed: js.Failed, Requeues: js.Requeues, RateLimited: cs.RateLimited, InFlight: js.InFlight,
		Paused: p.queues.Paused(), ReducedQueues: p.queues.Reduced(), JanitorFailing: p.janitor.Failing(),
	}
	s.OldestWait, _ = p.ledger.OldestWait(t)
	s.FailedByBudget, s.Shed, s.BackingOff = js.FailedByBudget, js.Shed, int64(p.backoffs.Len())
	if p.policies.Switches.On(incident.Breaker) {
		s.Breaker = int64(p.policies.Breaker.Observe(t)) // State would move the breaker: a sample must not
	}
	if p.policies.Switches.On(incident.RetryBudget) {
		s.RetryTokens = p.policies.RetryBudget.Tokens()
	}
	s.Reaped = p.janitor.Stats().Reaped
	s.JanitorAge = t
	if at, ok := p.janitor.LastSuccess(); ok {
		s.JanitorAge = t - at
	}
	for i, st := range p.stages {
		s.BusyWorkers[i] = st.Stats().BusyNow
	}
	return s
}

// Pager is the part of monitoring that pages the operators: it reports
// detection (the first alert at or after the first fault) once there is
// one. The timeline's events placed after detection wait for it: the one
// path by which what the analysis sees acts back on the model, as an alert
// does on operators. A run's Options.Pager is asked after every sample
// until it reports detection, which the observer then tells the timeline.
type Pager interface {
	Detected() (at time.Duration, ok bool)
}

// timeline is the model's process that applies the timeline's events,
// each at its model time, on a schedule of its own: nothing the sampler
// does moves it, so that a run sampled at any -sample-every is the same
// run. It hands each event, as it applies it, to the observer as a mark,
// and takes the sample due at the same instant, if one is, at once after
// the events (so that the sample sees them and nothing done after them).
// It alone keeps the schedule of events to come: those at fixed times,
// those a game's Hold adds, and those timed from detection, which it
// places on its schedule when the observer tells it of detection
// (detected): the one path from what is observed back to the model, by
// design.
type timeline struct {
	parts levers
	log   *zap.Logger
	now   func() time.Duration
	obs   *observer

	mu       sync.Mutex
	future   incident.Timeline // guarded by mu: the events to apply, in order of time
	applying bool              // guarded by mu: an event taken from future is being applied
	// afterDetection, guarded by mu, are the events timed from detection,
	// in order of their delays, until detection places them in future.
	afterDetection incident.Timeline
	added          *sim.Signal // events were added to future
}

// run applies the events, each at its model time (one due before now, at
// once), until the run stops; it returns the first error of one.
func (tl *timeline) run(ctx context.Context) error {
	for {
		tl.mu.Lock()
		pending := len(tl.future) > 0
		var at time.Duration
		if pending {
			at = tl.future[0].At
		}
		tl.mu.Unlock()
		if !pending {
			if !sim.WaitFor(ctx, tl.added) {
				return nil
			}
			continue
		}
		if wait := at - tl.now(); wait > 0 {
			woken, ok := sim.SleepOrWake(ctx, wait, tl.added)
			if !ok {
				return nil
			}
			if woken {
				continue // events added: the next may be sooner
			}
		}
		for tl.dueBy(tl.now()) {
			tl.mu.Lock()
			ev := tl.future[0]
			tl.future, tl.applying = tl.future[1:], true
			tl.mu.Unlock()
			err := tl.parts.apply(ev, tl.log, tl.mark)
			tl.mu.Lock()
			tl.applying = false
			tl.mu.Unlock()
			if err != nil {
				return err
			}
		}
		tl.obs.sampleIfDue(tl.now())
	}
}

// mark hands an applied event to the observer as a mark.
func (tl *timeline) mark(ev incident.Event) {
	tl.obs.mark(eventMark(tl.now(), ev))
}

// dueBy reports whether an event due by model time t is still to apply,
// or being applied.
func (tl *timeline) dueBy(t time.Duration) bool {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	return tl.applying || (len(tl.future) > 0 && tl.future[0].At <= t)
}

// merge adds events to the future (a game's Hold's, or those detection
// places), and wakes the process to look again.
func (tl *timeline) merge(events incident.Timeline) {
	tl.mu.Lock()
	tl.future = tl.future.Merge(events)
	tl.mu.Unlock()
	tl.added.Notify()
}

// detected is the observer's report of detection at model time at (the
// pager's): the timeline places its events timed from detection, once,
// each at at plus its delay (one due before now happens now: a delay
// shorter than the time from the alert to the sample that reports it).
func (tl *timeline) detected(at time.Duration) {
	tl.mu.Lock()
	waiting := tl.afterDetection
	tl.afterDetection = nil
	tl.mu.Unlock()
	if len(waiting) > 0 {
		tl.merge(waiting.Detected(at))
	}
}

// observer hands the sink what the run observes, from the two processes
// that see it, one call at a time: the timeline's events as marks, as the
// timeline applies them; the breaker's transitions as marks before the
// sample that follows them; and a sample at every interval of model time
// (the first at every), each taken once. After a sample it asks the pager
// for detection until the pager reports it, and then tells the timeline,
// once; the timeline's schedule is the timeline's alone.
type observer struct {
	smp   sampler
	sink  series.Sink
	every time.Duration
	tl    *timeline

	mu       sync.Mutex
	last     time.Duration // guarded by mu: the last sample's time; -1 before the first
	taken    series.Sample // guarded by mu: the last sample
	pager    Pager         // nil for none: nothing is ever detected
	reported bool          // guarded by mu: the timeline was told of detection
}

func (o *observer) mark(m series.Mark) {
	o.mu.Lock()
	o.sink.Mark(m)
	o.mu.Unlock()
}

// sampleIfDue takes the sample due at model time t, if t is a sample's
// time and it has not been taken.
func (o *observer) sampleIfDue(t time.Duration) {
	if t >= o.every && t%o.every == 0 {
		o.sampleAt(t)
	}
}

// sampleAt takes the sample at model time t, unless one has been taken at
// t or later.
func (o *observer) sampleAt(t time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if t <= o.last {
		return
	}
	o.take(t)
}

// sampleEnd takes the last sample, the state at the end of the run: at
// end, unless one was taken then and nothing has changed since. A run that
// stops at a sample's instant (a -duration at a timeline event's time)
// may have done more at that instant after its sample (the builds a crash
// requeues); the series must end with what the summary counts, so that
// -analyze of it says what the run said.
func (o *observer) sampleEnd(end time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if end < o.last || (end == o.last && o.smp.sample(end) == o.taken) {
		return
	}
	o.take(end)
}

// take hands the sink the breaker's transitions and the sample at t.
// Called with mu held.
func (o *observer) take(t time.Duration) {
	for _, m := range o.smp.breakerMarks.take() {
		o.sink.Mark(m)
	}
	o.taken = o.smp.sample(t)
	o.sink.Sample(o.taken)
	o.last = t
	if o.pager != nil && !o.reported {
		if at, ok := o.pager.Detected(); ok {
			o.tl.detected(at)
			o.reported = true
		}
	}
}

// run samples the model every interval of model time until the run stops.
// A sample due at the same instant as a timeline event is the timeline's
// to take, once it has applied the event. It only reads the model.
func (o *observer) run(ctx context.Context) {
	for next := o.every; ; next += o.every {
		if !sim.SleepUntil(ctx, next) {
			return
		}
		if !o.tl.dueBy(next) {
			o.sampleAt(next)
		}
	}
}

// eventMark is the mark of timeline event ev applied at model time t.
func eventMark(t time.Duration, ev incident.Event) series.Mark {
	return series.Mark{T: t, Name: ev.Action, Note: ev.Describe(), ID: ev.ID}
}
