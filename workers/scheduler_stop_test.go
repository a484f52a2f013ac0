package workers

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/internal/sim"
)

// A job the scheduler has taken from its queue but could not hand over,
// because the run stopped, is still in the backlog: Drain returns it and
// its queue does not count it in progress.
func TestSchedulerKeepsAJobItCouldNotHandOver(t *testing.T) {
	k := sim.New(sim.Options{})
	inbox := sim.NewChan[Msg](k, 10)
	out := sim.NewChan[*Job](k, 1) // room for one: the second hand-over blocks
	controls := NewQueueControls(k, []string{"com"}, []int64{0})
	s := NewScheduler(Env{Kernel: k}, SchedulerSettings{}, SchedulerLinks{Queues: controls, Inbox: inbox, Out: out})
	k.Go(t.Context(), s.Run)
	// The process only records what it saw; the test goroutine asserts.
	var sent []bool
	var taken int64
	k.Go(t.Context(), func(ctx context.Context) {
		for id := uint64(1); id <= 2; id++ {
			sent = append(sent, inbox.Send(ctx, Msg{Kind: Ready}))
			sent = append(sent, inbox.Send(ctx, Msg{Kind: Arrived, Job: &Job{ID: id}}))
		}
		sim.Sleep(ctx, time.Nanosecond) // the scheduler hands job 1 over and blocks on job 2
		taken = controls.InProgress(0)
		k.Stop(nil)
	})
	require.NoError(t, k.Run(t.Context()))

	require.Equal(t, []bool{true, true, true, true}, sent, "every message reached the inbox")
	require.Equal(t, int64(2), taken, "both taken from the queue")
	assert.Equal(t, []uint64{1}, ids(out.Drain()), "handed over")
	assert.Equal(t, []uint64{2}, ids(s.Drain()), "still in the backlog")
	assert.Equal(t, int64(1), controls.InProgress(0), "only the job handed over is in progress")
}
