package pipeline

import (
	"context"
	"time"

	"go.uber.org/zap"

	"vmstorm/cluster"
	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/series"
	"vmstorm/workers"
)

// sampler reads the model's state into a series.Sample; it reads, and
// judges nothing.
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
	if p.policies.Switches.On(workers.Breaker) {
		s.Breaker = int64(p.policies.Breaker.State(t))
	}
	if p.policies.Switches.On(workers.RetryBudget) {
		s.RetryTokens = p.policies.Budget.Tokens()
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
// does on operators. A sink that is a Pager is asked after every sample.
type Pager interface {
	Detected() (at time.Duration, ok bool)
}

// timeline is what the observer has still to apply: the events at model
// times, in order, and those that wait for the pager's detection.
type timeline struct {
	future         incident.Timeline
	afterDetection incident.Timeline
	pager          Pager
}

// observe applies the timeline's events and samples the model, each at its
// model time, until the run stops, handing both to sink, and the breaker's
// transitions as marks before the sample that follows them. One process
// does both, events first, so that a sample due at the same instant as an
// event always sees it. It returns the last sample's time.
func (p sampler) observe(ctx context.Context, every time.Duration, tl timeline,
	parts incident.Parts, log *zap.Logger, applied func(incident.Event), sink series.Sink) (last time.Duration, err error) {
	last = -1
	for next := every; ; next += every {
		for len(tl.future) > 0 && tl.future[0].At <= next {
			if !sim.SleepUntil(ctx, max(tl.future[0].At, 0)) {
				return last, nil
			}
			if err := tl.future[0].Apply(parts, log, applied); err != nil {
				return last, err
			}
			tl.future = tl.future[1:]
		}
		if !sim.SleepUntil(ctx, next) {
			return last, nil
		}
		for _, m := range p.breakerMarks.take() {
			sink.Mark(m)
		}
		sink.Sample(p.sample(next))
		last = next
		if p.policies.Switches.On(workers.Shed) {
			p.queues.Poke() // the scheduler sheds at least each sample, paused queues too
		}
		if len(tl.afterDetection) > 0 && tl.pager != nil {
			if at, ok := tl.pager.Detected(); ok {
				// An event due before now (a delay shorter than the time
				// from the alert to the sample that reports it) happens now.
				tl.future = tl.future.Merge(tl.afterDetection.Detected(at))
				tl.afterDetection = nil
			}
		}
	}
}
