package sim

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNewClockRejectsNonPositiveSpeed(t *testing.T) {
	for _, speed := range []float64{0, -1, -60} {
		assert.Panics(t, func() { NewClock(speed, time.Time{}) }, "speed %v", speed)
	}
}

func TestClockNowScalesBySpeed(t *testing.T) {
	tests := []struct {
		name  string
		speed float64
		wall  time.Duration
		model time.Duration
	}{
		{"real time", 1, 3 * time.Second, 3 * time.Second},
		{"a minute a second", 60, time.Second, time.Minute},
		{"an hour a second", 3600, 2 * time.Second, 2 * time.Hour},
		{"slower than real time", 0.5, 4 * time.Second, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := NewClock(tt.speed, time.Time{})
				assert.Equal(t, tt.speed, c.Speed())
				assert.Zero(t, c.Now(), "model time starts at zero")
				time.Sleep(tt.wall)
				assert.Equal(t, tt.model, c.Now())
				assert.Equal(t, tt.model, c.ModelAt(time.Now()))
			})
		})
	}
}

func TestClockSleepTakesModelDuration(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewClock(60, time.Time{})
		wallStart := time.Now()
		require.True(t, c.Sleep(t.Context(), 10*time.Minute))
		assert.Equal(t, 10*time.Minute, c.Now())
		assert.Equal(t, 10*time.Second, time.Since(wallStart), "10 model minutes at speed 60 are 10 wall seconds")
	})
}

func TestClockSleepCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewClock(60, time.Time{})
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second) // 5 model minutes
		defer cancel()
		assert.False(t, c.Sleep(ctx, time.Hour), "Sleep must report the cancellation")
		assert.Equal(t, 5*time.Minute, c.Now(), "Sleep must return when ctx is done, not when d has passed")
		req, slept := c.Fidelity()
		assert.Zero(t, req, "a cancelled sleep is not a finished one")
		assert.Zero(t, slept)
	})
}

// At speed 60 a model nanosecond is 1/60 of a wall nanosecond: the cases
// below one wall nanosecond cannot be waited for either.
func TestClockSleepNonPositiveReturnsAtOnce(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		d    time.Duration
		want bool
	}{
		{"zero", context.Background(), 0, true},
		{"negative", context.Background(), -time.Hour, true},
		{"zero, cancelled", cancelled, 0, false},
		{"negative, cancelled", cancelled, -time.Second, false},
		{"under a wall nanosecond", context.Background(), 59 * time.Nanosecond, true},
		{"under a wall nanosecond, cancelled", cancelled, 59 * time.Nanosecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := NewClock(60, time.Time{})
				wallStart := time.Now()
				assert.Equal(t, tt.want, c.Sleep(tt.ctx, tt.d))
				assert.Zero(t, time.Since(wallStart), "no time may pass")
				assert.Zero(t, c.Now())
				if tt.d <= 0 {
					req, slept := c.Fidelity()
					assert.Zero(t, req)
					assert.Zero(t, slept)
				}
			})
		})
	}
}

func TestClockSleepCancelledBeforeStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewClock(60, time.Time{})
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		assert.False(t, c.Sleep(ctx, time.Minute))
		assert.Zero(t, c.Now())
	})
}

func TestClockSleepUntil(t *testing.T) {
	tests := []struct {
		name   string
		before time.Duration // model time already passed
		until  time.Duration
		wantAt time.Duration // model time when SleepUntil returns
	}{
		{"future", 0, 15 * time.Minute, 15 * time.Minute},
		{"future after some time", 5 * time.Minute, 15 * time.Minute, 15 * time.Minute},
		{"now", 10 * time.Minute, 10 * time.Minute, 10 * time.Minute},
		{"past", 10 * time.Minute, 5 * time.Minute, 10 * time.Minute},
		{"long past", time.Hour, -time.Hour, time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := NewClock(60, time.Time{})
				require.True(t, c.Sleep(t.Context(), tt.before))
				require.Equal(t, tt.before, c.Now())
				assert.True(t, c.SleepUntil(t.Context(), tt.until))
				assert.Equal(t, tt.wantAt, c.Now())
			})
		})
	}
}

func TestClockFidelityExactUnderSynctest(t *testing.T) {
	tests := []struct {
		name   string
		speed  float64
		sleeps []time.Duration
	}{
		{"real time", 1, []time.Duration{time.Millisecond, 3 * time.Second, 7 * time.Minute}},
		{"speed 60", 60, []time.Duration{time.Minute, 30 * time.Second, 2 * time.Hour, 6 * time.Second}},
		{"speed 3600", 3600, []time.Duration{time.Hour, 36 * time.Second, 0, 90 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				c := NewClock(tt.speed, time.Time{})
				var want time.Duration
				for _, d := range tt.sleeps {
					require.True(t, c.Sleep(t.Context(), d))
					want += d
				}
				req, slept := c.Fidelity()
				assert.Equal(t, want, req, "requested is the sum of the sleeps")
				assert.Equal(t, req, slept, "the fake clock keeps every latency exactly")
				assert.Equal(t, want, c.Now())
			})
		})
	}
}

func TestClockCalendar(t *testing.T) {
	epoch := time.Date(2015, 7, 31, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		epoch time.Time
		t     time.Duration
		want  time.Time
	}{
		{"no epoch", time.Time{}, 90 * time.Minute, time.Time{}},
		{"no epoch, zero", time.Time{}, 0, time.Time{}},
		{"epoch, zero", epoch, 0, epoch},
		{"epoch, later", epoch, 90 * time.Minute, time.Date(2015, 7, 31, 10, 30, 0, 0, time.UTC)},
		{"epoch, days later", epoch, 4 * 24 * time.Hour, time.Date(2015, 8, 4, 9, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := NewClock(60, tt.epoch)
			assert.True(t, tt.epoch.Equal(c.Epoch()))
			got := c.Calendar(tt.t)
			if tt.want.IsZero() {
				assert.True(t, got.IsZero(), "got %v", got)
				return
			}
			assert.True(t, tt.want.Equal(got), "want %v, got %v", tt.want, got)
		})
	}
}

func TestSend(t *testing.T) {
	t.Run("room", func(t *testing.T) {
		ch := make(chan int, 1)
		require.True(t, Send(context.Background(), ch, 7))
		assert.Equal(t, 7, <-ch)
	})
	t.Run("full, cancelled", func(t *testing.T) {
		ch := make(chan int, 1)
		ch <- 1
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.False(t, Send(ctx, ch, 2))
		require.Len(t, ch, 1)
		assert.Equal(t, 1, <-ch, "the channel keeps only what was in it")
	})
	t.Run("full, cancelled while waiting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ch := make(chan int, 1)
			ch <- 1
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			start := time.Now()
			assert.False(t, Send(ctx, ch, 2))
			assert.Equal(t, time.Minute, time.Since(start))
			assert.Len(t, ch, 1)
		})
	})
	t.Run("waits for a receiver", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ch := make(chan int)
			var got int
			var wg sync.WaitGroup
			wg.Go(func() {
				time.Sleep(time.Second)
				got = <-ch
			})
			start := time.Now()
			assert.True(t, Send(t.Context(), ch, 42))
			wg.Wait()
			assert.Equal(t, 42, got)
			assert.Equal(t, time.Second, time.Since(start))
		})
	})
}

func TestRecv(t *testing.T) {
	t.Run("value", func(t *testing.T) {
		ch := make(chan string, 1)
		ch <- "a"
		v, ok := Recv(context.Background(), ch)
		assert.True(t, ok)
		assert.Equal(t, "a", v)
	})
	t.Run("closed and drained", func(t *testing.T) {
		ch := make(chan string, 1)
		ch <- "a"
		close(ch)
		v, ok := Recv(context.Background(), ch)
		require.True(t, ok, "values sent before close are still received")
		assert.Equal(t, "a", v)
		v, ok = Recv(context.Background(), ch)
		assert.False(t, ok)
		assert.Empty(t, v)
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		v, ok := Recv(ctx, make(chan string))
		assert.False(t, ok)
		assert.Empty(t, v)
	})
	t.Run("cancelled while waiting", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
			defer cancel()
			start := time.Now()
			_, ok := Recv(ctx, make(chan int))
			assert.False(t, ok)
			assert.Equal(t, time.Minute, time.Since(start))
		})
	})
}

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

func TestGateLetsTheFirstNWork(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := NewGate(2)
		assert.True(t, g.Wait(t.Context(), 0))
		assert.True(t, g.Wait(t.Context(), 1))

		var passed [4]atomic.Bool
		var wg sync.WaitGroup
		ctx, cancel := context.WithCancel(t.Context())
		for i := 2; i < 4; i++ {
			wg.Go(func() { passed[i].Store(g.Wait(ctx, i)) })
		}
		synctest.Wait()
		assert.False(t, passed[2].Load(), "worker 2 waits while the gate is open to 2")

		g.Set(3)
		synctest.Wait()
		assert.True(t, passed[2].Load(), "opening to 3 lets worker 2 through")
		assert.False(t, passed[3].Load(), "but not worker 3")
		assert.Equal(t, 3, g.Open())

		cancel()
		wg.Wait()
		assert.False(t, passed[3].Load(), "a cancelled wait returns false")
	})
}
