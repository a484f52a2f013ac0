package sim

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAPoolReusesTheGoroutinesOfProcessesThatReturned: the processes of
// one kernel after another run on the same goroutines, which Close ends
// (the package's goleak check sees any left).
func TestAPoolReusesTheGoroutinesOfProcessesThatReturned(t *testing.T) {
	const procs = 50
	pool := NewPool()
	run := func() {
		k := New(Options{Mode: Serial})
		k.Reuse(pool)
		for i := range procs {
			k.Go(t.Context(), func(ctx context.Context) { Sleep(ctx, time.Duration(i)*time.Second) })
		}
		require.NoError(t, k.Run(t.Context()))
	}
	for range 4 {
		run()
		assert.Equal(t, procs, pool.Idle(), "every process's goroutine is back in the pool")
		pool.mu.Lock()
		assert.Equal(t, procs, pool.made, "and no other was made")
		pool.mu.Unlock()
	}
	pool.Close()
	assert.Zero(t, pool.Idle())
}

// TestARunOnAPoolIsTheSameRun: a run's processes on reused goroutines do
// what they do on new ones, event for event.
func TestARunOnAPoolIsTheSameRun(t *testing.T) {
	want := traceRun(t, Options{Mode: Serial}, 1)
	pool := NewPool()
	defer pool.Close()
	for range 3 {
		assert.Equal(t, want, traceRunIn(t, Options{Mode: Serial}, pool, 1))
	}
	assert.Positive(t, pool.Idle())
}
