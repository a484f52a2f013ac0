package sim

import (
	"iter"
	"sync"
)

// A Pool keeps the goroutines of Serial processes that have returned, for
// the processes of other kernels to run on: the replicas of an experiment,
// run one after another, each start hundreds of processes, and a goroutine
// reused has its stack already grown. Give it to each kernel with
// Kernel.Reuse; Close it once they have all returned from Run, which ends
// the goroutines it keeps. It is safe for concurrent use by kernels running
// at once.
type Pool struct {
	mu     sync.Mutex
	idle   []*carrier
	closed bool
	made   int // carriers made for the pool
}

// NewPool returns an empty Pool.
func NewPool() *Pool { return &Pool{} }

// Close ends the goroutines the pool keeps, and those given back to it from
// now on.
func (pl *Pool) Close() {
	pl.mu.Lock()
	idle := pl.idle
	pl.idle, pl.closed = nil, true
	pl.mu.Unlock()
	for _, c := range idle {
		c.stop()
	}
}

// Idle is how many goroutines the pool keeps.
func (pl *Pool) Idle() int {
	pl.mu.Lock()
	defer pl.mu.Unlock()
	return len(pl.idle)
}

// get returns a carrier the pool keeps, or a new one; a nil Pool makes a
// carrier for one process.
func (pl *Pool) get() *carrier {
	if pl == nil {
		return newCarrier(false)
	}
	pl.mu.Lock()
	if n := len(pl.idle); n > 0 {
		c := pl.idle[n-1]
		pl.idle[n-1] = nil
		pl.idle = pl.idle[:n-1]
		pl.mu.Unlock()
		return c
	}
	pl.made++
	pl.mu.Unlock()
	return newCarrier(true)
}

// put keeps c, whose process has returned, or ends it if the pool is
// closed.
func (pl *Pool) put(c *carrier) {
	pl.mu.Lock()
	if !pl.closed {
		pl.idle = append(pl.idle, c)
		pl.mu.Unlock()
		return
	}
	pl.mu.Unlock()
	c.stop()
}

// carrier is the coroutine a Serial process runs on: resume runs it until
// the process blocks (yield) or returns. One that is reused runs one
// process after another: when a process returns it yields with done set,
// and waits for the next run.
type carrier struct {
	resume func() (struct{}, bool)
	stop   func()
	yield  func(struct{}) bool
	run    func() // the process to run, set before it is first resumed
	done   bool   // the process it ran has returned (a reused carrier)
}

func newCarrier(reuse bool) *carrier {
	c := &carrier{}
	c.resume, c.stop = iter.Pull(func(yield func(struct{}) bool) {
		c.yield = yield
		for {
			growStack()
			c.run()
			c.run = nil
			if !reuse {
				return
			}
			c.done = true
			if !yield(struct{}{}) {
				return // stopped: the pool is closed
			}
		}
	})
	return c
}
