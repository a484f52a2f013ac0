package workers

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/internal/sim"
)

// TestSharedBudgetStopsRunsTogether: runs that share a budget are stopped
// once they hold its Max together, although each holds less than its own;
// what a run reported is taken back when it ends, and a run alone is held
// to its own budget first.
func TestSharedBudgetStopsRunsTogether(t *testing.T) {
	k := sim.New(sim.Options{})
	shared := &Shared{Max: 100}
	type run struct {
		budget  *Budget
		ledger  *Ledger
		stopped error
	}
	newRun := func(own int64) *run {
		r := &run{ledger: NewLedger(0, time.Hour, func() {})}
		r.budget = &Budget{Max: own, Ledger: r.ledger, Cluster: newCluster(k, 10), Stop: func(err error) { r.stopped = err }, Shared: shared}
		return r
	}
	hold := func(r *run, jobs int) {
		for range jobs {
			if !r.budget.Allow() {
				return
			}
			r.ledger.arrive(&Job{})
		}
	}
	a, b := newRun(100), newRun(100)
	hold(a, 60)
	require.NoError(t, a.stopped)
	assert.Equal(t, int64(59), shared.Held(), "what a reported when it last asked")
	hold(b, 60)
	var se *SharedBudgetError
	require.True(t, errors.As(b.stopped, &se), "b, below its own budget, is stopped by the shared one: %v", b.stopped)
	assert.Equal(t, int64(100), se.Max)
	assert.Equal(t, int64(100), se.Held)
	assert.NoError(t, a.stopped)

	a.budget.Release()
	b.budget.Release()
	assert.Zero(t, shared.Held(), "the runs that ended hold nothing")

	c := newRun(50)
	hold(c, 60)
	var own *BudgetError
	require.True(t, errors.As(c.stopped, &own), "alone, a run meets its own budget first: %v", c.stopped)
	assert.Equal(t, int64(50), own.Jobs)
	c.budget.Release()
	assert.Zero(t, shared.Held())
}

// TestSharedBudgetReportsInSteps: a run reports what it holds to a large
// Shared budget only once it has moved by a step (a 1,024th of Max) since
// its last report, up or down, so that runs on other cores do not write
// one counter on every job; what the shared budget holds is then behind by
// less than a step.
func TestSharedBudgetReportsInSteps(t *testing.T) {
	k := sim.New(sim.Options{})
	shared := &Shared{Max: 1024 * 10} // a step of 10
	ledger := NewLedger(0, time.Hour, func() {})
	var stopped error
	b := &Budget{Max: 1 << 20, Ledger: ledger, Cluster: newCluster(k, 10), Stop: func(err error) { stopped = err }, Shared: shared}
	for i := range 25 {
		require.True(t, b.Allow())
		ledger.arrive(&Job{ID: uint64(i)})
	}
	require.NoError(t, stopped)
	// Allow reads what is held before the job it allows arrives: the
	// 11th call saw 10 held, the 21st 20.
	assert.Equal(t, int64(20), shared.Held(), "reported at 10 and 20 held, not at every job")
	assert.True(t, b.Allow())
	assert.Equal(t, int64(20), shared.Held(), "25 held is within a step of the last report")
	b.Release()
	assert.Zero(t, shared.Held())
}
