package sim

import "sync/atomic"

// Queue is an unbounded first-in, first-out queue. A backlog must be able
// to grow without limit (that is the incident), so it cannot be a buffered
// channel. One goroutine owns a Queue and calls Push, Pop and Peek; any
// goroutine may call Len.
type Queue[T any] struct {
	items []T
	head  int
	n     atomic.Int64
}

// Len is the number of items in the queue.
func (q *Queue[T]) Len() int { return int(q.n.Load()) }

// Push adds v at the back.
func (q *Queue[T]) Push(v T) {
	q.items = append(q.items, v)
	q.n.Add(1)
}

// PushFront adds v at the front.
func (q *Queue[T]) PushFront(v T) {
	if q.head > 0 {
		q.head--
		q.items[q.head] = v
	} else {
		q.items = append([]T{v}, q.items...)
	}
	q.n.Add(1)
}

// Peek returns the item at the front without removing it; the queue must
// not be empty.
func (q *Queue[T]) Peek() T { return q.items[q.head] }

// Pop removes and returns the item at the front; the queue must not be
// empty.
func (q *Queue[T]) Pop() T {
	v := q.items[q.head]
	var zero T
	q.items[q.head] = zero // let the item be collected
	q.head++
	q.n.Add(-1)
	// Reuse the array once half of it is spent, so a long run does not keep
	// every item it ever queued.
	if q.head > 64 && q.head*2 >= len(q.items) {
		kept := copy(q.items, q.items[q.head:])
		clear(q.items[kept:])
		q.items, q.head = q.items[:kept], 0
	}
	return v
}

// Drain returns the items left in the queue, oldest first, and empties it.
func (q *Queue[T]) Drain() []T {
	left := append([]T(nil), q.items[q.head:]...)
	q.items, q.head = nil, 0
	q.n.Store(0)
	return left
}

// Remove takes out every item for which drop reports true, keeping the
// order of the rest, and returns them in order.
func (q *Queue[T]) Remove(drop func(T) bool) []T {
	var dropped []T
	kept := q.items[:q.head]
	for _, v := range q.items[q.head:] {
		if drop(v) {
			dropped = append(dropped, v)
		} else {
			kept = append(kept, v)
		}
	}
	clear(q.items[len(kept):])
	q.items = kept
	q.n.Add(-int64(len(dropped)))
	return dropped
}
