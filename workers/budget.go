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

	// cloning counts the VMs being cloned: asked for, not yet on the
	// cluster. They count as held, so that arrivals during a clone cannot
	// take the room it was given.
	cloning atomic.Int64
}

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
	if jobs+vms < b.Max {
		return true
	}
	b.Stop(&BudgetError{Max: b.Max, Jobs: jobs, VMs: vms})
	return false
}

// Clone is Allow for a VM: if it allows, the VM counts as held until done
// is called, once the clone has put it on the cluster or failed.
func (b *Budget) Clone() (ok bool, done func()) {
	if b == nil {
		return true, func() {}
	}
	if !b.Allow() {
		return false, nil
	}
	b.cloning.Add(1)
	return true, func() { b.cloning.Add(-1) }
}
