package workers

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Ledger accounts for every job that enters the model. Each count is kept on
// its own, as jobs move, so that at the end of a run the counts can be
// checked against each other: arrived = completed + failed + shed + queued
// + in flight, with queued counted from the queues themselves. Its memory does
// not grow with the jobs it has seen: waits go into a histogram.
type Ledger struct {
	arrived      atomic.Int64
	inFlight     atomic.Int64 // taken by a Build worker and not yet completed, failed or requeued
	completed    atomic.Int64
	failed       atomic.Int64
	failedBudget atomic.Int64 // of failed: refused a retry by the retry budget
	shed         atomic.Int64 // dropped from the backlog past their deadline
	requeues     atomic.Int64 // requeue events
	requeuedJobs atomic.Int64 // distinct jobs requeued at least once
	firstRequeue atomic.Int64 // model ns, or -1

	maxJobs  int64
	finished atomic.Int64
	onDone   func()
	delayed  time.Duration // a start after a longer wait is delayed

	mu sync.Mutex
	// waits holds, per VM start, the wait from the moment the job began to
	// wait (its arrival, or the loss of its build) to its powered-on VM.
	waits        *hdrhistogram.Histogram
	delayedStart int64 // starts that waited longer than delayed
	// waiting counts the jobs still waiting for a VM by the model minute
	// they began to wait in, from minute base on; oldest is the first
	// minute that may have some. Jobs begin to wait in order of time, so
	// the age of the oldest waiting job is found without a scan, and the
	// minutes before it are dropped.
	waiting []int64
	base    int
	oldest  int
}

// Waits are recorded in milliseconds, up to MaxWait, to three significant
// figures.
const (
	MaxWait     = 10 * 365 * 24 * time.Hour
	waitUnit    = time.Millisecond
	waitDigits  = 3
	maxWaitUnit = int64(MaxWait / waitUnit)
)

// NewLedger returns an empty ledger. If maxJobs is positive, onDone is
// called, once, when that many jobs have completed or failed. A start after
// a wait longer than delayed counts as delayed.
func NewLedger(maxJobs int64, delayed time.Duration, onDone func()) *Ledger {
	l := &Ledger{maxJobs: maxJobs, onDone: onDone, delayed: delayed,
		waits: NewWaitHistogram()}
	l.firstRequeue.Store(-1)
	return l
}

// NewWaitHistogram returns an empty histogram of waits, as the ledger keeps
// them; record with RecordWait, and give it back with FreeWaitHistogram
// when done. One is 30,000 counts (240 kB): the runs of an experiment, one
// after another, reuse them rather than allocate and clear new ones.
func NewWaitHistogram() *hdrhistogram.Histogram {
	return waitHistograms.Get().(*hdrhistogram.Histogram)
}

// FreeWaitHistogram empties h and keeps it for NewWaitHistogram; nothing
// may use it after.
func FreeWaitHistogram(h *hdrhistogram.Histogram) {
	h.Reset()
	waitHistograms.Put(h)
}

var waitHistograms = sync.Pool{New: func() any { return hdrhistogram.New(1, maxWaitUnit, waitDigits) }}

// RecordWait records wait d in h, clamped to MaxWait.
func RecordWait(h *hdrhistogram.Histogram, d time.Duration) {
	_ = h.RecordValue(min(max(int64(d/waitUnit), 1), maxWaitUnit))
}

// WaitAt converts a histogram value back to a duration.
func WaitAt(v int64) time.Duration { return time.Duration(v) * waitUnit }

// arrive counts j in: arrived, and waiting for a VM.
func (l *Ledger) arrive(j *Job) {
	l.arrived.Add(1)
	l.wait(j, 1)
}

// unarrive takes back arrive, for a job that never reached the scheduler.
func (l *Ledger) unarrive(j *Job) {
	l.arrived.Add(-1)
	l.wait(j, -1)
}

func (l *Ledger) take() { l.inFlight.Add(1) }

// wait counts j among the jobs waiting for a VM (by delta, +1 or -1).
func (l *Ledger) wait(j *Job, delta int64) {
	l.mu.Lock()
	l.waitLocked(j, delta)
	l.mu.Unlock()
}

func (l *Ledger) waitLocked(j *Job, delta int64) {
	m := int(j.WaitingSince/time.Minute) - l.base
	if m < 0 {
		// Older than every minute kept: a lost build cannot begin to wait
		// before the oldest job waiting, unless none waits.
		l.waiting = append(make([]int64, -m), l.waiting...)
		l.base += m
		l.oldest -= m
		m = 0
	}
	for len(l.waiting) <= m {
		l.waiting = append(l.waiting, 0)
	}
	l.waiting[m] += delta
	if delta > 0 && m < l.oldest {
		l.oldest = m
	}
}

// start records that j got a powered-on VM at model time now.
func (l *Ledger) start(j *Job, now time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := now - j.WaitingSince
	RecordWait(l.waits, w)
	if w > l.delayed {
		l.delayedStart++
	}
	l.waitLocked(j, -1)
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
	// Drop the minutes before the oldest once they are half the slice.
	if l.oldest > 64 && 2*l.oldest > len(l.waiting) {
		n := copy(l.waiting, l.waiting[l.oldest:])
		l.waiting = l.waiting[:n]
		l.base += l.oldest
		l.oldest = 0
	}
	if l.oldest == len(l.waiting) {
		return 0, false
	}
	return max(now-time.Duration(l.base+l.oldest)*time.Minute, 0), true
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

// unrequeue takes back a requeue that never reached the scheduler, because
// the run stopped: the job stays in flight.
func (l *Ledger) unrequeue(firstAttempt, first bool) {
	l.inFlight.Add(1)
	l.requeues.Add(-1)
	if firstAttempt {
		l.requeuedJobs.Add(-1)
	}
	if first {
		l.firstRequeue.Store(-1)
	}
}

func (l *Ledger) complete() { l.inFlight.Add(-1); l.completed.Add(1); l.finish() }

// fail records that j, in flight, failed for good (byBudget: the retry
// budget refused its retry); a job that never got a VM stops waiting for
// one.
func (l *Ledger) fail(j *Job, byBudget bool) {
	if j.VM == nil {
		l.wait(j, -1)
	}
	l.inFlight.Add(-1)
	l.failed.Add(1)
	if byBudget {
		l.failedBudget.Add(1)
	}
	l.finish()
}

// shedJob records that j, waiting in the backlog, was dropped past its
// deadline.
func (l *Ledger) shedJob(j *Job) {
	l.wait(j, -1)
	l.shed.Add(1)
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

// Held is how many jobs the model holds: arrived and not yet completed,
// failed or shed.
func (l *Ledger) Held() int64 {
	return l.arrived.Load() - l.completed.Load() - l.failed.Load() - l.shed.Load()
}

// Counts is a snapshot of the ledger's counters.
type Counts struct {
	Arrived, InFlight, Completed, Failed int64
	// FailedByBudget is the failed jobs the retry budget refused a retry;
	// Shed is the jobs dropped from the backlog past their deadline.
	FailedByBudget, Shed   int64
	Requeues, RequeuedJobs int64
	// FirstRequeue is the model time of the first requeue; FirstRequeued is
	// false if there was none.
	FirstRequeue  time.Duration
	FirstRequeued bool
}

// Counts reads the counters.
func (l *Ledger) Counts() Counts {
	first := l.firstRequeue.Load()
	return Counts{
		Arrived:        l.arrived.Load(),
		InFlight:       l.inFlight.Load(),
		Completed:      l.completed.Load(),
		Failed:         l.failed.Load(),
		FailedByBudget: l.failedBudget.Load(),
		Shed:           l.shed.Load(),
		Requeues:       l.requeues.Load(),
		RequeuedJobs:   l.requeuedJobs.Load(),
		FirstRequeue:   time.Duration(first),
		FirstRequeued:  first >= 0,
	}
}

// Waits returns the histogram of waits from the moment a job began to wait
// to its powered-on VM, one per VM start, and how many of those starts
// waited longer than the ledger's delay. The histogram is the ledger's
// own, not a copy (a copy of its 30,000 counts was a good part of what a
// short run allocated): call it once the run is over; what is recorded in
// it then is the caller's to know.
func (l *Ledger) Waits() (*hdrhistogram.Histogram, int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.waits, l.delayedStart
}

// Release gives the ledger's histogram of waits back for another ledger's
// use (see FreeWaitHistogram): call it once nothing reads the ledger.
func (l *Ledger) Release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	FreeWaitHistogram(l.waits)
	l.waits = nil
}
