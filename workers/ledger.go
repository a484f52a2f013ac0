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
	// waiting counts the jobs still waiting for a VM by the model minute
	// they began to wait in; oldest is the first minute that may have some.
	// Jobs begin to wait in order of time, so oldest only moves back when a
	// lost build begins a new wait, and the age of the oldest waiting job is
	// found without a scan.
	waiting []int64
	oldest  int
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

// wait counts j among the jobs waiting for a VM (by delta, +1 or -1).
func (l *Ledger) wait(j *Job, delta int64) {
	l.mu.Lock()
	l.waitLocked(j, delta)
	l.mu.Unlock()
}

func (l *Ledger) waitLocked(j *Job, delta int64) {
	m := int(j.WaitingSince / time.Minute)
	for len(l.waiting) <= m {
		l.waiting = append(l.waiting, 0)
	}
	l.waiting[m] += delta
	if delta > 0 && m < l.oldest {
		l.oldest = m
	}
}

func (l *Ledger) start(j *Job, now time.Duration) {
	l.mu.Lock()
	l.waits = append(l.waits, now-j.WaitingSince)
	l.waitLocked(j, -1)
	l.mu.Unlock()
}

// OldestWait is how long the job that has waited longest for a VM has
// waited at model time now, to within a minute (rounded up), and false if
// no job is waiting.
func (l *Ledger) OldestWait(now time.Duration) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for l.oldest < len(l.waiting) && l.waiting[l.oldest] == 0 {
		l.oldest++
	}
	if l.oldest == len(l.waiting) {
		return 0, false
	}
	return max(now-time.Duration(l.oldest)*time.Minute, 0), true
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

// fail records that j failed for good; a job that never got a VM stops
// waiting for one.
func (l *Ledger) fail(j *Job) {
	if j.VM == nil {
		l.wait(j, -1)
	}
	l.inFlight.Add(-1)
	l.failed.Add(1)
	l.finish()
}

// lose records that j lost its VM at model time now (its worker crashed,
// or its build stalled): it waits for a VM again, from now.
func (l *Ledger) lose(j *Job, now time.Duration) {
	j.VM, j.WaitingSince = nil, now
	l.wait(j, 1)
}

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
