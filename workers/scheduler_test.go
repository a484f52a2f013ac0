package workers

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// schedulerUnderTest runs a scheduler over two queues, com and org, with
// unbuffered inputs, until the test ends.
type schedulerUnderTest struct {
	s                                *Scheduler
	arrivals, requeues, returns, out chan *Job
	finished                         chan int
}

func startScheduler(t *testing.T, limits []int64) *schedulerUnderTest {
	st := &schedulerUnderTest{
		arrivals: make(chan *Job), requeues: make(chan *Job), returns: make(chan *Job),
		out: make(chan *Job), finished: make(chan int),
	}
	st.s = &Scheduler{
		Controls: NewControls([]string{"com", "org"}, limits),
		Arrivals: st.arrivals, Requeues: st.requeues, Returns: st.returns, Finished: st.finished, Out: st.out,
	}
	st.s.Init()
	ctx, cancel := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	wg.Go(func() { _ = st.s.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return st
}

// offered is the job the scheduler offers now, or nil if it offers none.
func (st *schedulerUnderTest) offered() *Job {
	synctest.Wait()
	select {
	case j := <-st.out:
		synctest.Wait() // let the scheduler count the hand-off
		return j
	default:
		return nil
	}
}

func TestSchedulerHoldsBackAPausedQueue(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := startScheduler(t, []int64{0, 0})
		st.s.Controls.SetPaused(0, true)
		st.arrivals <- &Job{ID: 1, Queue: 0}
		st.arrivals <- &Job{ID: 2, Queue: 1}

		j := st.offered()
		require.NotNil(t, j)
		assert.Equal(t, uint64(2), j.ID, "only the unpaused queue's job is offered")
		assert.Nil(t, st.offered(), "the paused queue keeps its job")
		assert.Equal(t, 1, st.s.Len())

		st.s.Controls.SetPaused(0, false)
		j = st.offered()
		require.NotNil(t, j, "resuming releases it")
		assert.Equal(t, uint64(1), j.ID)
	})
}

func TestSchedulerKeepsAQueueUnderItsLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := startScheduler(t, []int64{2, 0})
		for id := uint64(1); id <= 3; id++ {
			st.arrivals <- &Job{ID: id, Queue: 0}
		}
		require.NotNil(t, st.offered())
		require.NotNil(t, st.offered())
		assert.Nil(t, st.offered(), "two builds in progress: the limit")
		assert.Equal(t, int64(2), st.s.Controls.InProgress(0))

		st.finished <- 0 // one build ends
		assert.NotNil(t, st.offered(), "a slot freed lets the next job go")

		st.s.Controls.SetLimit(0, 0)
		st.arrivals <- &Job{ID: 4, Queue: 0}
		assert.NotNil(t, st.offered(), "no limit")
	})
}

func TestSchedulerTakesTurnsAndTakesBackRequeues(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := startScheduler(t, []int64{0, 0})
		st.s.Controls.SetPaused(0, true)
		st.s.Controls.SetPaused(1, true)
		for id := uint64(1); id <= 4; id++ {
			st.arrivals <- &Job{ID: id, Queue: int(id % 2)}
		}
		st.s.Controls.SetPaused(0, false)
		st.s.Controls.SetPaused(1, false)
		var queues []int
		for range 4 {
			j := st.offered()
			require.NotNil(t, j)
			queues = append(queues, j.Queue)
		}
		assert.Equal(t, []int{0, 1, 0, 1}, queues, "the queues take turns")
		assert.Equal(t, int64(2), st.s.Controls.InProgress(1))

		lost := &Job{ID: 9, Queue: 1}
		st.requeues <- lost
		synctest.Wait()
		assert.Equal(t, int64(1), st.s.Controls.InProgress(1), "a requeue is no longer in progress")
		assert.Same(t, lost, st.offered(), "and is offered again")
		st.returns <- lost
		assert.Same(t, lost, st.offered(), "so is a lost build")
	})
}
