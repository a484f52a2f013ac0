package pipeline

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"vmstorm/cluster"
	"vmstorm/internal/sim"
	"vmstorm/workers"
)

// Sample is the state of the model at one model time. Counts named as
// totals are cumulative from the start of the run.
type Sample struct {
	T           time.Duration
	VMs         int64 // true VM count: every VM on the cluster
	ReportedVMs int64 // the count the janitor last reported to monitoring
	InUse       int64 // VMs holding capacity (the gauge)
	Capacity    int64
	ByState     [len(cluster.States)]int64
	Backlog     int64
	Arrived     int64 // total
	Completed   int64 // total
	Failed      int64 // total
	Requeues    int64 // total
	InFlight    int64
	BusyWorkers [3]int64 // build, run, cleanup
}

// Observer watches a run as it goes: it is given every sample of the
// model's state, and every event of the run's timeline as it is applied.
// Calls come from one goroutine at a time, in model-time order; an Observer
// must return quickly, since sampling waits for it.
type Observer interface {
	Observe(Sample)
	Mark(Mark)
}

// Mark is one event of a run's timeline (a fault, or an operator's action),
// as applied.
type Mark struct {
	T    time.Duration
	Name string // the event's fixed snake_case name
	Note string // what it is, for people
}

// reporter samples the model at a fixed model interval, logs the status
// line, and logs the changes of state a person watching should not miss:
// the cluster filling up, and a requeue storm starting and ending. Its fields
// are owned by its Run goroutine until Run returns.
type reporter struct {
	clock       *sim.Clock
	cluster     *cluster.Cluster
	ledger      *workers.Ledger
	janitor     *workers.Janitor
	backlog     func() int
	stages      [3]*workers.Stage
	log         *zap.Logger
	statusEvery time.Duration
	sampleEvery time.Duration

	observers []Observer

	series     []Sample
	marks      []Mark // guarded by marksMu: the timeline's goroutine adds, the reporter reads
	marksMu    sync.Mutex
	lastStatus Sample
	full       bool
	storm      bool
	stormStart time.Duration // when the first storm was detected, if stormSeen
	stormSeen  bool
	peakRate   float64 // highest requeue rate over a status window, per model minute
}

func (r *reporter) Run(ctx context.Context) {
	for next := r.sampleEvery; r.clock.SleepUntil(ctx, next); next += r.sampleEvery {
		s := r.sample(next)
		r.watch(s)
		if s.T-r.lastStatus.T >= r.statusEvery {
			r.status(s)
		}
	}
}

// sample reads the model's counters at model time t and appends them to
// the series.
func (r *reporter) sample(t time.Duration) Sample {
	cs := r.cluster.Stats()
	js := r.ledger.Counts()
	s := Sample{
		T: t, VMs: cs.VMs, ReportedVMs: r.janitor.Stats().Reported,
		InUse: cs.InUse, Capacity: cs.Capacity, ByState: cs.ByState,
		Backlog: int64(r.backlog()), Arrived: js.Arrived, Completed: js.Completed,
		Failed: js.Failed, Requeues: js.Requeues, InFlight: js.InFlight,
	}
	for i, st := range r.stages {
		s.BusyWorkers[i] = st.Stats().BusyNow
	}
	r.series = append(r.series, s)
	for _, o := range r.observers {
		o.Observe(s)
	}
	return s
}

// mark records a timeline event and passes it to the observers.
func (r *reporter) mark(m Mark) {
	r.marksMu.Lock()
	defer r.marksMu.Unlock()
	r.marks = append(r.marks, m)
	for _, o := range r.observers {
		o.Mark(m)
	}
}

func (r *reporter) watch(s Sample) {
	switch full := s.InUse >= s.Capacity; {
	case full && !r.full:
		fields := []zap.Field{zap.Int64("in_use", s.InUse), zap.Int64("capacity", s.Capacity)}
		if at, ok := r.cluster.FilledAt(); ok {
			fields = append(fields, zap.Float64("first_full_s", at.Seconds()))
		}
		r.log.Warn("cluster_full", append(fields,
			zap.String("note", "every new power-on will fail until a VM is destroyed"))...)
		r.full = true
	case !full && r.full:
		r.log.Info("cluster_has_room", zap.Int64("in_use", s.InUse), zap.Int64("capacity", s.Capacity))
		r.full = false
	}
}

// status logs the status line with rates over the window since the last
// one, and judges from the same window whether a requeue storm is on: more
// requeues than arrivals.
func (r *reporter) status(s Sample) {
	prev := r.lastStatus
	r.lastStatus = s
	minutes := (s.T - prev.T).Minutes()
	requeueRate := float64(s.Requeues-prev.Requeues) / minutes
	arrivalRate := float64(s.Arrived-prev.Arrived) / minutes
	completionRate := float64(s.Completed-prev.Completed) / minutes
	r.peakRate = max(r.peakRate, requeueRate)

	r.log.Info("status",
		zap.Int64("vms", s.VMs), zap.Int64("reported_vms", s.ReportedVMs),
		zap.Int64("in_use", s.InUse), zap.Int64("capacity", s.Capacity),
		zap.Int64("never_booted", s.ByState[cluster.NeverBooted]),
		zap.Int64("backlog", s.Backlog), zap.Int64("in_flight", s.InFlight),
		zap.Float64("arrivals_per_min", round1(arrivalRate)),
		zap.Float64("requeues_per_min", round1(requeueRate)),
		zap.Float64("completions_per_min", round1(completionRate)))

	switch storm := requeueRate > arrivalRate && requeueRate > 0; {
	case storm && !r.storm:
		r.storm = true
		if !r.stormSeen {
			r.stormSeen, r.stormStart = true, s.T
		}
		r.log.Error("requeue_storm", zap.Float64("requeues_per_min", round1(requeueRate)),
			zap.Float64("arrivals_per_min", round1(arrivalRate)),
			zap.String("note", "jobs are requeued faster than they arrive"))
	case !storm && r.storm:
		r.storm = false
		r.log.Warn("requeue_storm_over", zap.Float64("requeues_per_min", round1(requeueRate)),
			zap.Float64("arrivals_per_min", round1(arrivalRate)))
	}
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
