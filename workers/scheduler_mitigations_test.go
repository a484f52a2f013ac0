package workers

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap/zaptest/observer"

	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/internal/simtest"
)

// mitigatedScheduler is a scheduler over two queues, com and org, with
// the mitigations' switches, a Room the test sets, a ledger and an
// observed lifecycle log, in a Serial kernel; the test's process plays the
// source, the workers and the operators.
type mitigatedScheduler struct {
	*schedulerUnderTest
	k        *sim.Kernel
	switches *Switches
	ledger   *Ledger
	logs     *observer.ObservedLogs
	room     atomic.Bool
	asked    atomic.Int64 // how many times the scheduler called Room
}

func withMitigatedScheduler(t *testing.T, limits []int64, on []incident.Mitigation, shedAfter time.Duration,
	body func(t *simtest.Checks, ctx context.Context, ms *mitigatedScheduler)) {
	t.Helper()
	k := sim.New(sim.Options{})
	ms := &mitigatedScheduler{k: k, ledger: NewLedger(0, time.Hour, nil)}
	ms.schedulerUnderTest = &schedulerUnderTest{inbox: sim.NewChan[Msg](k, 100), out: sim.NewChan[*Job](k, 100)}
	queues := NewQueueControls(k, []string{"com", "org"}, limits)
	ms.switches = NewSwitches(queues.Poke)
	for _, m := range on {
		ms.switches.Set(m, true)
	}
	events, logs := observed(k)
	ms.logs = logs
	s := NewScheduler(Env{Kernel: k, Ledger: ms.ledger, Events: events}, SchedulerSettings{ShedAfter: shedAfter}, SchedulerLinks{
		Queues: queues, Inbox: ms.inbox, Out: ms.out, Switches: ms.switches,
		Room: func(int64) bool { ms.asked.Add(1); return ms.room.Load() },
	})
	ms.s = s
	k.Go(t.Context(), s.Run)
	checks := simtest.New(t)
	k.Go(t.Context(), func(ctx context.Context) {
		defer k.Stop(nil) // also when a failed require ends body
		body(checks, ctx, ms)
	})
	err := k.Run(t.Context())
	checks.Report()
	require.NoError(t, err)
}

// arrive sends a new job of queue q to the scheduler, arrived now, as the
// source does.
func (ms *mitigatedScheduler) arrive(ctx context.Context, id uint64, q int) *Job {
	now := ms.k.Now()
	job := &Job{ID: id, Queue: q, QueueName: ms.s.Queues.Names[q], ArrivedAt: now, WaitingSince: now}
	ms.ledger.arrive(job)
	ms.send(ctx, Arrived, job, q)
	return job
}

// shed is when each job_shed line was logged, by job.
func (ms *mitigatedScheduler) shed(t simtest.TB) []received {
	var out []received
	for _, e := range ms.logs.FilterMessage("job_shed").All() {
		out = append(out, received{field(t, e, "job_id").(uint64), entryAt(e)})
	}
	return out
}

// TestCapacityAwareDispatchWaitsForRoom: with capacity-aware dispatch on
// and no room, no job is handed out, even to a worker that asked; once
// there is room, the poke that says so hands it out (or switching the
// mitigation off does). Off, Room is not even asked.
func TestCapacityAwareDispatchWaitsForRoom(t *testing.T) {
	tests := []struct {
		name       string
		on         bool
		heldAtOnce bool
		needsPoke  bool                         // room alone does not wake the scheduler
		release    func(ms *mitigatedScheduler) // after which the job must go
	}{
		{"on: a poke after room", true, true, true, func(ms *mitigatedScheduler) {
			ms.room.Store(true)
			ms.s.Queues.Poke()
		}},
		{"on: switched off", true, true, false, func(ms *mitigatedScheduler) { ms.switches.Set(incident.CapacityAware, false) }},
		{"off: Room ignored", false, false, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var on []incident.Mitigation
			if tt.on {
				on = []incident.Mitigation{incident.CapacityAware}
			}
			withMitigatedScheduler(t, []int64{0, 0}, on, time.Hour, func(t *simtest.Checks, ctx context.Context, ms *mitigatedScheduler) {
				ms.arrive(ctx, 1, 0)
				ms.send(ctx, Ready, nil, 0)
				if !tt.heldAtOnce {
					assert.Equal(t, []uint64{1}, ids(ms.settled(ctx)))
					assert.Zero(t, ms.asked.Load(), "Room is not asked while the mitigation is off")
					return
				}
				assert.Empty(t, ms.settled(ctx), "no room: held")
				assert.Equal(t, 1, ms.s.Len())
				assert.Zero(t, ms.s.Queues.InProgress(0))
				ms.send(ctx, Ready, nil, 0)
				assert.Empty(t, ms.settled(ctx), "still no room, however many ask")
				ms.room.Store(true)
				if tt.needsPoke {
					assert.Empty(t, ms.settled(ctx), "room, but nothing woke the scheduler")
				}
				tt.release(ms)
				assert.Equal(t, []uint64{1}, ids(ms.settled(ctx)), "handed out")
				assert.Equal(t, int64(1), ms.s.Queues.InProgress(0))
				ms.arrive(ctx, 2, 0)
				assert.Equal(t, []uint64{2}, ids(ms.settled(ctx)), "the second worker that asked is still waiting")
			})
		})
	}
}

// TestShedAtHandOut: a job that has waited past ShedAfter since it arrived
// is dropped when it comes to be handed out, counted and logged, and the
// next job goes instead; a job at exactly the deadline is kept. Off,
// nothing is shed.
func TestShedAtHandOut(t *testing.T) {
	const after = time.Hour
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("on=", on), func(t *testing.T) {
			var mits []incident.Mitigation
			if on {
				mits = []incident.Mitigation{incident.Shed}
			}
			withMitigatedScheduler(t, []int64{0, 0}, mits, after, func(t *simtest.Checks, ctx context.Context, ms *mitigatedScheduler) {
				// Job 1 arrived at 0 and lost a build since: its deadline
				// counts from its arrival, not from when it began to wait again.
				require.True(t, sim.SleepUntil(ctx, 20*time.Minute))
				lost := &Job{ID: 1, QueueName: "com", ArrivedAt: 0, WaitingSince: 20 * time.Minute}
				ms.ledger.arrive(lost)
				ms.send(ctx, Arrived, lost, 0)
				require.True(t, sim.SleepUntil(ctx, after))
				ms.arrive(ctx, 2, 0) // wakes the scheduler: job 1 is at its deadline, kept
				assert.Empty(t, ms.settled(ctx))
				assert.Equal(t, 2, ms.s.Len(), "at exactly the deadline a job is kept")
				require.True(t, sim.SleepUntil(ctx, after+30*time.Second))
				ms.send(ctx, Ready, nil, 0)
				got := ms.settled(ctx)
				c := ms.ledger.Counts()
				if !on {
					assert.Equal(t, []uint64{1}, ids(got), "the oldest goes first")
					assert.Zero(t, c.Shed)
					assert.Empty(t, ms.shed(t))
					return
				}
				assert.Equal(t, []uint64{2}, ids(got), "job 1 is past its deadline: dropped, job 2 goes")
				assert.Equal(t, int64(1), c.Shed)
				assert.Equal(t, int64(1), ms.ledger.Held(), "a shed job is no longer held")
				assert.Equal(t, int64(1), ms.s.Queues.InProgress(0), "a shed job never started")
				assert.Zero(t, ms.s.Len())
				assert.Equal(t, []received{{1, after + 30*time.Second}}, ms.shed(t), "shed at hand-out")
				if e := ms.logs.FilterMessage("job_shed").All(); assert.Len(t, e, 1) {
					assert.InDelta(t, (after + 30*time.Second).Seconds(), field(t, e[0], "waited_s"), 1e-9, "waited since it arrived")
				}
			})
		})
	}
}

// TestShedScanReachesPausedQueues: the scheduler looks through every
// queue, a paused one included, for jobs past their deadline at every whole
// model minute, of its own accord: with nothing else to wake it, the jobs
// of a paused queue are shed at the first whole minute past their deadline.
func TestShedScanReachesPausedQueues(t *testing.T) {
	const after = time.Hour
	withMitigatedScheduler(t, []int64{0, 0}, []incident.Mitigation{incident.Shed}, after, func(t *simtest.Checks, ctx context.Context, ms *mitigatedScheduler) {
		ms.s.Queues.SetPaused(0, true)
		ms.arrive(ctx, 1, 0)
		require.True(t, sim.SleepUntil(ctx, 10*time.Second))
		ms.arrive(ctx, 2, 0)
		ms.arrive(ctx, 3, 1)
		ms.send(ctx, Ready, nil, 0)
		assert.Equal(t, []uint64{3}, ids(ms.settled(ctx)))

		require.True(t, sim.SleepUntil(ctx, 2*time.Hour))
		assert.Equal(t, int64(2), ms.ledger.Counts().Shed, "the scans found both in the paused queue, with nothing to wake the scheduler")
		assert.Zero(t, ms.s.Len())
		// Job 1 is past its deadline after 1h, job 2 after 1h0m10s: both
		// at the first whole minute after those.
		assert.Equal(t, []received{{1, after + time.Minute}, {2, after + time.Minute}}, ms.shed(t))
		if e := ms.logs.FilterMessage("job_shed").All(); assert.Len(t, e, 2) {
			assert.InDelta(t, (after + time.Minute - 10*time.Second).Seconds(), field(t, e[1], "waited_s"), 1e-9)
		}
	})
}

// TestShedScanKeepsItsOwnSchedule: the shed scan comes at whole minutes
// and at no other time, however often or seldom something else wakes the
// scheduler (a poke between two whole minutes does not scan); it stops
// while shedding is off, and keeps the schedule again once it is on.
func TestShedScanKeepsItsOwnSchedule(t *testing.T) {
	const after = time.Hour
	withMitigatedScheduler(t, []int64{0, 0}, []incident.Mitigation{incident.Shed}, after, func(t *simtest.Checks, ctx context.Context, ms *mitigatedScheduler) {
		ms.s.Queues.SetPaused(0, true)
		ms.arrive(ctx, 1, 0)
		require.True(t, sim.SleepUntil(ctx, 90*time.Second))
		ms.arrive(ctx, 2, 0)
		require.True(t, sim.SleepUntil(ctx, after+105*time.Second))
		ms.s.Queues.Poke() // job 2 is past its deadline, but no whole minute has come
		ms.settled(ctx)
		assert.Equal(t, []received{{1, after + time.Minute}}, ms.shed(t), "job 1 at the whole minute after its deadline, job 2 not at the poke")
		require.True(t, sim.SleepUntil(ctx, after+2*time.Minute))
		ms.settled(ctx)
		assert.Equal(t, []received{{1, after + time.Minute}, {2, after + 2*time.Minute}}, ms.shed(t), "job 2 at the next whole minute")

		ms.switches.Set(incident.Shed, false)
		ms.arrive(ctx, 3, 0)
		require.True(t, sim.SleepUntil(ctx, 3*after))
		ms.settled(ctx)
		assert.Equal(t, int64(2), ms.ledger.Counts().Shed, "off: nothing shed")
		assert.False(t, ms.s.ticking.Load(), "off: no process keeps the schedule")
		require.True(t, sim.SleepUntil(ctx, 3*after+20*time.Second))
		ms.switches.Set(incident.Shed, true) // the switch pokes the scheduler: a scan now, and the schedule again
		ms.settled(ctx)
		assert.Equal(t, received{3, 3*after + 20*time.Second}, ms.shed(t)[2], "the scan of the switch's poke")
		ms.arrive(ctx, 4, 0)
		require.True(t, sim.SleepUntil(ctx, 4*after+2*time.Minute))
		ms.settled(ctx)
		assert.Equal(t, received{4, 4*after + time.Minute}, ms.shed(t)[3], "on the schedule again")
	})
}

// TestBackingOffAndRetry: BackingOff settles the queue's build in progress
// and pushes nothing (the job is in the waiting room); Retry pushes the job
// back and settles nothing (it was settled when it went to the room).
func TestBackingOffAndRetry(t *testing.T) {
	withMitigatedScheduler(t, []int64{1, 0}, nil, time.Hour, func(t *simtest.Checks, ctx context.Context, ms *mitigatedScheduler) {
		first := ms.arrive(ctx, 1, 0)
		ms.arrive(ctx, 2, 0)
		ms.send(ctx, Ready, nil, 0)
		ms.send(ctx, Ready, nil, 0)
		assert.Equal(t, []uint64{1}, ids(ms.settled(ctx)), "the queue's limit is 1")
		assert.Equal(t, int64(1), ms.s.Queues.InProgress(0))

		ms.send(ctx, BackingOff, nil, 0) // job 1 failed and backs off
		assert.Equal(t, []uint64{2}, ids(ms.settled(ctx)), "its slot freed, job 2 goes")
		assert.Equal(t, int64(1), ms.s.Queues.InProgress(0))
		assert.Zero(t, ms.s.Len(), "nothing pushed")

		ms.send(ctx, Retry, first, 0) // job 1's backoff is over
		ms.send(ctx, Ready, nil, 0)
		assert.Empty(t, ms.settled(ctx), "job 2 still holds the one slot")
		assert.Equal(t, int64(1), ms.s.Queues.InProgress(0), "a retry settles nothing")
		assert.Equal(t, 1, ms.s.Len(), "it is back in the backlog")

		ms.send(ctx, Finished, nil, 0)
		assert.Equal(t, []uint64{1}, ids(ms.settled(ctx)))
	})
}
