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
	for i, st := range p.stages {
		s.BusyWorkers[i] = st.Stats().BusyNow
	}
	return s
}

// observe applies the timeline's events and samples the model, each at its
// model time, until the run stops, handing both to sink. One process does
// both, events first, so that a sample due at the same instant as an
// event always sees it. It returns the last sample's time.
func (p sampler) observe(ctx context.Context, every time.Duration, events incident.Timeline,
	parts incident.Parts, log *zap.Logger, applied func(incident.Event), sink series.Sink) (last time.Duration, err error) {
	last = -1
	for next := every; ; next += every {
		for len(events) > 0 && events[0].At <= next {
			if !sim.SleepUntil(ctx, events[0].At) {
				return last, nil
			}
			if err := events[0].Apply(parts, log, applied); err != nil {
				return last, err
			}
			events = events[1:]
		}
		if !sim.SleepUntil(ctx, next) {
			return last, nil
		}
		sink.Sample(p.sample(next))
		last = next
	}
}
