// Package capacity counts the VMs that hold a share of the cluster, against
// the number the cluster can hold. Admission is one compare-and-swap, so two
// goroutines can never both take the last slot.
package capacity

import (
	"fmt"
	"sync/atomic"
)

// Gauge is the count of VMs holding cluster capacity. Its zero value is not
// usable; make one with New.
type Gauge struct {
	capacity atomic.Int64
	inUse    atomic.Int64
	peak     atomic.Int64
}

// New returns an empty gauge for a cluster that holds capacity VMs.
func New(capacity int64) *Gauge {
	if capacity < 0 {
		panic(fmt.Sprintf("capacity: negative capacity %d", capacity))
	}
	g := &Gauge{}
	g.capacity.Store(capacity)
	return g
}

// TryAcquire admits one more VM if the cluster has room. It returns the
// count after admission and true, or the count it saw and false when full.
func (g *Gauge) TryAcquire() (int64, bool) {
	for {
		n, limit := g.inUse.Load(), g.capacity.Load()
		if n >= limit {
			return n, false
		}
		if g.inUse.CompareAndSwap(n, n+1) {
			g.raisePeak(n + 1)
			return n + 1, true
		}
	}
}

// Acquire takes a slot whatever the count, above the capacity if need be,
// for a VM that holds capacity by being there rather than by admission (a
// power-on that failed, under the model's assumptions that say so). It
// returns the count after it.
func (g *Gauge) Acquire() int64 {
	n := g.inUse.Add(1)
	g.raisePeak(n)
	return n
}

// Release gives back the slot of one VM. Releasing a slot that was never
// taken is a bug in the caller, and panics rather than let the gauge go
// negative.
func (g *Gauge) Release() int64 {
	for {
		n := g.inUse.Load()
		if n <= 0 {
			panic("capacity: released more VMs than were admitted")
		}
		if g.inUse.CompareAndSwap(n, n-1) {
			return n - 1
		}
	}
}

// InUse is the number of VMs holding capacity now.
func (g *Gauge) InUse() int64 { return g.inUse.Load() }

// Capacity is the number of VMs the cluster can hold.
func (g *Gauge) Capacity() int64 { return g.capacity.Load() }

// SetCapacity changes what the cluster can hold, as when reservations are
// reconfigured. VMs already admitted keep their slots even if the new
// capacity is lower; new admissions wait until the count is below it.
func (g *Gauge) SetCapacity(capacity int64) {
	if capacity < 0 {
		panic(fmt.Sprintf("capacity: negative capacity %d", capacity))
	}
	g.capacity.Store(capacity)
}

// Peak is the highest count the gauge has reached.
func (g *Gauge) Peak() int64 { return g.peak.Load() }

func (g *Gauge) raisePeak(n int64) {
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			return
		}
	}
}
