package workers

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/internal/sim"
	"vmstorm/internal/simtest"
)

// schedulerUnderTest is a scheduler over two queues, com and org, running
// in a Serial kernel; the test's process plays the source, the workers
// and the operators.
type schedulerUnderTest struct {
	s     *Scheduler
	inbox *sim.Chan[Msg]
	out   *sim.Chan[*Job]
}

// withScheduler runs body as the test's process beside the scheduler; body
// checks with its t, the process's checks, reported on the test goroutine
// once the run is over.
func withScheduler(t *testing.T, limits []int64, body func(t *simtest.Checks, ctx context.Context, st *schedulerUnderTest)) {
	t.Helper()
	checks := simtest.New(t)
	k := sim.New(sim.Options{})
	st := &schedulerUnderTest{inbox: sim.NewChan[Msg](k, 100), out: sim.NewChan[*Job](k, 100)}
	st.s = NewScheduler(Env{Kernel: k}, SchedulerSettings{}, SchedulerLinks{
		Queues: NewQueueControls(k, []string{"com", "org"}, limits), Inbox: st.inbox, Out: st.out,
	})
	k.Go(t.Context(), st.s.Run)
	k.Go(t.Context(), func(ctx context.Context) {
		defer k.Stop(nil) // also when a failed require ends body
		body(checks, ctx, st)
	})
	err := k.Run(t.Context())
	checks.Report()
	require.NoError(t, err)
}

// send puts m in the inbox without letting the scheduler act.
func (st *schedulerUnderTest) send(ctx context.Context, kind MsgKind, job *Job, queue int) {
	if !st.inbox.Send(ctx, Msg{Kind: kind, Job: job, Queue: queue}) {
		panic("stopped")
	}
}

// settled lets the scheduler act on all it has heard, and returns the jobs
// it handed out meanwhile.
func (st *schedulerUnderTest) settled(ctx context.Context) []*Job {
	sim.Sleep(ctx, time.Nanosecond)
	return st.out.Drain()
}

func ids(jobs []*Job) []uint64 {
	out := []uint64{}
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}

func TestSchedulerHandsJobsOnlyToWorkersThatAsk(t *testing.T) {
	withScheduler(t, []int64{0, 0}, func(t *simtest.Checks, ctx context.Context, st *schedulerUnderTest) {
		for id := uint64(1); id <= 3; id++ {
			st.send(ctx, Arrived, &Job{ID: id, Queue: 0}, 0)
		}
		assert.Empty(t, st.settled(ctx), "no worker asked")
		assert.Equal(t, 3, st.s.Len())
		st.send(ctx, Ready, nil, 0)
		st.send(ctx, Ready, nil, 0)
		assert.Equal(t, []uint64{1, 2}, ids(st.settled(ctx)), "one job per ask, oldest first")
		assert.Equal(t, 1, st.s.Len())
	})
}

func TestSchedulerHoldsBackAPausedQueue(t *testing.T) {
	withScheduler(t, []int64{0, 0}, func(t *simtest.Checks, ctx context.Context, st *schedulerUnderTest) {
		st.s.Queues.SetPaused(0, true)
		assert.Equal(t, 1, st.s.Queues.Paused())
		st.send(ctx, Arrived, &Job{ID: 1, Queue: 0}, 0)
		st.send(ctx, Arrived, &Job{ID: 2, Queue: 1}, 0)
		st.send(ctx, Ready, nil, 0)
		st.send(ctx, Ready, nil, 0)
		assert.Equal(t, []uint64{2}, ids(st.settled(ctx)), "only the unpaused queue's job")
		assert.Equal(t, 1, st.s.Len(), "the paused queue keeps its job")

		st.s.Queues.SetPaused(0, false)
		assert.Equal(t, []uint64{1}, ids(st.settled(ctx)), "resuming releases it to the worker still asking")
	})
}

// TestAPauseTakesEffectAtOnce: a job that reached the scheduler's inbox
// before a pause, for a worker that asked before it, is held back by the
// pause if the scheduler has not yet handed it out.
func TestAPauseTakesEffectAtOnce(t *testing.T) {
	withScheduler(t, []int64{0, 0}, func(t *simtest.Checks, ctx context.Context, st *schedulerUnderTest) {
		st.send(ctx, Ready, nil, 0)
		assert.Empty(t, st.settled(ctx))
		st.send(ctx, Arrived, &Job{ID: 1, Queue: 0}, 0)
		st.s.Queues.SetPaused(0, true)
		assert.Empty(t, st.settled(ctx), "paused before the scheduler handed it out")
		st.s.Queues.SetPaused(0, false)
		assert.Equal(t, []uint64{1}, ids(st.settled(ctx)))
	})
}

func TestSchedulerKeepsAQueueUnderItsLimit(t *testing.T) {
	withScheduler(t, []int64{2, 0}, func(t *simtest.Checks, ctx context.Context, st *schedulerUnderTest) {
		for id := uint64(1); id <= 3; id++ {
			st.send(ctx, Arrived, &Job{ID: id, Queue: 0}, 0)
		}
		for range 3 {
			st.send(ctx, Ready, nil, 0)
		}
		assert.Equal(t, []uint64{1, 2}, ids(st.settled(ctx)), "two builds in progress: the limit")
		assert.Equal(t, int64(2), st.s.Queues.InProgress(0))

		st.send(ctx, Finished, nil, 0) // one build ends
		assert.Equal(t, []uint64{3}, ids(st.settled(ctx)), "a slot freed lets the next job go")

		st.s.Queues.SetLimit(0, 0)
		assert.Equal(t, int64(0), st.s.Queues.Limit(0))
		st.send(ctx, Arrived, &Job{ID: 4, Queue: 0}, 0)
		st.send(ctx, Ready, nil, 0)
		assert.Equal(t, []uint64{4}, ids(st.settled(ctx)), "no limit")
	})
}

func TestSchedulerTakesTurnsAndTakesBackRequeues(t *testing.T) {
	withScheduler(t, []int64{0, 0}, func(t *simtest.Checks, ctx context.Context, st *schedulerUnderTest) {
		for id := uint64(1); id <= 4; id++ {
			st.send(ctx, Arrived, &Job{ID: id, Queue: int(id % 2)}, 0)
		}
		for range 4 {
			st.send(ctx, Ready, nil, 0)
		}
		var queues []int
		for _, j := range st.settled(ctx) {
			queues = append(queues, j.Queue)
		}
		assert.Equal(t, []int{0, 1, 0, 1}, queues, "the queues take turns, from the first")
		assert.Equal(t, int64(2), st.s.Queues.InProgress(1))

		lost := &Job{ID: 9, Queue: 1}
		st.send(ctx, Requeued, lost, 0)
		assert.Empty(t, st.settled(ctx))
		assert.Equal(t, int64(1), st.s.Queues.InProgress(1), "a requeue is no longer in progress")
		st.send(ctx, Ready, nil, 0)
		got := st.settled(ctx)
		require.Len(t, got, 1)
		assert.Same(t, lost, got[0], "and is handed out again")
		st.send(ctx, Returned, lost, 0)
		st.send(ctx, Ready, nil, 0)
		got = st.settled(ctx)
		require.Len(t, got, 1)
		assert.Same(t, lost, got[0], "so is a lost build")
		assert.Equal(t, int64(2), st.s.Queues.InProgress(1))
	})
}
