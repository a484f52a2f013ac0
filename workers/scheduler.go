package workers

import (
	"context"
	"sync/atomic"

	"vmstorm/internal/sim"
)

// Controls are the scheduler's levers, which operators pull during an
// incident: pause and resume a queue, and limit how many of its builds run
// at once. They are safe to use from any goroutine.
type Controls struct {
	Names      []string // the queues, by index (e.g. "com", "org")
	paused     []atomic.Bool
	limit      []atomic.Int64 // max concurrent builds; 0 for no limit
	inProgress []atomic.Int64 // written by the scheduler only
	poke       chan struct{}
}

// NewControls returns the controls of the named queues, none paused, each
// with the given limit of concurrent builds (0 for none).
func NewControls(names []string, limits []int64) *Controls {
	c := &Controls{
		Names:      names,
		paused:     make([]atomic.Bool, len(names)),
		limit:      make([]atomic.Int64, len(names)),
		inProgress: make([]atomic.Int64, len(names)),
		poke:       make(chan struct{}, 1),
	}
	for i := range names {
		c.limit[i].Store(limits[i])
	}
	return c
}

// Queue returns the index of the named queue, or -1.
func (c *Controls) Queue(name string) int {
	for i, n := range c.Names {
		if n == name {
			return i
		}
	}
	return -1
}

// SetPaused pauses or resumes queue q: a paused queue keeps its jobs but
// hands none to the Build workers. Builds already started go on.
func (c *Controls) SetPaused(q int, paused bool) {
	c.paused[q].Store(paused)
	c.wake()
}

// SetLimit limits queue q to n concurrent builds (0 for no limit).
func (c *Controls) SetLimit(q int, n int64) {
	c.limit[q].Store(n)
	c.wake()
}

// Paused reports whether queue q is paused.
func (c *Controls) Paused(q int) bool { return c.paused[q].Load() }

// Limit is queue q's limit of concurrent builds (0 for none).
func (c *Controls) Limit(q int) int64 { return c.limit[q].Load() }

// InProgress is how many of queue q's jobs are between the scheduler's
// hand-off and the end of their build.
func (c *Controls) InProgress(q int) int64 { return c.inProgress[q].Load() }

func (c *Controls) wake() {
	select {
	case c.poke <- struct{}{}:
	default: // a wake-up is already pending
	}
}

func (c *Controls) ready(q int) bool {
	if c.paused[q].Load() {
		return false
	}
	limit := c.limit[q].Load()
	return limit == 0 || c.inProgress[q].Load() < limit
}

// Scheduler is Travis's scheduler and its job queues: one unbounded FIFO per
// queue between the job source and the Build pool. It hands the next job to
// a Build worker only from a queue that is not paused and is under its
// limit of concurrent builds, taking turns between the queues. Out is
// unbuffered, so a job is handed over only when a worker is ready for it
// and a pause takes effect at once.
type Scheduler struct {
	Controls *Controls

	Arrivals <-chan *Job // new jobs, from the source
	Requeues <-chan *Job // failed starts, from Build
	Returns  <-chan *Job // builds lost with their worker, from Run
	Finished <-chan int  // the queue of each job that completed or failed for good
	Out      chan<- *Job // to Build

	queues []sim.Queue[*Job]
	turn   int
}

// Len is the number of jobs the scheduler holds, in all its queues.
func (s *Scheduler) Len() int {
	n := 0
	for i := range s.queues {
		n += s.queues[i].Len()
	}
	return n
}

// Init makes the queues; call it before Run and before any Len.
func (s *Scheduler) Init() { s.queues = make([]sim.Queue[*Job], len(s.Controls.Names)) }

// Run schedules until ctx is done, then closes Out. Its select, over four
// inputs, the controls and the hand-off, is the one place outside
// internal/sim where a model goroutine waits.
func (s *Scheduler) Run(ctx context.Context) error {
	defer close(s.Out)
	c := s.Controls
	arrivals, requeues, returns, finished := s.Arrivals, s.Requeues, s.Returns, s.Finished
	for {
		q := s.next()
		var out chan<- *Job
		var head *Job
		if q >= 0 {
			out, head = s.Out, s.queues[q].Peek()
		}
		select {
		case j, ok := <-arrivals:
			if !ok {
				arrivals = nil
				continue
			}
			s.queues[j.Queue].Push(j)
		case j, ok := <-requeues:
			if !ok {
				requeues = nil
				continue
			}
			s.takeBack(j)
		case j, ok := <-returns:
			if !ok {
				returns = nil
				continue
			}
			s.takeBack(j)
		case fq, ok := <-finished:
			if !ok {
				finished = nil
				continue
			}
			c.inProgress[fq].Add(-1)
		case <-c.poke:
		case out <- head:
			s.queues[q].Pop()
			c.inProgress[q].Add(1)
			s.turn = q + 1
		case <-ctx.Done():
			return nil
		}
	}
}

// takeBack queues a job that was in progress again: a failed start or a
// lost build. (Requeues and lost builds come on two channels because each
// has its own sender, which closes it.)
func (s *Scheduler) takeBack(j *Job) {
	s.Controls.inProgress[j.Queue].Add(-1)
	s.queues[j.Queue].Push(j)
}

// next is the queue to offer a job from, taking turns, or -1 if none may.
func (s *Scheduler) next() int {
	n := len(s.queues)
	for i := range n {
		q := (s.turn + i) % n
		if s.queues[q].Len() > 0 && s.Controls.ready(q) {
			return q
		}
	}
	return -1
}

// Drain returns the jobs left in the queues. Call it after Run returns.
func (s *Scheduler) Drain() []*Job {
	var left []*Job
	for i := range s.queues {
		left = append(left, s.queues[i].Drain()...)
	}
	return left
}
