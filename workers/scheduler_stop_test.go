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
	k.Go(t.Context(), func(ctx context.Context) {
		for id := uint64(1); id <= 2; id++ {
			require.True(t, inbox.Send(ctx, Msg{Kind: Ready}))
			require.True(t, inbox.Send(ctx, Msg{Kind: Arrived, Job: &Job{ID: id}}))
		}
		sim.Sleep(ctx, time.Nanosecond) // the scheduler hands job 1 over and blocks on job 2
		require.Equal(t, int64(2), controls.InProgress(0), "both taken from the queue")
		k.Stop(nil)
	})
	require.NoError(t, k.Run(t.Context()))

	assert.Equal(t, []uint64{1}, ids(out.Drain()), "handed over")
	assert.Equal(t, []uint64{2}, ids(s.Drain()), "still in the backlog")
	assert.Equal(t, int64(1), controls.InProgress(0), "only the job handed over is in progress")
}
