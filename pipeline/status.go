package pipeline

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.uber.org/zap"

	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/incident"
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
	CPUInUse    int64 // VMs on, holding a CPU reservation
	CPUCapacity int64 // the CPU ceiling; 0 if none
	ByState     [len(cluster.States)]int64
	Backlog     int64
	OldestWait  time.Duration // of the jobs waiting for a VM (to within a minute)
	Arrived     int64         // total
	Completed   int64         // total
	Failed      int64         // total
	Requeues    int64         // total
	RateLimited int64         // total API calls the cloud refused
	InFlight    int64
	BusyWorkers [3]int64 // build, run, cleanup
	Paused      int      // queues paused
	Phase       string   // the incident's phase (see Phase)
	Firing      []string // the alerts firing, by name
}

// Observer watches a run as it goes: it is given every sample of the
// model's state, and every event of the run's timeline as it is applied.
// Calls are never concurrent (the run serialises them) and come in
// model-time order; an Observer must return quickly, since the model waits
// for it.
type Observer interface {
	Observe(Sample)
	Mark(Mark)
}

// Mark is one event of a run's timeline (a fault, or an operator's action),
// as applied.
type Mark struct {
	T    time.Duration
	Name string // the event's action, a fixed snake_case name
	Note string // what it is, for people
}

// The phases of an incident, as the reporter judges them from what the
// model does (not from the timeline's labels).
const (
	PhaseHealthy       = "healthy"        // nothing has gone wrong yet
	PhaseSilentLeak    = "silent leak"    // VMs leak (the janitor fails, or orphans pile up); no storm yet
	PhaseStorm         = "storm"          // requeues outrun arrivals
	PhasePaused        = "paused"         // every queue paused
	PhaseCatchUp       = "catch-up"       // working again, backlog above normal
	PhaseSecondFailure = "second failure" // a storm again, after an earlier one ended, with the janitor working
	PhaseReducedRate   = "reduced rate"   // backlog draining under a lowered build limit
	PhaseRecovered     = "recovered"      // after a fault, back to a normal backlog
)

// The alerts monitoring can raise.
const (
	AlertVMCount     = "vm_count_out_of_band"
	AlertRequeueRate = "requeue_rate_high"
	AlertBacklogAge  = "backlog_age_high"
)

// phaseDebounce is how many samples in a row a new phase must show before
// the reporter moves to it, so that a phase does not flicker at its edges.
const phaseDebounce = 3

// probes are what the reporter reads.
type probes struct {
	cluster   *cluster.Cluster
	ledger    *workers.Ledger
	janitor   *workers.Janitor
	scheduler *workers.Scheduler
	backlog   func() int
	stages    [3]*workers.Stage
}

// reporter samples the model at a fixed model interval, evaluates the
// alerts on what monitoring sees, judges the phase, logs the status line,
// and logs the changes of state a person watching should not miss. Its
// fields are owned by its Run goroutine until Run returns.
type reporter struct {
	cfg       config.Config
	clock     sim.Clock
	log       *zap.Logger
	observers []Observer
	probes

	series []Sample
	// mu guards marks, which Begin adds to from the run's goroutine before
	// Run starts, and serialises the calls to the observers.
	mu         sync.Mutex
	marks      []Mark
	lastStatus Sample

	full       bool
	storm      bool
	stormStart time.Duration // when the first storm was detected, if stormSeen
	stormSeen  bool
	peakRate   float64 // highest requeue rate over a status window, per model minute

	firing     map[string]bool
	firstFired map[string]time.Duration

	phase, candidate string
	candidates       int
	stormBefore      bool // a storm phase has come and gone
}

func newReporter(cfg config.Config, clock sim.Clock, log *zap.Logger, observers []Observer, p probes) *reporter {
	if cfg.Alerts.Window <= 0 {
		cfg.Alerts.Window = cfg.StatusEvery
	}
	return &reporter{
		cfg: cfg, clock: clock, log: log, observers: observers, probes: p,
		firing: map[string]bool{}, firstFired: map[string]time.Duration{}, phase: PhaseHealthy,
	}
}

// Run applies the timeline's events and samples the model, each at its
// model time, until ctx is done. One goroutine does both, events first, so
// that a sample due at the same instant as an event always sees it: a run
// with one seed repeats.
func (r *reporter) Run(ctx context.Context, events incident.Timeline, levers incident.Controls, applied func(incident.Event)) error {
	for next := r.cfg.SampleEvery; ; next += r.cfg.SampleEvery {
		for len(events) > 0 && events[0].At <= next {
			if !sim.SleepUntil(ctx, events[0].At) {
				return nil
			}
			if err := events[0].Apply(levers, r.log, applied); err != nil {
				return err
			}
			events = events[1:]
		}
		if !sim.SleepUntil(ctx, next) {
			return nil
		}
		s := r.sample(next)
		r.watch(s)
		if s.T-r.lastStatus.T >= r.cfg.StatusEvery {
			r.status(s)
		}
	}
}

// sample reads the model's state at model time t, judges alerts and phase,
// appends it to the series and passes it to the observers.
func (r *reporter) sample(t time.Duration) Sample {
	cs := r.cluster.Stats()
	js := r.ledger.Counts()
	s := Sample{
		T: t, VMs: cs.VMs, ReportedVMs: r.janitor.Stats().Reported,
		InUse: cs.InUse, Capacity: cs.Capacity, CPUInUse: cs.CPUInUse, CPUCapacity: cs.CPUCapacity,
		ByState: cs.ByState, Backlog: int64(r.backlog()), Arrived: js.Arrived, Completed: js.Completed,
		Failed: js.Failed, Requeues: js.Requeues, RateLimited: cs.RateLimited, InFlight: js.InFlight,
	}
	s.OldestWait, _ = r.ledger.OldestWait(t)
	for i, st := range r.stages {
		s.BusyWorkers[i] = st.Stats().BusyNow
	}
	s.Paused = r.scheduler.Controls.Paused()
	requeueRate, arrivalRate := r.rates(s)
	s.Firing = r.alerts(s, requeueRate)
	s.Phase = r.judgePhase(s, requeueRate, arrivalRate)
	r.series = append(r.series, s)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, o := range r.observers {
		o.Observe(s)
	}
	return s
}

// rates are the requeue and arrival rates, per model minute, over the
// alert window that ends at s.
func (r *reporter) rates(s Sample) (requeues, arrivals float64) {
	from := s.T - r.cfg.Alerts.Window
	i, _ := slices.BinarySearchFunc(r.series, from, func(x Sample, t time.Duration) int { return int(x.T - t) })
	if i >= len(r.series) {
		return 0, 0
	}
	prev := r.series[i]
	minutes := (s.T - prev.T).Minutes()
	if minutes <= 0 {
		return 0, 0
	}
	return float64(s.Requeues-prev.Requeues) / minutes, float64(s.Arrived-prev.Arrived) / minutes
}

// alerts evaluates the alert rules on what monitoring sees, logs those that
// start or stop firing, and returns those firing.
func (r *reporter) alerts(s Sample, requeueRate float64) []string {
	a := r.cfg.Alerts
	// Monitoring judges the VM count once the janitor has had a window to
	// report one: an empty cluster at the start is not an alert.
	warm := s.T >= a.Window
	rules := []struct {
		name   string
		firing bool
		value  float64
	}{
		{AlertVMCount, warm && (a.VMCountMin > 0 || a.VMCountMax > 0) &&
			(s.ReportedVMs < a.VMCountMin || (a.VMCountMax > 0 && s.ReportedVMs > a.VMCountMax)), float64(s.ReportedVMs)},
		{AlertRequeueRate, a.RequeueRateMax > 0 && requeueRate > a.RequeueRateMax, requeueRate},
		{AlertBacklogAge, a.BacklogAgeMax > 0 && s.OldestWait > a.BacklogAgeMax, s.OldestWait.Minutes()},
	}
	var firing []string
	for _, rule := range rules {
		switch {
		case rule.firing && !r.firing[rule.name]:
			r.firing[rule.name] = true
			if _, seen := r.firstFired[rule.name]; !seen {
				r.firstFired[rule.name] = s.T
			}
			r.log.Error("alert_firing", zap.String("alert", rule.name), zap.Float64("value", round1(rule.value)))
		case !rule.firing && r.firing[rule.name]:
			r.firing[rule.name] = false
			r.log.Warn("alert_resolved", zap.String("alert", rule.name), zap.Float64("value", round1(rule.value)))
		}
		if rule.firing {
			firing = append(firing, rule.name)
		}
	}
	return firing
}

// judgePhase classifies the state at s, and moves to a new phase once it
// has shown for phaseDebounce samples in a row.
func (r *reporter) judgePhase(s Sample, requeueRate, arrivalRate float64) string {
	now := r.classify(s, requeueRate, arrivalRate)
	if now == r.phase {
		r.candidate, r.candidates = "", 0
		return r.phase
	}
	if now != r.candidate {
		r.candidate, r.candidates = now, 0
	}
	r.candidates++
	if r.candidates >= phaseDebounce {
		r.log.Warn("phase_changed", zap.String("from", r.phase), zap.String("to", now))
		if stormy(r.phase) && !stormy(now) {
			r.stormBefore = true
		}
		r.phase, r.candidate, r.candidates = now, "", 0
	}
	return r.phase
}

func stormy(phase string) bool { return phase == PhaseStorm || phase == PhaseSecondFailure }

func (r *reporter) classify(s Sample, requeueRate, arrivalRate float64) string {
	// A storm starts when requeues outrun arrivals, and lasts until they
	// fall under half the arrival rate.
	storm := requeueRate > 0 && (requeueRate > arrivalRate || (stormy(r.phase) && requeueRate > arrivalRate/2))
	failing := r.janitor.Failing()
	// Leaking: the janitor cleans nothing, or VMs abandoned by their
	// workers pile up (more than a twentieth of the cluster).
	leaking := failing || s.ByState[cluster.Orphaned]*20 > s.Capacity
	// A backlog is high above Drained, and stays high until it is under
	// half of it, so that a phase does not flicker at the threshold.
	backlogHigh := s.OldestWait > r.cfg.Drained ||
		(s.OldestWait > r.cfg.Drained/2 && (r.phase == PhaseCatchUp || r.phase == PhaseReducedRate))
	switch {
	case s.Paused == len(r.cfg.Queues):
		return PhasePaused
	case storm && stormy(r.phase):
		return r.phase
	case storm && r.stormBefore && !failing:
		return PhaseSecondFailure
	case storm:
		return PhaseStorm
	case leaking:
		return PhaseSilentLeak
	case backlogHigh && r.reduced():
		return PhaseReducedRate
	case backlogHigh && r.anyMarks():
		return PhaseCatchUp
	case r.phase != PhaseHealthy:
		return PhaseRecovered
	default:
		return PhaseHealthy
	}
}

// reduced reports whether any queue runs under a lower build limit than it
// was configured with.
func (r *reporter) reduced() bool {
	for q, cfg := range r.cfg.Queues {
		limit := r.scheduler.Controls.Limit(q)
		if limit > 0 && (cfg.MaxBuilds == 0 || limit < cfg.MaxBuilds) {
			return true
		}
	}
	return false
}

func (r *reporter) anyMarks() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.marks) > 0
}

// mark records a timeline event and passes it to the observers.
func (r *reporter) mark(m Mark) {
	r.mu.Lock()
	defer r.mu.Unlock()
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

	fields := []zap.Field{
		zap.Int64("vms", s.VMs), zap.Int64("reported_vms", s.ReportedVMs),
		zap.Int64("in_use", s.InUse), zap.Int64("capacity", s.Capacity),
	}
	if s.CPUCapacity > 0 {
		fields = append(fields, zap.Int64("cpu_in_use", s.CPUInUse), zap.Int64("cpu_capacity", s.CPUCapacity))
	}
	fields = append(fields,
		zap.Int64("never_booted", s.ByState[cluster.NeverBooted]),
		zap.Int64("backlog", s.Backlog), zap.Float64("oldest_wait_min", round1(s.OldestWait.Minutes())),
		zap.Int64("in_flight", s.InFlight),
		zap.Float64("arrivals_per_min", round1(arrivalRate)),
		zap.Float64("requeues_per_min", round1(requeueRate)),
		zap.Float64("completions_per_min", round1(completionRate)),
		zap.String("phase", s.Phase))
	r.log.Info("status", fields...)

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
