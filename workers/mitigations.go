package workers

import (
	"container/heap"
	"context"
	"sync"
	"sync/atomic"
	"time"

	"vmstorm/incident"
	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
	"vmstorm/mitigate"
)

// Switches say which mitigations are on. A timeline action may turn one on
// or off at any model time; every part reads its switch when it acts. They
// are safe to use from any goroutine.
type Switches struct {
	on [incident.NumMitigations]atomic.Bool
	// changed, if set, is called after every change (the scheduler's poke,
	// so that a change of dispatch rules takes effect at once).
	changed func()
}

// NewSwitches returns switches all off; changed, if not nil, is called
// after every change.
func NewSwitches(changed func()) *Switches { return &Switches{changed: changed} }

// Set turns m on or off.
func (s *Switches) Set(m incident.Mitigation, on bool) {
	s.on[m].Store(on)
	if s.changed != nil {
		s.changed()
	}
}

// On reports whether m is on. A nil Switches has every mitigation off.
func (s *Switches) On(m incident.Mitigation) bool { return s != nil && s.on[m].Load() }

// Policies are the state of the mitigations that keep some, shared by the
// Build workers: the circuit breaker and the retry budget, and the backoff's
// settings.
type Policies struct {
	Switches    *Switches
	Backoff     mitigate.Backoff
	Breaker     *mitigate.Breaker
	RetryBudget *mitigate.RetryBudget
	// BreakerChanged is broadcast at every transition of the breaker, so
	// that the workers it refused look again.
	BreakerChanged *sim.Signal
}

// PolicySettings are the settings of the mitigations whose state the Build
// workers share: the backoff's, the circuit breaker's and the retry
// budget's.
type PolicySettings struct {
	Backoff     mitigate.Backoff
	Breaker     mitigate.BreakerSettings
	RetryBudget mitigate.RetryBudgetSettings
}

// NewPolicies makes the mitigations' switches, all off, and their shared
// state in kernel k, with settings s: the breaker, whose transitions go
// to onTransition (if not nil) and wake the workers it refused; the retry
// budget; and the backoff's settings. A switch turned takes effect at once:
// the scheduler looks again at what it may hand out (queues.Poke), and the
// workers the breaker refused ask again.
func NewPolicies(k *sim.Kernel, queues *QueueControls, s PolicySettings, onTransition func(mitigate.Transition)) (*Policies, error) {
	changed := sim.NewSignal(k)
	p := &Policies{Backoff: s.Backoff, BreakerChanged: changed}
	p.Switches = NewSwitches(func() { queues.Poke(); changed.Broadcast() })
	var err error
	if p.Breaker, err = mitigate.NewBreaker(s.Breaker, func(t mitigate.Transition) {
		if onTransition != nil {
			onTransition(t)
		}
		changed.Broadcast()
	}); err != nil {
		return nil, err
	}
	if p.RetryBudget, err = mitigate.NewRetryBudget(s.RetryBudget); err != nil {
		return nil, err
	}
	return p, nil
}

// on reports whether m is on; a nil Policies has every mitigation off.
func (p *Policies) on(m incident.Mitigation) bool { return p != nil && p.Switches.On(m) }

// breakerWait is how long a worker refused by a half-open breaker waits
// for a transition before it asks again, in case none comes.
const breakerWait = time.Hour

// waitForBreaker asks the breaker, if it is on, to let one start through.
// While it refuses, the worker waits, holding no job: until the breaker
// turns half-open, or until a transition. It returns the Done to report the
// start's outcome with (nil if the breaker is off), and false if the run
// stopped.
func (p *Policies) waitForBreaker(ctx context.Context, clock sim.Clock) (mitigate.Done, bool) {
	for p.on(incident.Breaker) {
		now := clock.Now()
		done, ok := p.Breaker.Allow(now)
		if ok {
			return done, true
		}
		wait := breakerWait
		if until, open := p.Breaker.OpenUntil(now); open {
			wait = until - now
		}
		if _, ok := sim.SleepOrWake(ctx, wait, p.BreakerChanged); !ok {
			return nil, false
		}
	}
	return nil, true
}

// refuses reports whether the breaker, if it is on, refuses at model time
// now a start that a worker asked for earlier (with done, its permit, nil
// if the breaker was off then): it was turned on since, or it is open.
func (p *Policies) refuses(now time.Duration, done mitigate.Done) bool {
	return p.on(incident.Breaker) && (done == nil || p.Breaker.State(now) == mitigate.Open)
}

// record reports a start's outcome at model time now to the breaker (done,
// if it let the start through) and, if it is on, to the retry budget.
func (p *Policies) record(now time.Duration, done mitigate.Done, success bool) {
	if done != nil {
		done(now, success)
	}
	if p.on(incident.RetryBudget) {
		if success {
			p.RetryBudget.OnSuccess()
		} else {
			p.RetryBudget.OnFailure()
		}
	}
}

// backoffDelay is how long job waits before its next start, drawn from the
// backoff stream of the attempt that failed, or 0 if backoff is off.
func (p *Policies) backoffDelay(seed uint64, job *Job) time.Duration {
	if !p.on(incident.Backoff) {
		return 0
	}
	// A purpose of its own, so that the job's other draws are the same with
	// backoff and without.
	r := dist.Backoff.Stream(seed, job.ID, uint64(job.Attempts))
	return p.Backoff.Delay(job.Attempts-1, r)
}

// Backoffs is the waiting room of the jobs backing off after a failed
// start: each waits there, holding no worker, until its delay is over, and
// then goes back to the scheduler. Add may be called from any process; Run
// is the process that sends the jobs back on time.
type Backoffs struct {
	Clock sim.Clock
	Inbox *sim.Chan[Msg] // the scheduler's

	mu    sync.Mutex
	queue delayQueue
	seq   uint64
	n     atomic.Int64
	added *sim.Signal
}

// NewBackoffs returns an empty waiting room in kernel k.
func NewBackoffs(k *sim.Kernel, inbox *sim.Chan[Msg]) *Backoffs {
	return &Backoffs{Clock: k, Inbox: inbox, added: sim.NewSignal(k)}
}

// Len is how many jobs are backing off.
func (b *Backoffs) Len() int { return int(b.n.Load()) }

// Add puts job in the waiting room until model time due.
func (b *Backoffs) Add(job *Job, due time.Duration) {
	b.mu.Lock()
	b.seq++
	heap.Push(&b.queue, delayed{job: job, due: due, seq: b.seq})
	b.n.Add(1)
	b.mu.Unlock()
	b.added.Notify()
}

// Run sends each job back to the scheduler when its delay is over, in order
// of due time (then of arrival in the room), until the run stops.
func (b *Backoffs) Run(ctx context.Context) {
	for {
		b.mu.Lock()
		empty := len(b.queue) == 0
		var wait time.Duration
		if !empty {
			wait = b.queue[0].due - b.Clock.Now()
		}
		b.mu.Unlock()
		if empty {
			if !sim.WaitFor(ctx, b.added) {
				return
			}
			continue
		}
		if wait > 0 {
			if _, ok := sim.SleepOrWake(ctx, wait, b.added); !ok {
				return
			}
			continue
		}
		b.mu.Lock()
		d := heap.Pop(&b.queue).(delayed)
		b.mu.Unlock()
		if !b.Inbox.Send(ctx, Msg{Kind: Retry, Job: d.job}) {
			b.mu.Lock()
			heap.Push(&b.queue, d) // the run stopped: it is still backing off
			b.mu.Unlock()
			return
		}
		b.n.Add(-1)
	}
}

// Drain returns the jobs still backing off. Call it once the run is over.
func (b *Backoffs) Drain() []*Job {
	b.mu.Lock()
	defer b.mu.Unlock()
	var jobs []*Job
	for len(b.queue) > 0 {
		jobs = append(jobs, heap.Pop(&b.queue).(delayed).job)
	}
	b.n.Store(0)
	return jobs
}

// delayed is one job in the waiting room.
type delayed struct {
	job *Job
	due time.Duration
	seq uint64
}

// delayQueue is a container/heap of delayed jobs, by (due, seq).
type delayQueue []delayed

func (q delayQueue) Len() int { return len(q) }
func (q delayQueue) Less(i, j int) bool {
	return q[i].due < q[j].due || q[i].due == q[j].due && q[i].seq < q[j].seq
}
func (q delayQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *delayQueue) Push(x any)   { *q = append(*q, x.(delayed)) }
func (q *delayQueue) Pop() any {
	old := *q
	d := old[len(old)-1]
	old[len(old)-1] = delayed{}
	*q = old[:len(old)-1]
	return d
}
