package workers

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap/zapcore"

	"vmstorm/incident"
	"vmstorm/internal/sim"
)

// QueueControls are the scheduler's levers, which operators pull during an
// incident: pause and resume a queue, and limit how many of its builds run
// at once. They are safe to use from any goroutine, and take effect at
// once: the scheduler decides each hand-off under the same lock.
type QueueControls struct {
	Names []string // the queues, by index (e.g. "com", "org")

	configured []int64 // each queue's limit as the run began
	mu         sync.Mutex
	paused     []bool
	// Written under mu, so that a hand-off decided under it holds; atomic,
	// so that readers that do not take mu (samples) may read them.
	pausedN    atomic.Int64
	limits     []atomic.Int64 // max concurrent builds; 0 for no limit
	inProgress []atomic.Int64 // handed to Build and not yet finished, failed or back
	poke       *sim.Signal    // wakes the scheduler to look again
}

// NewQueueControls returns the controls of the named queues in kernel k, none
// paused, each with the given limit of concurrent builds (0 for none).
func NewQueueControls(k *sim.Kernel, names []string, limits []int64) *QueueControls {
	c := &QueueControls{
		Names:      names,
		configured: append([]int64(nil), limits...),
		paused:     make([]bool, len(names)),
		limits:     make([]atomic.Int64, len(names)),
		inProgress: make([]atomic.Int64, len(names)),
		poke:       sim.NewSignal(k),
	}
	for i, l := range limits {
		c.limits[i].Store(l)
	}
	return c
}

// Queue returns the index of the named queue, or -1.
func (c *QueueControls) Queue(name string) int {
	for i, n := range c.Names {
		if n == name {
			return i
		}
	}
	return -1
}

// SetPaused pauses or resumes queue q: a paused queue keeps its jobs but
// hands none to the Build workers from this moment. Builds already started
// go on.
func (c *QueueControls) SetPaused(q int, paused bool) {
	c.mu.Lock()
	if c.paused[q] != paused {
		c.paused[q] = paused
		if paused {
			c.pausedN.Add(1)
		} else {
			c.pausedN.Add(-1)
		}
	}
	c.mu.Unlock()
	c.poke.Notify()
}

// SetLimit limits queue q to n concurrent builds (0 for no limit).
func (c *QueueControls) SetLimit(q int, n int64) {
	c.mu.Lock()
	c.limits[q].Store(n)
	c.mu.Unlock()
	c.poke.Notify()
}

// Reduced is how many queues run under a lower limit of concurrent builds
// than they began with.
func (c *QueueControls) Reduced() int {
	n := 0
	for q, was := range c.configured {
		if now := c.Limit(q); now > 0 && (was == 0 || now < was) {
			n++
		}
	}
	return n
}

// Poke wakes the scheduler to look again at what it may hand out: the
// cluster has room again, a control or a switch changed, or it is time for
// its shed scan.
func (c *QueueControls) Poke() { c.poke.Notify() }

// Paused is how many queues are paused.
func (c *QueueControls) Paused() int { return int(c.pausedN.Load()) }

// Limit is queue q's limit of concurrent builds (0 for none).
func (c *QueueControls) Limit(q int) int64 { return c.limits[q].Load() }

// InProgress is how many of queue q's jobs are between the scheduler's
// hand-off and the end of their build.
func (c *QueueControls) InProgress(q int) int64 { return c.inProgress[q].Load() }

// ready reports whether queue q may hand out a job; c.mu must be held.
func (c *QueueControls) ready(q int) bool {
	limit := c.limits[q].Load()
	return !c.paused[q] && (limit == 0 || c.inProgress[q].Load() < limit)
}

// started counts a job of queue q into progress; c.mu must be held.
func (c *QueueControls) started(q int) { c.inProgress[q].Add(1) }

// settle counts a job of queue q out of progress: finished, failed or
// back in the backlog.
func (c *QueueControls) settle(q int) {
	c.mu.Lock()
	c.inProgress[q].Add(-1)
	c.mu.Unlock()
}

// MsgKind is what a message to the scheduler says.
type MsgKind uint8

const (
	Arrived    MsgKind = iota // a new job, from the source
	Requeued                  // a failed start, from Build
	Returned                  // a build lost with its worker, or stalled, from Run
	Finished                  // a job of Queue completed or failed for good
	Ready                     // a Build worker asks for a job
	BackingOff                // a failed start's job went to the backoff waiting room, from Build
	Retry                     // a job whose backoff is over, from the waiting room
	Unstarted                 // a job handed out that its worker may not start, from Build
)

// Msg is one message to the scheduler's inbox.
type Msg struct {
	Kind  MsgKind
	Job   *Job // Arrived, Requeued, Returned, Retry
	Queue int  // Finished, BackingOff
}

// Scheduler is Travis's scheduler and its job queues: one unbounded FIFO per
// queue between the job source and the Build pool. Everything it hears
// comes through one inbox, in order: arrivals, requeues, lost builds,
// finished builds, and Build workers asking for work; and the controls
// wake it when they change. It hands the next job
// to a worker that asked, and only from a queue that is not paused and is
// under its limit of concurrent builds, taking turns between the queues.
// Its queues are owned by its Run goroutine.
type Scheduler struct {
	Env
	SchedulerSettings
	SchedulerLinks

	queues   []sim.Queue[*Job]
	turn     int
	asked    int           // workers that asked and have not been handed a job
	nextScan time.Duration // the model time of the next shed scan
	handed   atomic.Int64  // jobs handed to Build workers, in all
	// ticking says a process of the scheduler's keeps its shed scans'
	// schedule (shedTicks); done, that Run is over and it should stop.
	ticking, done atomic.Bool
}

// Handed is how many jobs the scheduler has handed to Build workers: with
// the pool's count of jobs taken (Stage.Stats().Taken), the jobs on their
// way to a worker that has not begun them.
func (s *Scheduler) Handed() int64 { return s.handed.Load() }

// SchedulerSettings are the scheduler's settings: shedding (while its
// switch is on) drops a job that has waited longer than ShedAfter since it
// arrived, when it comes to be handed out and at every whole model minute,
// on a schedule the scheduler keeps itself (nothing that observes the
// model wakes it for that), and counts it in the ledger and logs it in the
// lifecycle events.
type SchedulerSettings struct {
	ShedAfter time.Duration
}

// SchedulerLinks are the scheduler's queues' controls, its inbox and its
// hand-off to the Build workers, and what its mitigations read.
type SchedulerLinks struct {
	Queues *QueueControls
	Inbox  *sim.Chan[Msg]
	// Out carries jobs to the Build workers. A job goes in only for a
	// worker that asked for one, so it never waits in Out: a pause stops
	// hand-offs from the moment it is made.
	Out *sim.Chan[*Job]
	// Switches say which mitigations are on (nil: none). Capacity-aware
	// dispatch hands a job out only while Room, given how many jobs the
	// scheduler has handed out, reports room for one more start.
	Switches *Switches
	Room     func(handed int64) bool
}

// NewScheduler returns a scheduler with empty queues, settings s, linked
// by l.
func NewScheduler(env Env, s SchedulerSettings, l SchedulerLinks) *Scheduler {
	return &Scheduler{Env: env, SchedulerSettings: s, SchedulerLinks: l, queues: make([]sim.Queue[*Job], len(l.Queues.Names))}
}

// Len is the number of jobs the scheduler holds, in all its queues.
func (s *Scheduler) Len() int {
	n := 0
	for i := range s.queues {
		n += s.queues[i].Len()
	}
	return n
}

// Run schedules until the run stops, then closes Out. (Nobody closes the
// inbox: it has many senders, and the run's end stops them all.)
func (s *Scheduler) Run(ctx context.Context) {
	var ticks sim.Group
	defer ticks.Wait(ctx)
	defer s.done.Store(true)
	defer s.Out.Close()
	for {
		if s.Switches.On(incident.Shed) && s.ticking.CompareAndSwap(false, true) {
			ticks.Go(ctx, s.shedTicks)
		}
		m, ok, poked := s.Inbox.RecvOrWake(ctx, s.Queues.poke)
		if !ok && !poked {
			return
		}
		switch {
		case poked:
		case m.Kind == Arrived:
			s.queues[m.Job.Queue].Push(m.Job)
		case m.Kind == Requeued || m.Kind == Returned:
			s.Queues.settle(m.Job.Queue)
			s.queues[m.Job.Queue].Push(m.Job)
		case m.Kind == Finished || m.Kind == BackingOff:
			s.Queues.settle(m.Queue)
		case m.Kind == Retry:
			s.queues[m.Job.Queue].Push(m.Job)
		case m.Kind == Unstarted:
			// Handed out, but the worker may not start it (the breaker
			// opened meanwhile): back at the front of its queue, as if it
			// had never left.
			s.handed.Add(-1)
			s.Queues.settle(m.Job.Queue)
			s.queues[m.Job.Queue].PushFront(m.Job)
		case m.Kind == Ready:
			s.asked++
		}
		s.scan()
		if !s.dispatch(ctx) {
			return
		}
	}
}

// dispatch hands jobs to the workers that asked, while a queue may give
// one. It returns false if the run stopped.
func (s *Scheduler) dispatch(ctx context.Context) bool {
	for s.asked > 0 {
		if s.Switches.On(incident.CapacityAware) && !s.Room(s.Handed()) {
			return true // a VM destroyed, or a start ended, pokes the scheduler
		}
		c := s.Queues
		c.mu.Lock()
		q := s.next()
		if q < 0 {
			c.mu.Unlock()
			return true
		}
		job := s.queues[q].Pop()
		if s.tooOld(job) {
			c.mu.Unlock()
			s.shed(job)
			continue
		}
		c.started(q)
		c.mu.Unlock()
		s.turn = q + 1
		s.asked--
		s.handed.Add(1)
		// A worker waits for it: Out has room for every worker.
		if !s.Out.Send(ctx, job) {
			// The run stopped: the job is still in the backlog.
			s.handed.Add(-1)
			c.settle(q)
			s.queues[q].Push(job)
			return false
		}
	}
	return true
}

// tooOld reports whether shedding is on and job has waited past its
// deadline.
func (s *Scheduler) tooOld(job *Job) bool {
	return s.Switches.On(incident.Shed) && s.Kernel.Now()-job.ArrivedAt > s.ShedAfter
}

// shed drops job, past its deadline, from the backlog.
func (s *Scheduler) shed(job *Job) {
	s.Ledger.shedJob(job)
	now := s.Kernel.Now()
	job.logAt(s.Events, zapcore.InfoLevel, "job_shed", job.waitField(now),
		seconds("waited_s", now-job.ArrivedAt))
}

// scanEvery is how often a scheduler that shedding is on for looks through
// all its queues for jobs past their deadline: at every whole scanEvery of
// model time.
const scanEvery = time.Minute

// shedTicks wakes the scheduler at every whole scanEvery of model time
// while shedding is on, so that its shed scans keep their schedule whatever
// else wakes it, or does not. It ends when shedding is off (Run starts it
// again when it is turned on: a switch pokes the scheduler) or Run is over.
func (s *Scheduler) shedTicks(ctx context.Context) {
	for {
		next := (s.Kernel.Now()/scanEvery + 1) * scanEvery
		if !sim.SleepUntil(ctx, next) {
			return
		}
		if !s.done.Load() && s.Switches.On(incident.Shed) {
			s.Queues.Poke()
			continue
		}
		// Off (or over): stop, unless it was turned on again meanwhile and
		// Run has not started another.
		s.ticking.Store(false)
		if s.done.Load() || !s.Switches.On(incident.Shed) || !s.ticking.CompareAndSwap(false, true) {
			return
		}
	}
}

// scan sheds the jobs past their deadline from every queue, paused ones
// included, if the time of a scan has come: the first wake at or after
// each whole minute, which shedTicks makes sure of.
func (s *Scheduler) scan() {
	if !s.Switches.On(incident.Shed) {
		return
	}
	now := s.Kernel.Now()
	if now < s.nextScan {
		return
	}
	s.nextScan = (now/scanEvery + 1) * scanEvery
	for i := range s.queues {
		for _, job := range s.queues[i].Remove(s.tooOld) {
			s.shed(job)
		}
	}
}

// next is the queue to hand a job from, taking turns, or -1 if none may;
// Controls.mu must be held.
func (s *Scheduler) next() int {
	n := len(s.queues)
	for i := range n {
		q := (s.turn + i) % n
		if s.queues[q].Len() > 0 && s.Queues.ready(q) {
			return q
		}
	}
	return -1
}

// Drain returns the jobs left in the queues. Call it once the run is over.
func (s *Scheduler) Drain() []*Job {
	var left []*Job
	for i := range s.queues {
		left = append(left, s.queues[i].Drain()...)
	}
	return left
}
