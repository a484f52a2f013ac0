// Package series is what a run observes of itself, as data: the model's
// state at each sample time (Sample) and the timeline's events as they are
// applied (Mark), which the model emits; the judgement the analysis adds to
// each sample (Row); the CSV file they are written to and read back from;
// and a bounded keeper of rows for the charts. Data flows one way: the
// model emits samples, the analysis judges them, the outputs show them.
package series

import (
	"time"

	"vmstorm/internal/vmstate"
)

// Sample is the state of the model at one model time: everything that
// judgement needs, and no judgement. Counts named as totals are cumulative
// from the start of the run.
type Sample struct {
	T           time.Duration
	VMs         int64 // true VM count: every VM on the cluster
	ReportedVMs int64 // the count the janitor last reported to monitoring (0: none)
	InUse       int64 // VMs holding capacity (the gauge)
	Capacity    int64
	CPUInUse    int64 // VMs on, holding a CPU reservation
	CPUCapacity int64 // the CPU ceiling; 0 if none
	ByState     [len(vmstate.States)]int64
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
	// ReducedQueues is how many queues run under a lower limit of
	// concurrent builds than they were configured with.
	ReducedQueues int
	// JanitorFailing: the janitor's last pass failed (it could not log in,
	// or the API refused its listing).
	JanitorFailing bool

	// The mitigations' state (docs/mitigations.md).
	FailedByBudget int64 // total, of Failed: refused a retry by the retry budget
	Shed           int64 // total jobs dropped from the backlog past their deadline
	BackingOff     int64 // jobs waiting out a backoff (counted in Backlog too)
	Breaker        int64 // the circuit breaker: 0 closed (or off), 1 open, 2 half-open
	RetryTokens    float64
	Reaped         int64 // total never-booted VMs the reaper handed out
	// JanitorAge is the time since the janitor's last successful pass (or
	// since the start, if it has had none): what honest monitoring watches.
	JanitorAge time.Duration
}

// Mark is one event of a run's timeline (a fault, or an operator's action),
// as applied.
type Mark struct {
	T    time.Duration
	Name string // the event's action, a fixed snake_case name
	Note string // what it is, for people, with its arguments
	// ID is the timeline entry's id, if it has one (incident.Event.ID).
	ID string
}

// Sink takes what a running model emits: every sample, and every timeline
// event as it is applied, in model-time order and never concurrently. It
// must return quickly: the model waits for it.
type Sink interface {
	Sample(Sample)
	Mark(Mark)
}

// Rates are per model minute, over the window that ends at a sample.
type Rates struct {
	Requeues, Arrivals, Completions float64
}

// Row is a sample with the analysis's judgement of it: the rates over the
// window, the phase the incident is in, the alerts firing, and what
// changed at this sample (for the log).
type Row struct {
	Sample
	Rates   Rates
	Phase   string
	Firing  []string
	Changes []Change
}

// Change is something that changed at a sample, worth a log line of its
// own: an alert firing or resolving, a phase beginning, a storm beginning
// or ending, the cluster filling or getting room again.
type Change struct {
	Event  string // a fixed snake_case name: alert_firing, phase_changed, ...
	Name   string // the alert or the phase, if any
	From   string // the phase before, for phase_changed
	Value  float64
	Detail string // for people
}

// Watcher takes the rows of a run as the analysis judges them, and the
// timeline's events: the status line, the live view, the metrics, the CSV
// file. Calls are never concurrent and come in model-time order.
type Watcher interface {
	Row(Row)
	Mark(Mark)
}
