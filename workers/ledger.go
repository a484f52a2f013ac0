package workers

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Ledger accounts for every job that enters the model. Each count is kept on
// its own, as jobs move, so that at the end of a run the counts can be
// checked against each other: arrived = completed + failed + queued + in
// flight, with queued counted from the queues themselves.
type Ledger struct {
	arrived      atomic.Int64
	inFlight     atomic.Int64 // taken by a Build worker and not yet completed, failed or requeued
	completed    atomic.Int64
	failed       atomic.Int64
	requeues     atomic.Int64 // requeue events
	requeuedJobs atomic.Int64 // distinct jobs requeued at least once
	firstRequeue atomic.Int64 // model ns, or -1

	maxJobs  int64
	finished atomic.Int64
	onDone   func()

	mu    sync.Mutex
	waits []time.Duration // from arrival to a powered-on VM, one per started job
}

// NewLedger returns an empty ledger. If maxJobs is positive, onDone is
// called, once, when that many jobs have completed or failed.
func NewLedger(maxJobs int64, onDone func()) *Ledger {
	l := &Ledger{maxJobs: maxJobs, onDone: onDone}
	l.firstRequeue.Store(-1)
	return l
}

func (l *Ledger) arrive() { l.arrived.Add(1) }
func (l *Ledger) take()   { l.inFlight.Add(1) }

func (l *Ledger) start(j *Job, now time.Duration) {
	l.mu.Lock()
	l.waits = append(l.waits, now-j.ArrivedAt)
	l.mu.Unlock()
}

// requeue records that a job went back to the backlog after its first or
// a later attempt, and reports whether it was the first requeue of the run.
func (l *Ledger) requeue(firstAttempt bool, now time.Duration) (first bool) {
	l.inFlight.Add(-1)
	l.requeues.Add(1)
	if firstAttempt {
		l.requeuedJobs.Add(1)
	}
	return l.firstRequeue.CompareAndSwap(-1, int64(now))
}

func (l *Ledger) complete() { l.inFlight.Add(-1); l.completed.Add(1); l.finish() }
func (l *Ledger) fail()     { l.inFlight.Add(-1); l.failed.Add(1); l.finish() }

func (l *Ledger) finish() {
	if n := l.finished.Add(1); l.maxJobs > 0 && n == l.maxJobs {
		l.onDone()
	}
}

// Counts is a snapshot of the ledger's counters.
type Counts struct {
	Arrived, InFlight, Completed, Failed int64
	Requeues, RequeuedJobs               int64
	// FirstRequeue is the model time of the first requeue; FirstRequeued is
	// false if there was none.
	FirstRequeue  time.Duration
	FirstRequeued bool
}

// Counts reads the counters.
func (l *Ledger) Counts() Counts {
	first := l.firstRequeue.Load()
	return Counts{
		Arrived:       l.arrived.Load(),
		InFlight:      l.inFlight.Load(),
		Completed:     l.completed.Load(),
		Failed:        l.failed.Load(),
		Requeues:      l.requeues.Load(),
		RequeuedJobs:  l.requeuedJobs.Load(),
		FirstRequeue:  time.Duration(first),
		FirstRequeued: first >= 0,
	}
}

// Waits returns, sorted, how long each started job waited from its arrival
// to a powered-on VM.
func (l *Ledger) Waits() []time.Duration {
	l.mu.Lock()
	w := slices.Clone(l.waits)
	l.mu.Unlock()
	slices.Sort(w)
	return w
}
