package sim

import "context"

// Chan is a channel between model processes, with a buffer of a fixed
// size (0 for none), as a Go channel. A process that sends to a full Chan,
// or receives from an empty one, waits in the kernel, so the kernel knows
// it is blocked; a value is handed straight to the process that waited
// longest for it. The sender closes a Chan; receivers then drain it.
type Chan[T any] struct {
	k      *Kernel
	size   int
	buf    fifo[T]
	recvq  fifo[entry] // receivers waiting, oldest first
	sendq  fifo[entry] // senders waiting with their values
	closed bool
	// slots hold the values in transit: a waiting sender's, or one handed
	// to a waiting receiver that has yet to run; the process knows its
	// slot. Typed, so that a hand-off does not box its value in an any.
	slots []T
	free  []int // slots not in use
}

// put keeps v in a slot and returns the slot.
func (c *Chan[T]) put(v T) int {
	if n := len(c.free); n > 0 {
		i := c.free[n-1]
		c.free = c.free[:n-1]
		c.slots[i] = v
		return i
	}
	c.slots = append(c.slots, v)
	return len(c.slots) - 1
}

// take empties slot i and returns its value.
func (c *Chan[T]) take(i int) T {
	v := c.slots[i]
	var zero T
	c.slots[i] = zero // let it be collected
	c.free = append(c.free, i)
	return v
}

// entry is a process waiting in a queue, during its wait gen: an entry
// whose process has since been woken otherwise is stale, and skipped.
type entry struct {
	p   *proc
	gen uint64
}

func (e entry) live() bool { return e.p.waiting && e.p.gen == e.gen }

// popLive returns the oldest entry of q whose process still waits.
func popLive(q *fifo[entry]) (*proc, bool) {
	for {
		e, ok := q.pop()
		if !ok {
			return nil, false
		}
		if e.live() {
			return e.p, true
		}
	}
}

// enqueue adds e at the back of q. A wait that ended otherwise (a
// Signal's, or the kernel's stop) leaves its entry behind, to be skipped
// by popLive; when q is full those go first, so that a queue holds at most
// about twice the waits that go on, however many ended: a receiver that a
// Signal wakes at every sample of a long, idle run would grow it for ever.
func enqueue(q *fifo[entry], e entry) {
	if q.size == len(q.items) {
		q.keep(entry.live)
	}
	q.push(e)
}

// NewChan returns a Chan of k with a buffer of size values.
func NewChan[T any](k *Kernel, size int) *Chan[T] {
	if size < 0 {
		panic("sim: negative Chan size")
	}
	return &Chan[T]{k: k, size: size}
}

// Send hands v to the longest-waiting receiver, or puts it in the buffer,
// or waits for room. It returns false, without sending, if the kernel is
// stopped first. Sending on a closed Chan panics.
func (c *Chan[T]) Send(ctx context.Context, v T) bool {
	p := procOf(ctx)
	k := c.k
	k.lock()
	if k.stopped {
		k.unlock()
		return false
	}
	if c.closed {
		k.unlock()
		panic("sim: send on a closed Chan")
	}
	if r, ok := popLive(&c.recvq); ok {
		r.slot, r.ok = c.put(v), true
		k.wakeLocked(r, delivered)
		k.unlock()
		return true
	}
	if c.buf.len() < c.size {
		c.buf.push(v)
		k.unlock()
		return true
	}
	k.beginLocked(p, true)
	p.slot = c.put(v)
	enqueue(&c.sendq, entry{p, p.gen})
	if k.block(p) == delivered {
		return true // a receiver took the slot's value
	}
	k.lock()
	c.take(p.slot) // not sent: the run stopped
	k.unlock()
	return false
}

// Recv takes the next value, waiting while there is none. It returns false
// if the Chan is closed and drained, or if the kernel is stopped first.
func (c *Chan[T]) Recv(ctx context.Context) (T, bool) {
	v, ok, _ := c.RecvOrWake(ctx, nil)
	return v, ok
}

// RecvOrWake is Recv that s, if not nil, may cut short: then woken is true
// and ok false. A notification already pending on s wins over a value that
// is ready.
func (c *Chan[T]) RecvOrWake(ctx context.Context, s *Signal) (v T, ok, woken bool) {
	p := procOf(ctx)
	k := c.k
	k.lock()
	if k.stopped {
		k.unlock()
		return v, false, false
	}
	if s != nil && s.take() {
		k.unlock()
		return v, false, true
	}
	if v, ok := c.takeLocked(); ok {
		k.unlock()
		return v, true, false
	}
	if c.closed {
		k.unlock()
		return v, false, false
	}
	k.beginLocked(p, true)
	enqueue(&c.recvq, entry{p, p.gen})
	if s != nil {
		s.wait(p)
	}
	switch k.block(p) {
	case delivered:
		if p.ok {
			k.lock()
			v = c.take(p.slot)
			k.unlock()
		}
		return v, p.ok, false
	case signalled:
		return v, false, true
	default:
		return v, false, false
	}
}

// takeLocked takes a value that is ready without waiting: from the buffer
// (topping it up from a waiting sender) or, on an unbuffered Chan, from a
// waiting sender.
func (c *Chan[T]) takeLocked() (T, bool) {
	if c.buf.len() > 0 {
		v, _ := c.buf.pop()
		if s, ok := popLive(&c.sendq); ok {
			c.buf.push(c.take(s.slot))
			c.k.wakeLocked(s, delivered)
		}
		return v, true
	}
	if s, ok := popLive(&c.sendq); ok {
		v := c.take(s.slot)
		c.k.wakeLocked(s, delivered)
		return v, true
	}
	var zero T
	return zero, false
}

// Close closes the Chan: receivers get what is buffered, then false. Only
// the sender may close a Chan, once.
func (c *Chan[T]) Close() {
	k := c.k
	k.lock()
	defer k.unlock()
	if c.closed {
		panic("sim: close of a closed Chan")
	}
	c.closed = true
	for {
		r, ok := popLive(&c.recvq)
		if !ok {
			return
		}
		r.ok = false
		k.wakeLocked(r, delivered)
	}
}

// Len is the number of values in the buffer, and of senders waiting to
// put one there.
func (c *Chan[T]) Len() int {
	c.k.lock()
	defer c.k.unlock()
	n := c.buf.len()
	for w := range c.sendq.all {
		if w.live() {
			n++
		}
	}
	return n
}

// Drain returns the values left in the buffer, oldest first, and empties
// it. Call it once the run is over.
func (c *Chan[T]) Drain() []T {
	c.k.lock()
	defer c.k.unlock()
	var out []T
	for {
		v, ok := c.buf.pop()
		if !ok {
			return out
		}
		out = append(out, v)
	}
}
