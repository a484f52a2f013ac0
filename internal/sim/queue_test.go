package sim

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestQueueFIFOAndUnbounded(t *testing.T) {
	var q Queue[int]
	const n = 10_000
	for i := range n {
		q.Push(i)
	}
	require.Equal(t, n, q.Len(), "a queue takes as many items as it is given")
	for i := range n / 2 {
		require.Equal(t, i, q.Peek())
		require.Equal(t, i, q.Pop(), "first in, first out")
	}
	assert.Equal(t, n/2, q.Len())
	left := q.Drain()
	require.Len(t, left, n/2)
	for i, v := range left {
		require.Equal(t, n/2+i, v, "Drain returns the rest oldest first")
	}
	assert.Zero(t, q.Len(), "Drain empties the queue")
	assert.Empty(t, q.Drain())
}

func TestQueueCompactionKeepsOrder(t *testing.T) {
	var q Queue[int]
	next, want, maxBacklog := 0, 0, 0
	const rounds = 500
	for round := range rounds {
		// Bursts of different sizes, so that the backlog and the head
		// wander, and compaction happens at many offsets.
		push := 50 + (round*37)%150
		for range push {
			q.Push(next)
			next++
		}
		maxBacklog = max(maxBacklog, next-want)
		pop := min(push-10+(round*13)%21, next-want)
		for range pop {
			require.Equal(t, want, q.Pop(), "round %d", round)
			want++
		}
		require.Equal(t, next-want, q.Len(), "round %d", round)
	}
	require.Greater(t, next, 50_000, "enough items to pass through the queue")
	// The array is reused: it is sized by the largest backlog, not by every
	// item that ever passed through.
	bound := 8 * (maxBacklog + 200)
	require.Less(t, bound, next, "the bound must be able to tell the difference")
	assert.Less(t, cap(q.items), bound, "cap %d, largest backlog %d", cap(q.items), maxBacklog)
	for i, v := range q.Drain() {
		require.Equal(t, want+i, v)
	}
}

func TestQueuePopCompaction(t *testing.T) {
	// White-box: push and pop directly, checking the head item each time.
	// Items are 1, 2, 3, ... so that a zero is a cleared slot.
	var q Queue[int]
	next, want := 1, 1
	for cycle := range 1000 {
		for range 3 + cycle%7 {
			q.Push(next)
			next++
		}
		for range 2 + cycle%7 {
			if q.head == len(q.items) {
				break
			}
			require.Equal(t, want, q.items[q.head])
			q.Pop()
			want++
		}
		require.Equal(t, next-want, q.Len())
		require.Equal(t, next-want, len(q.items)-q.head)
		// Spent slots do not pile up: past 64 of them, they are at most
		// half of the array.
		require.True(t, q.head <= 64 || q.head*2 < len(q.items), "cycle %d: head %d of %d", cycle, q.head, len(q.items))
		// Slots that no longer hold a queued item are cleared, so that
		// the array does not keep items alive.
		for i, v := range q.items[:q.head] {
			require.Zero(t, v, "cycle %d: popped slot %d", cycle, i)
		}
		for i, v := range q.items[len(q.items):cap(q.items)] {
			require.Zero(t, v, "cycle %d: slot %d beyond the end", cycle, len(q.items)+i)
		}
	}
	left := q.Drain()
	require.Len(t, left, next-want)
	for i, v := range left {
		require.Equal(t, want+i, v)
	}
}

func TestQueueRemoveKeepsTheRestInOrder(t *testing.T) {
	// 99 pops leave the head past the start, as in a long run; the 100th
	// compacts the queue, so that its head is at the start again.
	for _, pops := range []int{99, 100} {
		t.Run(fmt.Sprint(pops, " pops"), func(t *testing.T) {
			var q Queue[int]
			for i := range 200 {
				q.Push(i)
			}
			for range pops {
				q.Pop()
			}
			if pops == 99 {
				require.Positive(t, q.head, "a head past the start")
			}
			odd := func(v int) bool { return v%2 == 1 }
			dropped := q.Remove(odd)
			firstOdd := pops | 1
			require.Len(t, dropped, (199-firstOdd)/2+1)
			assert.Equal(t, firstOdd, dropped[0])
			assert.Equal(t, 199, dropped[len(dropped)-1])
			assert.Equal(t, 50, q.Len())
			q.Push(1000)
			left := q.Drain()
			require.Len(t, left, 51)
			for i, v := range left[:50] {
				assert.Equal(t, 100+2*i, v)
			}
			assert.Equal(t, 1000, left[50])
			assert.Empty(t, q.Remove(odd), "an empty queue")
		})
	}
}

func TestQueuePushFront(t *testing.T) {
	var q Queue[int]
	q.PushFront(1) // empty
	q.Push(2)
	q.Push(3)
	assert.Equal(t, 1, q.Pop())
	q.PushFront(9) // into the room the pop left
	q.PushFront(8) // none left: the array grows at the front
	assert.Equal(t, 4, q.Len())
	assert.Equal(t, []int{8, 9, 2, 3}, q.Drain())
}

// TestTimerHeapWakesInOrder: whatever is pushed and removed, the heap gives
// its processes back by deadline, then by the order their waits began, and
// each process knows its index.
func TestTimerHeapWakesInOrder(t *testing.T) {
	for _, n := range []int{1, 2, 5, 17, 300} {
		r := rand.New(rand.NewPCG(uint64(n), 7))
		var h timerHeap
		var seq uint64
		live := map[*proc]bool{}
		for range 4 * n {
			if len(live) > 0 && r.IntN(3) == 0 {
				for p := range live { // any one
					h.remove(p)
					delete(live, p)
					require.Equal(t, -1, p.timer)
					break
				}
				continue
			}
			seq++
			p := &proc{at: time.Duration(r.IntN(n)), seq: seq, timer: -1}
			h.push(p)
			live[p] = true
		}
		for i, p := range h {
			require.Equal(t, i, p.timer, "index of the process at %d", i)
		}
		var got []*proc
		for len(h) > 0 {
			p := h[0]
			h.remove(p)
			got = append(got, p)
		}
		require.Len(t, got, len(live))
		assert.True(t, slices.IsSortedFunc(got, func(a, b *proc) int {
			return cmp.Or(cmp.Compare(a.at, b.at), cmp.Compare(a.seq, b.seq))
		}), "n=%d", n)
	}
}
