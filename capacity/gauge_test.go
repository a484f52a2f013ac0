package capacity

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestNewAndSetCapacityRejectNegative(t *testing.T) {
	assert.Panics(t, func() { New(-1) })
	g := New(3)
	assert.Panics(t, func() { g.SetCapacity(-1) })
	assert.Equal(t, int64(3), g.Capacity(), "a rejected capacity leaves the old one")
}

func TestTryAcquireUpToCapacity(t *testing.T) {
	for _, capacity := range []int64{0, 1, 3, 10} {
		t.Run(fmt.Sprintf("capacity %d", capacity), func(t *testing.T) {
			g := New(capacity)
			assert.Equal(t, capacity, g.Capacity())
			for i := int64(1); i <= capacity; i++ {
				n, ok := g.TryAcquire()
				require.True(t, ok, "acquire %d of %d", i, capacity)
				require.Equal(t, i, n, "TryAcquire returns the count after admission")
				require.Equal(t, i, g.InUse())
			}
			for range 3 {
				n, ok := g.TryAcquire()
				assert.False(t, ok, "full gauge must refuse")
				assert.Equal(t, capacity, n, "a refusal reports the count it saw")
			}
			assert.Equal(t, capacity, g.InUse(), "refusals do not change the count")
		})
	}
}

func TestReleaseLowersCount(t *testing.T) {
	g := New(3)
	for range 3 {
		_, ok := g.TryAcquire()
		require.True(t, ok)
	}
	assert.Equal(t, int64(2), g.Release())
	assert.Equal(t, int64(2), g.InUse())
	n, ok := g.TryAcquire()
	assert.True(t, ok, "a released slot can be taken again")
	assert.Equal(t, int64(3), n)
	assert.Equal(t, int64(2), g.Release())
	assert.Equal(t, int64(1), g.Release())
	assert.Equal(t, int64(0), g.Release())
	assert.Zero(t, g.InUse())
}

func TestReleaseBelowZeroPanics(t *testing.T) {
	g := New(2)
	assert.Panics(t, func() { g.Release() }, "release of a slot never taken")
	g2 := New(2)
	_, ok := g2.TryAcquire()
	require.True(t, ok)
	g2.Release()
	assert.Panics(t, func() { g2.Release() }, "release of a slot already given back")
}

func TestReleaseBelowZeroLeavesGaugeAtZero(t *testing.T) {
	// Release's doc: it "panics rather than let the gauge go negative". A
	// caller that recovers (a test harness, a supervisor) must find the gauge
	// where it was, not below zero, where it would admit more VMs than the
	// capacity.
	const capacity = 2
	g := New(capacity)
	require.Panics(t, func() { g.Release() })
	inUse := g.InUse()
	admitted := 0
	for {
		if _, ok := g.TryAcquire(); !ok {
			break
		}
		admitted++
		require.LessOrEqual(t, admitted, capacity+10, "runaway admissions")
	}
	assert.Zero(t, inUse, "the refused release left the gauge at zero")
	assert.Equal(t, capacity, admitted, "and it admits no more than its capacity")
	assert.Equal(t, int64(capacity), g.InUse())
}

func TestPeak(t *testing.T) {
	g := New(5)
	assert.Zero(t, g.Peak())
	for range 3 {
		_, ok := g.TryAcquire()
		require.True(t, ok)
	}
	assert.Equal(t, int64(3), g.Peak())
	g.Release()
	g.Release()
	assert.Equal(t, int64(3), g.Peak(), "peak does not fall with the count")
	_, ok := g.TryAcquire()
	require.True(t, ok)
	assert.Equal(t, int64(3), g.Peak(), "peak rises only past its old value")
	for range 3 {
		_, ok := g.TryAcquire()
		require.True(t, ok)
	}
	assert.Equal(t, int64(5), g.Peak())
	_, ok = g.TryAcquire()
	require.False(t, ok)
	assert.Equal(t, int64(5), g.Peak(), "a refusal does not raise the peak")
}

func TestSetCapacityLowerKeepsAdmitted(t *testing.T) {
	g := New(5)
	for range 5 {
		_, ok := g.TryAcquire()
		require.True(t, ok)
	}
	g.SetCapacity(3)
	assert.Equal(t, int64(3), g.Capacity())
	assert.Equal(t, int64(5), g.InUse(), "admitted VMs keep their slots")

	steps := []struct {
		release bool // release one before trying
		wantOK  bool
		wantN   int64
	}{
		{false, false, 5},
		{true, false, 4},
		{true, false, 3}, // at the new capacity: still full
		{true, true, 3},  // below it: one admitted, back at capacity
		{false, false, 3},
	}
	for i, s := range steps {
		if s.release {
			g.Release()
		}
		n, ok := g.TryAcquire()
		assert.Equal(t, s.wantOK, ok, "step %d", i)
		assert.Equal(t, s.wantN, n, "step %d", i)
	}
	assert.Equal(t, int64(5), g.Peak())
}

func TestSetCapacityHigherAdmitsMore(t *testing.T) {
	g := New(1)
	_, ok := g.TryAcquire()
	require.True(t, ok)
	_, ok = g.TryAcquire()
	require.False(t, ok)
	g.SetCapacity(2)
	n, ok := g.TryAcquire()
	assert.True(t, ok)
	assert.Equal(t, int64(2), n)
}

func TestConcurrentAcquireRelease(t *testing.T) {
	const (
		capacity   = 10
		goroutines = 1000
		cycles     = 200
	)
	g := New(capacity)
	var (
		wg         sync.WaitGroup
		over       atomic.Int64 // successful acquisitions that saw more than capacity
		badRefusal atomic.Int64 // refusals that saw a count other than capacity
		admitted   atomic.Int64
		start      = make(chan struct{})
	)
	for range goroutines {
		wg.Go(func() {
			<-start
			for range cycles {
				n, ok := g.TryAcquire()
				if !ok {
					// The gauge never exceeds capacity, so a refusal
					// sees exactly a full gauge.
					if n != capacity {
						badRefusal.Add(1)
					}
					runtime.Gosched()
					continue
				}
				admitted.Add(1)
				if n > capacity || n < 1 {
					over.Add(1)
				}
				if u := g.InUse(); u > capacity {
					over.Add(1)
				}
				runtime.Gosched()
				g.Release()
			}
		})
	}
	close(start)
	wg.Wait()

	assert.Zero(t, over.Load(), "a successful TryAcquire saw more than capacity")
	assert.Zero(t, badRefusal.Load(), "a refusal saw a count other than capacity")
	assert.Positive(t, admitted.Load())
	assert.Zero(t, g.InUse(), "every admitted slot was released")
	assert.LessOrEqual(t, g.Peak(), int64(capacity))
	assert.Positive(t, g.Peak())
}
