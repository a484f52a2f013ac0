package sim

import "time"

// fifo is a first-in, first-out queue on a ring buffer. Its zero value is
// empty and ready to use.
type fifo[T any] struct {
	items      []T
	head, size int
}

func (q *fifo[T]) len() int { return q.size }

// keep drops the items for which f is false, keeping the others in order.
func (q *fifo[T]) keep(f func(T) bool) {
	var zero T
	n := 0
	for i := range q.size {
		if v := q.items[(q.head+i)%len(q.items)]; f(v) {
			q.items[(q.head+n)%len(q.items)] = v
			n++
		}
	}
	for i := n; i < q.size; i++ {
		q.items[(q.head+i)%len(q.items)] = zero // let it be collected
	}
	q.size = n
}

// all yields the items in order, front first.
func (q *fifo[T]) all(yield func(T) bool) {
	for i := range q.size {
		if !yield(q.items[(q.head+i)%len(q.items)]) {
			return
		}
	}
}

func (q *fifo[T]) push(v T) {
	if q.size == len(q.items) {
		grown := make([]T, max(8, 2*len(q.items)))
		n := copy(grown, q.items[q.head:])
		copy(grown[n:], q.items[:q.head])
		q.items, q.head = grown, 0
	}
	q.items[(q.head+q.size)%len(q.items)] = v
	q.size++
}

func (q *fifo[T]) pop() (T, bool) {
	var zero T
	if q.size == 0 {
		return zero, false
	}
	v := q.items[q.head]
	q.items[q.head] = zero // let it be collected
	q.head = (q.head + 1) % len(q.items)
	q.size--
	return v, true
}

// timerHeap is a min-heap of processes by deadline, then by the sequence
// number their wait began with, so that wake-ups at one model time come in
// the order they were asked for. Each process knows its index. It is
// four-ary, and each entry holds its keys beside its process, so that
// ordering the heap reads only the heap's own array: a run's thousands of
// sleeping processes made a binary heap of pointers a cache miss a level
// (8 % of the sized storm's time).
type timerHeap []timer

// timer is a process's place in the heap: its deadline and its sequence
// number.
type timer struct {
	at  time.Duration
	seq uint64
	p   *proc
}

// before orders timers by deadline, then by sequence number (unique).
func (a *timer) before(b *timer) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

// arity is the number of children of an entry.
const arity = 4

// push adds p with deadline at and sequence number seq.
func (h *timerHeap) push(p *proc, at time.Duration, seq uint64) {
	*h = append(*h, timer{})
	h.up(len(*h)-1, timer{at: at, seq: seq, p: p})
}

// remove takes p out of the heap.
func (h *timerHeap) remove(p *proc) {
	i, last := p.timer, len(*h)-1
	p.timer = -1
	moved := (*h)[last]
	(*h)[last] = timer{}
	*h = (*h)[:last]
	if i == last {
		return
	}
	if i > 0 && moved.before(&(*h)[(i-1)/arity]) {
		h.up(i, moved)
	} else {
		h.down(i, moved)
	}
}

// up places t at the hole at i or above it, moving down the parents it
// comes before.
func (h timerHeap) up(i int, t timer) {
	for i > 0 {
		parent := (i - 1) / arity
		if !t.before(&h[parent]) {
			break
		}
		h.set(i, h[parent])
		i = parent
	}
	h.set(i, t)
}

// down places t at the hole at i or below it, moving up the least child
// while it comes before t.
func (h timerHeap) down(i int, t timer) {
	n := len(h)
	for {
		first := arity*i + 1
		if first >= n {
			break
		}
		least := first
		for c := first + 1; c < min(first+arity, n); c++ {
			if h[c].before(&h[least]) {
				least = c
			}
		}
		if !h[least].before(&t) {
			break
		}
		h.set(i, h[least])
		i = least
	}
	h.set(i, t)
}

// set puts t at i, and tells its process.
func (h timerHeap) set(i int, t timer) {
	h[i] = t
	t.p.timer = i
}
