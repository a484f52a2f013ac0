package sim

import (
	"context"
	"sync/atomic"
)

// Queue is an unbounded first-in, first-out queue between producers and a
// consumer. A backlog must be able to grow without limit (that is the
// incident), so it cannot be a buffered channel: Pump owns the items, takes
// from two input channels and offers the oldest item on an output channel.
//
// Only Len may be called while Pump runs; Drain is for after it returns.
type Queue[T any] struct {
	items []T
	head  int
	n     atomic.Int64
}

// Len is the number of items the queue holds (not counting those still in
// its input channels or already in its output channel).
func (q *Queue[T]) Len() int { return int(q.n.Load()) }

// Pump moves items from first and second into the queue and from the queue
// to out, until ctx is done or both inputs are closed and the queue is empty.
// It closes out when it returns, as out's only sender.
func (q *Queue[T]) Pump(ctx context.Context, first, second <-chan T, out chan<- T) {
	defer close(out)
	for first != nil || second != nil || q.head < len(q.items) {
		var send chan<- T
		var next T
		if q.head < len(q.items) {
			send, next = out, q.items[q.head]
		}
		select {
		case v, ok := <-first:
			if !ok {
				first = nil
				continue
			}
			q.push(v)
		case v, ok := <-second:
			if !ok {
				second = nil
				continue
			}
			q.push(v)
		case send <- next:
			q.pop()
		case <-ctx.Done():
			return
		}
	}
}

func (q *Queue[T]) push(v T) {
	q.items = append(q.items, v)
	q.n.Add(1)
}

func (q *Queue[T]) pop() {
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
}

// Drain returns the items left in the queue, oldest first, and empties it.
// Call it only after Pump has returned.
func (q *Queue[T]) Drain() []T {
	left := append([]T(nil), q.items[q.head:]...)
	q.items, q.head = nil, 0
	q.n.Store(0)
	return left
}
