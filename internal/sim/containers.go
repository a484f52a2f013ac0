package sim

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

// timerHeap is a binary min-heap of processes by deadline, then by the
// sequence number their wait began with, so that wake-ups at one model time
// come in the order they were asked for. Each process knows its index.
type timerHeap []*proc

func (h timerHeap) less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}

func (h timerHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].timer, h[j].timer = i, j
}

func (h *timerHeap) push(p *proc) {
	p.timer = len(*h)
	*h = append(*h, p)
	h.up(p.timer)
}

// remove takes p out of the heap.
func (h *timerHeap) remove(p *proc) {
	i, last := p.timer, len(*h)-1
	if i != last {
		h.swap(i, last)
	}
	(*h)[last] = nil
	*h = (*h)[:last]
	p.timer = -1
	if i != last {
		if !h.down(i) {
			h.up(i)
		}
	}
}

func (h timerHeap) up(i int) {
	for i > 0 {
		parent := (i - 1) / 2
		if !h.less(i, parent) {
			return
		}
		h.swap(i, parent)
		i = parent
	}
}

// down moves the item at i down to its place and reports whether it moved.
func (h timerHeap) down(i int) bool {
	start := i
	for {
		child := 2*i + 1
		if child >= len(h) {
			break
		}
		if r := child + 1; r < len(h) && h.less(r, child) {
			child = r
		}
		if !h.less(child, i) {
			break
		}
		h.swap(i, child)
		i = child
	}
	return i > start
}
