package workers

import (
	"fmt"
	"sync/atomic"

	"vmstorm/cluster"
)

// Budget is a run's memory budget: it bounds the jobs (arrived, not yet
// finished) and the VMs (on the cluster) the model holds, the only things
// it keeps more of as a run goes on. A storm that is never cleaned up, or
// arrivals far faster than the cluster can serve, would otherwise hold
// more and more until the machine runs out of memory. The source asks
// before it makes a job and a Build worker before it clones a VM; once the
// budget is spent the run stops, with a *BudgetError as its cause.
type Budget struct {
	Max     int64
	Ledger  *Ledger
	Cluster *cluster.Cluster
	Stop    func(error) // stops the run

	// Shared, if not nil, is the budget of the runs that go on at once
	// (an experiment's replicas): this run reports what it holds to it.
	Shared *Shared

	// cloning counts the VMs being cloned: asked for, not yet on the
	// cluster. They count as held, so that arrivals during a clone cannot
	// take the room it was given.
	cloning atomic.Int64
	// reported is what this run last reported to Shared.
	reported atomic.Int64
}

// Shared is a memory budget that runs going on at once share: the
// replicas of an experiment, each with a Budget of its own. A run's own
// budget is part of the model (a run that spends it stops there, as it
// would alone); the shared one is not, and must not change a result: once
// the runs together hold Max, the run that asks stops with a
// *SharedBudgetError, and its result is not one to keep.
type Shared struct {
	Max  int64
	held atomic.Int64
}

// SharedBudgetError is the cause of a run stopped by a Shared budget.
type SharedBudgetError struct {
	Max, Held int64
}

func (e *SharedBudgetError) Error() string {
	return fmt.Sprintf("memory budget reached: the runs going on at once held %d jobs and VMs together, the most -max-held %d allows; run fewer at once (-parallel), or raise -max-held",
		e.Held, e.Max)
}

// step is how far what a run holds may move from what it last reported to
// s before it reports again: a 1,024th of Max, at least 1. Every run
// writes s's one counter, and a report of each change had the cores take
// that counter's cache line from each other on every job and every clone
// (4.6 % of the CPU time of 1,000 replicas run on two cores); in steps,
// what s holds is behind what the runs hold by less than a step a run, a
// 1,024th of Max each: a memory guard, not a figure of the model.
func (s *Shared) step() int64 { return max(s.Max/1024, 1) }

// Held is what the runs sharing s hold, as they last reported it.
func (s *Shared) Held() int64 { return s.held.Load() }

// BudgetError is the cause of a run stopped by its memory budget.
type BudgetError struct {
	Max, Jobs, VMs int64
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("memory budget reached: the model held %d jobs and %d VMs, the most -max-held %d allows; raise -max-held, or shorten the run",
		e.Jobs, e.VMs, e.Max)
}

// Allow reports whether the model may hold one more job; if not, it stops
// the run. A nil Budget allows everything.
func (b *Budget) Allow() bool {
	if b == nil {
		return true
	}
	jobs, vms := b.Ledger.Held(), b.Cluster.VMs()+b.cloning.Load()
	if jobs+vms >= b.Max {
		b.Stop(&BudgetError{Max: b.Max, Jobs: jobs, VMs: vms})
		return false
	}
	if s := b.Shared; s != nil {
		// Each report adds what changed since the last, so that what s
		// holds is the sum of the runs' latest reports, whatever their
		// order. A run reports once what it holds has moved by a step.
		held, last := jobs+vms, b.reported.Load()
		if d := held - last; (d >= s.step() || -d >= s.step()) && b.reported.CompareAndSwap(last, held) {
			if total := s.held.Add(d); total >= s.Max {
				b.Stop(&SharedBudgetError{Max: s.Max, Held: total})
				return false
			}
		}
	}
	return true
}

// Release takes back what the run reported to its Shared budget: it holds
// nothing once it has ended.
func (b *Budget) Release() {
	if b != nil && b.Shared != nil {
		b.Shared.held.Add(-b.reported.Swap(0))
	}
}

// Clone is Allow for a VM: if it allows, the VM counts as held until
// Cloned is called, once the clone has put it on the cluster or failed.
func (b *Budget) Clone() bool {
	if b == nil {
		return true
	}
	if !b.Allow() {
		return false
	}
	b.cloning.Add(1)
	return true
}

// Cloned ends what Clone began: the VM is on the cluster, and counted
// there, or its clone failed.
func (b *Budget) Cloned() {
	if b != nil {
		b.cloning.Add(-1)
	}
}
