package workers

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"vmstorm/capacity"
	"vmstorm/cluster"
	"vmstorm/incident"
	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
	"vmstorm/internal/simtest"
	"vmstorm/mitigate"
)

// modelClock stamps log entries with model time, as logx does, so that a
// test reads back when in the model each line was written (entryAt).
type modelClock struct{ c sim.Clock }

var logBase = time.Unix(0, 0).UTC()

func (m modelClock) Now() time.Time                         { return logBase.Add(m.c.Now()) }
func (m modelClock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

// observed is a logger that keeps every entry, stamped with model time.
func observed(c sim.Clock) (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return zap.New(core, zap.WithClock(modelClock{c})), logs
}

func entryAt(e observer.LoggedEntry) time.Duration { return e.Time.Sub(logBase) }

// field reads one field of an entry (ints as int64, floats as float64).
func field(t simtest.TB, e observer.LoggedEntry, key string) any {
	t.Helper()
	v, ok := e.ContextMap()[key]
	require.True(t, ok, "%s has no field %s: %v", e.Message, key, e.ContextMap())
	return v
}

// TestSwitchesSetOneAndCallChanged: Set turns on or off only its own
// mitigation, and calls changed after every call (the scheduler's poke).
func TestSwitchesSetOneAndCallChanged(t *testing.T) {
	for m := range incident.NumMitigations {
		t.Run(m.String(), func(t *testing.T) {
			calls := 0
			var onAtCall []bool
			var s *Switches
			s = NewSwitches(func() { calls++; onAtCall = append(onAtCall, s.On(m)) })
			for o := range incident.NumMitigations {
				require.False(t, s.On(o), "all off at first")
			}
			s.Set(m, true)
			assert.Equal(t, 1, calls)
			for o := range incident.NumMitigations {
				assert.Equal(t, o == m, s.On(o), "only %v is on", m)
			}
			s.Set(m, false)
			assert.Equal(t, 2, calls)
			assert.False(t, s.On(m))
			assert.Equal(t, []bool{true, false}, onAtCall, "changed is called after the change")
		})
	}
}

func TestNilSwitchesAndPoliciesAreAllOff(t *testing.T) {
	var s *Switches
	var p *Policies
	for m := range incident.NumMitigations {
		assert.False(t, s.On(m), "nil Switches: %v off", m)
		assert.False(t, p.on(m), "nil Policies: %v off", m)
	}
	// A Switches with no changed callback may be set.
	quiet := NewSwitches(nil)
	quiet.Set(incident.Breaker, true)
	assert.True(t, quiet.On(incident.Breaker))
	assert.Zero(t, p.backoffDelay(1, &Job{ID: 1, Attempts: 1}), "nil Policies: no backoff")
}

// TestPoliciesActOnlyWhileSwitchedOn: the budget counts outcomes, and the
// backoff draws a delay, only while their switches are on; the delay is the
// attempt's draw from its backoff stream (dist.Backoff), under its ceiling.
func TestPoliciesActOnlyWhileSwitchedOn(t *testing.T) {
	const seed = 20150804
	backoff := mitigate.Backoff{Base: time.Minute, Cap: 8 * time.Minute, Multiplier: 2}
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint("on=", on), func(t *testing.T) {
			budget, err := mitigate.NewRetryBudget(mitigate.RetryBudgetSettings{MaxTokens: 10, TokenRatio: 1})
			require.NoError(t, err)
			s := NewSwitches(nil)
			s.Set(incident.Backoff, on)
			s.Set(incident.RetryBudget, on)
			p := &Policies{Switches: s, Backoff: backoff, RetryBudget: budget}
			p.record(0, nil, false)
			p.record(0, nil, false)
			for attempts := 1; attempts <= 8; attempts++ {
				job := &Job{ID: 7, Attempts: attempts}
				d := p.backoffDelay(seed, job)
				if !on {
					assert.Zero(t, d)
					continue
				}
				want := backoff.Delay(attempts-1, dist.Backoff.Stream(seed, 7, uint64(attempts)))
				assert.Equal(t, want, d, "attempt %d: the job's own draw", attempts)
				assert.Less(t, d, backoff.Ceiling(attempts-1))
				assert.Equal(t, d, p.backoffDelay(seed, job), "the same job and attempt, the same delay")
			}
			if on {
				assert.Equal(t, 8.0, budget.Tokens(), "two failures cost two tokens")
				p.record(0, nil, true)
				assert.Equal(t, 9.0, budget.Tokens(), "a success puts back the ratio")
			} else {
				assert.Equal(t, 10.0, budget.Tokens(), "off: the budget counts nothing")
			}
		})
	}
}

// received is a job that came back to the scheduler's inbox, and when.
type received struct {
	ID uint64
	At time.Duration
}

// withBackoffs runs a waiting room sending to an inbox of size inboxSize
// in a Serial kernel, with body as the test's process (checking with its
// t, reported on the test goroutine after the run); it returns the room
// once the run is over.
func withBackoffs(t *testing.T, inboxSize int, body func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, b *Backoffs)) *Backoffs {
	t.Helper()
	checks := simtest.New(t)
	// The horizon ends the run if body hangs before it stops it.
	k := sim.New(sim.Options{Horizon: 24 * time.Hour})
	b := NewBackoffs(k, sim.NewChan[Msg](k, inboxSize))
	k.Go(t.Context(), b.Run)
	k.Go(t.Context(), func(ctx context.Context) {
		defer k.Stop(nil) // also when a failed require ends body
		body(checks, ctx, k, b)
	})
	err := k.Run(t.Context())
	checks.Report()
	require.NoError(t, err)
	return b
}

// TestBackoffsSendJobsBackWhenDue: each job reaches the scheduler's inbox
// as a Retry at its due model time, in order of (due, arrival in the room);
// a job added with an earlier due than the one the room waits for, or one
// already due, is sent on time; Len counts the jobs until they are sent.
func TestBackoffsSendJobsBackWhenDue(t *testing.T) {
	var got []received
	withBackoffs(t, 0, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, b *Backoffs) {
		var g sim.Group
		g.Go(ctx, func(ctx context.Context) {
			for {
				m, ok := b.Inbox.Recv(ctx)
				if !ok {
					return
				}
				assert.Equal(t, Retry, m.Kind)
				got = append(got, received{m.Job.ID, k.Now()})
			}
		})
		job := func(id uint64) *Job { return &Job{ID: id} }
		b.Add(job(1), 30*time.Second)
		b.Add(job(2), 10*time.Second)
		b.Add(job(3), 10*time.Second) // same due as 2, after it
		b.Add(job(4), 20*time.Second)
		assert.Equal(t, 4, b.Len())
		require.True(t, sim.SleepUntil(ctx, 5*time.Second))
		assert.Equal(t, 4, b.Len(), "none due yet")
		b.Add(job(5), 10*time.Second) // same due as 2 and 3, after them
		b.Add(job(6), 7*time.Second)  // before the one the room waits for
		b.Add(job(7), time.Second)    // already due
		assert.Equal(t, 7, b.Len())
		for _, c := range []struct {
			at  time.Duration
			len int
		}{{6 * time.Second, 6}, {8 * time.Second, 5}, {15 * time.Second, 2}, {25 * time.Second, 1}, {31 * time.Second, 0}} {
			require.True(t, sim.SleepUntil(ctx, c.at))
			assert.Equal(t, c.len, b.Len(), "still backing off at %v", c.at)
		}
		k.Stop(nil)
		g.Wait(ctx)
	})
	assert.Equal(t, []received{
		{7, 5 * time.Second}, {6, 7 * time.Second},
		{2, 10 * time.Second}, {3, 10 * time.Second}, {5, 10 * time.Second},
		{4, 20 * time.Second}, {1, 30 * time.Second},
	}, got)
}

// TestBackoffsDrainAfterAStop: the jobs still backing off when the run
// stops are returned by Drain, in order of due time, and no job is lost,
// not even one whose send to a full inbox the stop cut short; the jobs
// already sent are not.
func TestBackoffsDrainAfterAStop(t *testing.T) {
	tests := []struct {
		name      string
		inboxSize int
		wantSent  []uint64 // in the inbox at the end
		wantLeft  []uint64 // Drain
		lenAtStop int
	}{
		{"sent ones leave the room", 10, []uint64{3}, []uint64{2, 1}, 2},
		{"a send cut by the stop stays in the room", 0, nil, []uint64{3, 2, 1}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := withBackoffs(t, tt.inboxSize, func(t *simtest.Checks, ctx context.Context, k *sim.Kernel, b *Backoffs) {
				b.Add(&Job{ID: 1}, 2*time.Hour)
				b.Add(&Job{ID: 2}, time.Hour)
				b.Add(&Job{ID: 3}, time.Minute)
				require.True(t, sim.SleepUntil(ctx, 30*time.Minute))
				assert.Equal(t, tt.lenAtStop, b.Len(), "a job counts until it is sent")
			})
			var sent []uint64
			for _, m := range b.Inbox.Drain() {
				sent = append(sent, m.Job.ID)
			}
			assert.Equal(t, tt.wantSent, sent)
			assert.Equal(t, tt.wantLeft, ids(b.Drain()))
			assert.Zero(t, b.Len(), "drained")
			assert.Empty(t, b.Drain(), "once")
		})
	}
}

// buildRig is a Build pool with its real neighbours, in a Serial kernel:
// a cluster whose latencies are fixed (a clone is instant, a refused
// power-on comes back after rejectTime), the scheduler with one queue, the
// ledger, the mitigations' policies and the backoff waiting room. The
// test's process plays the source and reads the counters.
type buildRig struct {
	k           *sim.Kernel
	cluster     *cluster.Cluster
	ledger      *Ledger
	queues      *QueueControls
	sched       *Scheduler
	build       *BuildPool
	backoffs    *Backoffs
	breaker     *mitigate.Breaker
	budget      *mitigate.RetryBudget
	inbox       *sim.Chan[Msg]
	dispatch    *sim.Chan[*Job]
	booted      *sim.Chan[*Job]
	logs        *observer.ObservedLogs
	transitions []mitigate.Transition
	nextID      uint64
}

const rejectTime = 30 * time.Second

type rigConfig struct {
	workers     int
	capacity    int64
	on          []incident.Mitigation
	breaker     mitigate.BreakerSettings
	budget      mitigate.RetryBudgetSettings
	backoff     mitigate.Backoff
	maxAttempts int
	seed        uint64
}

func newBuildRig(t *testing.T, rc rigConfig) *buildRig {
	t.Helper()
	if rc.breaker == (mitigate.BreakerSettings{}) {
		rc.breaker = mitigate.DefaultBreakerSettings()
	}
	if rc.budget == (mitigate.RetryBudgetSettings{}) {
		rc.budget = mitigate.DefaultRetryBudgetSettings()
	}
	if rc.backoff == (mitigate.Backoff{}) {
		rc.backoff = mitigate.DefaultBackoff()
	}
	// The horizon ends the run if the test's process fails before it
	// stops it.
	k := sim.New(sim.Options{Horizon: 24 * time.Hour})
	r := &buildRig{k: k, nextID: 1}
	r.cluster = cluster.New(cluster.Config{Seed: rc.seed, RejectTime: rejectTime}, k, capacity.New(rc.capacity))
	r.ledger = NewLedger(0, time.Hour, nil)
	r.queues = NewQueueControls(k, []string{"com"}, []int64{0})
	policies, err := NewPolicies(k, r.queues, PolicySettings{Backoff: rc.backoff, Breaker: rc.breaker, RetryBudget: rc.budget}, func(tr mitigate.Transition) {
		r.transitions = append(r.transitions, tr)
	})
	require.NoError(t, err)
	for _, m := range rc.on {
		policies.Switches.Set(m, true)
	}
	r.breaker, r.budget = policies.Breaker, policies.RetryBudget

	var events *zap.Logger
	events, r.logs = observed(k)
	r.inbox = sim.NewChan[Msg](k, 1000)
	r.dispatch = sim.NewChan[*Job](k, rc.workers)
	r.booted = sim.NewChan[*Job](k, 1000)
	r.backoffs = NewBackoffs(k, r.inbox)
	env := Env{Kernel: k, Cluster: r.cluster, Ledger: r.ledger, Log: zap.NewNop(), Events: events, Seed: rc.seed}
	r.build = NewBuildPool(env, rc.workers, BuildSettings{MaxAttempts: rc.maxAttempts}, BuildLinks{
		In: r.dispatch, Out: r.booted, Inbox: r.inbox, Policies: policies, Backoffs: r.backoffs,
	})
	r.sched = NewScheduler(env, SchedulerSettings{ShedAfter: time.Hour}, SchedulerLinks{
		Queues: r.queues, Inbox: r.inbox, Out: r.dispatch, Switches: policies.Switches, Room: func(int64) bool { return true },
	})
	return r
}

// run runs the rig with body as the test's process (checking with its t,
// reported on the test goroutine after the run), stops it when body
// returns, and checks that every job is accounted for.
func (r *buildRig) run(t *testing.T, body func(t *simtest.Checks, ctx context.Context)) {
	t.Helper()
	checks := simtest.New(t)
	for _, f := range []func(context.Context){r.sched.Run, r.build.Run, r.backoffs.Run} {
		r.k.Go(t.Context(), f)
	}
	r.k.Go(t.Context(), func(ctx context.Context) {
		defer r.k.Stop(nil) // also when a failed require ends body
		body(checks, ctx)
	})
	err := r.k.Run(t.Context())
	checks.Report()
	require.NoError(t, err)

	queued := len(r.sched.Drain()) + len(r.dispatch.Drain()) + len(r.backoffs.Drain())
	for _, m := range r.inbox.Drain() {
		if m.Job != nil {
			queued++
		}
	}
	c := r.ledger.Counts()
	assert.Equal(t, c.Arrived, c.Completed+c.Failed+c.Shed+int64(queued)+c.InFlight,
		"nothing lost: %+v, queued %d", c, queued)
	require.NoError(t, r.cluster.Audit())
}

// fill puts n running VMs on the cluster, so that it is full: every
// power-on then fails after rejectTime. It returns them.
func (r *buildRig) fill(ctx context.Context, t simtest.TB, n int) []*cluster.VM {
	var vms []*cluster.VM
	for i := range n {
		vm, err := r.cluster.Clone(ctx, 1_000_000+uint64(i), 1)
		require.NoError(t, err)
		require.NoError(t, r.cluster.PowerOn(ctx, vm))
		vms = append(vms, vm)
	}
	return vms
}

// empty destroys vms.
func (r *buildRig) empty(ctx context.Context, t simtest.TB, vms []*cluster.VM) {
	for _, vm := range vms {
		require.True(t, r.cluster.Claim(vm))
		require.NoError(t, r.cluster.Destroy(ctx, vm))
	}
}

// arrive sends n new jobs to the scheduler, as the source does.
func (r *buildRig) arrive(ctx context.Context, t simtest.TB, n int) {
	for range n {
		now := r.k.Now()
		job := &Job{ID: r.nextID, QueueName: "com", ArrivedAt: now, WaitingSince: now, BuildTime: time.Hour}
		r.nextID++
		r.ledger.arrive(job)
		require.True(t, r.inbox.Send(ctx, Msg{Kind: Arrived, Job: job}))
	}
}

// messages are the logged events with that message.
func (r *buildRig) messages(msg string) []observer.LoggedEntry {
	return r.logs.FilterMessage(msg).All()
}

// TestBreakerKeepsBuildWorkersFromTheAPI: on a full cluster, where every
// start fails, four workers fail together at 30s and the breaker opens at
// the third failure (the first two workers start again before it does);
// from then on no Build worker takes a job (the backlog holds them all and
// requeues stop growing) until the open timeout, when exactly Probes
// starts go through; their failure opens it again, their success closes
// it. Off, the workers keep cycling the jobs.
func TestBreakerKeepsBuildWorkersFromTheAPI(t *testing.T) {
	settings := mitigate.BreakerSettings{MinRequests: 3, FailureRatio: 0.6, Window: time.Minute, OpenTimeout: 5 * time.Minute, Probes: 2}
	type point struct {
		at              time.Duration
		taken, requeues int64
		backlog         int
		state           mitigate.State
		takenAtLeast    bool // taken is a lower bound
		probesSucceeded bool
	}
	tests := []struct {
		name   string
		on     bool
		points []point
	}{
		{"on", true, []point{
			// The first two failures at 30s leave it closed: their workers
			// start again at once; the third opens it.
			{at: 45 * time.Second, taken: 6, requeues: 4, backlog: 18, state: mitigate.Open},
			// The two starts let through before it opened fail at 1m and do
			// not count: it stays open, and no worker takes a job.
			{at: 75 * time.Second, taken: 6, requeues: 6, backlog: 20, state: mitigate.Open},
			{at: 5*time.Minute + 29*time.Second, taken: 6, requeues: 6, backlog: 20, state: mitigate.Open},
			{at: 5*time.Minute + 31*time.Second, taken: 8, requeues: 6, backlog: 18, state: mitigate.HalfOpen},
			{at: 6*time.Minute + time.Second, taken: 8, requeues: 8, backlog: 20, state: mitigate.Open},
			{at: 10*time.Minute + 59*time.Second, taken: 8, requeues: 8, backlog: 20, state: mitigate.Open},
			// The cluster is emptied at 8m: at 11m the two probes succeed and
			// the breaker closes; every worker takes a job again.
			{at: 11*time.Minute + time.Second, taken: 8 + 2 + 4, takenAtLeast: true, requeues: 8, state: mitigate.Closed, probesSucceeded: true},
		}},
		{"off", false, []point{
			{at: 45 * time.Second, taken: 8, requeues: 4, backlog: 16, state: mitigate.Closed},
			{at: 5*time.Minute + 15*time.Second, taken: 4 * 11, requeues: 4 * 10, backlog: 16, state: mitigate.Closed},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var on []incident.Mitigation
			if tt.on {
				on = []incident.Mitigation{incident.Breaker}
			}
			r := newBuildRig(t, rigConfig{workers: 4, capacity: 3, on: on, breaker: settings, seed: 1})
			r.run(t, func(t *simtest.Checks, ctx context.Context) {
				occupiers := r.fill(ctx, t, 3)
				r.arrive(ctx, t, 20)
				for _, p := range tt.points {
					if p.at > 8*time.Minute && occupiers != nil {
						require.True(t, sim.SleepUntil(ctx, 8*time.Minute))
						r.empty(ctx, t, occupiers)
						occupiers = nil
					}
					require.True(t, sim.SleepUntil(ctx, p.at))
					st, c := r.build.Stats(), r.ledger.Counts()
					if p.takenAtLeast {
						assert.GreaterOrEqual(t, st.Taken, p.taken, "starts taken by %v", p.at)
					} else {
						assert.Equal(t, p.taken, st.Taken, "starts taken by %v", p.at)
						assert.Equal(t, p.backlog, r.sched.Len(), "backlog at %v", p.at)
					}
					assert.Equal(t, p.requeues, c.Requeues, "requeues by %v", p.at)
					assert.Equal(t, p.state, r.breaker.State(p.at), "breaker at %v", p.at)
					if p.probesSucceeded {
						assert.GreaterOrEqual(t, st.Succeeded, int64(settings.Probes), "the probes succeeded")
					} else {
						assert.Zero(t, st.Succeeded)
					}
				}
			})
			if !tt.on {
				assert.Empty(t, r.transitions, "a breaker that is off never changes")
				return
			}
			require.GreaterOrEqual(t, len(r.transitions), 5)
			assert.Equal(t, []mitigate.Transition{
				{At: 30 * time.Second, From: mitigate.Closed, To: mitigate.Open},
				{At: 5*time.Minute + 30*time.Second, From: mitigate.Open, To: mitigate.HalfOpen},
				{At: 6 * time.Minute, From: mitigate.HalfOpen, To: mitigate.Open},
				{At: 11 * time.Minute, From: mitigate.Open, To: mitigate.HalfOpen},
				{At: 11 * time.Minute, From: mitigate.HalfOpen, To: mitigate.Closed},
			}, r.transitions[:5])
		})
	}
}

// TestRetryBudgetFailsJobsForGood: every start fails; with the budget on,
// a failure that leaves the bucket at half or less fails its job for good,
// counted as FailedByBudget and logged with its own reason. A first
// attempt is never refused (every job is tried once). -max-attempts, when
// it is reached, comes first and is not the budget's doing.
func TestRetryBudgetFailsJobsForGood(t *testing.T) {
	const budgetReason = "the retry budget is spent"
	tests := []struct {
		name        string
		on          []incident.Mitigation
		maxAttempts int
		// want, after 10 model minutes
		failed, byBudget int64
		requeues         int64 // exact, or a lower bound if requeuesAtLeast
		requeuesAtLeast  bool
		reason           string
		tokens           float64
	}{
		// Tokens 4: the first failure leaves 3 (a retry), the second 2 (half: none).
		{name: "on", on: []incident.Mitigation{incident.RetryBudget}, failed: 6, byBudget: 6, requeues: 1, reason: budgetReason, tokens: 0},
		{name: "off", requeues: 19, requeuesAtLeast: true, tokens: 4},
		{name: "max attempts first", on: []incident.Mitigation{incident.RetryBudget}, maxAttempts: 1, failed: 6, byBudget: 0, requeues: 0,
			reason: "gave up after the maximum number of attempts", tokens: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newBuildRig(t, rigConfig{workers: 1, capacity: 1, on: tt.on, maxAttempts: tt.maxAttempts, seed: 1,
				budget: mitigate.RetryBudgetSettings{MaxTokens: 4, TokenRatio: 0.5}})
			r.run(t, func(t *simtest.Checks, ctx context.Context) {
				r.fill(ctx, t, 1)
				r.arrive(ctx, t, 6)
				require.True(t, sim.SleepUntil(ctx, 10*time.Minute))
				c := r.ledger.Counts()
				assert.Equal(t, tt.failed, c.Failed)
				assert.Equal(t, tt.byBudget, c.FailedByBudget)
				if tt.requeuesAtLeast {
					assert.GreaterOrEqual(t, c.Requeues, tt.requeues)
				} else {
					assert.Equal(t, tt.requeues, c.Requeues)
				}
				assert.Equal(t, tt.tokens, r.budget.Tokens())
				if tt.failed == 6 {
					assert.Zero(t, r.sched.Len(), "nothing left to try")
					assert.Zero(t, r.queues.InProgress(0), "a failed job is settled")
				}
			})
			failed := r.messages("job_failed")
			assert.Len(t, failed, int(tt.failed))
			for _, e := range failed {
				assert.Equal(t, tt.reason, field(t, e, "reason"))
			}
			// Every job was tried at least once.
			tried := map[uint64]bool{}
			for _, e := range r.messages("power_on_failed") {
				tried[field(t, e, "job_id").(uint64)] = true
			}
			assert.Len(t, tried, 6)
		})
	}
}

// backoffStart is one requeue with its backoff, and when the job's next
// start began.
type backoffStart struct {
	Job       uint64
	Attempt   int64
	At        time.Duration // of the requeue
	Delay     time.Duration // backoff_s
	NextStart time.Duration // -1 if none by the end
}

// runBackoffRig runs 3 jobs through 3 Build workers on a full cluster with
// backoff on, for an hour, and returns every requeue.
func runBackoffRig(t *testing.T, seed uint64, b mitigate.Backoff, during func(t *simtest.Checks, ctx context.Context, r *buildRig)) []backoffStart {
	t.Helper()
	r := newBuildRig(t, rigConfig{workers: 3, capacity: 1, on: []incident.Mitigation{incident.Backoff}, backoff: b, seed: seed})
	r.run(t, func(t *simtest.Checks, ctx context.Context) {
		r.fill(ctx, t, 1)
		r.arrive(ctx, t, 3)
		during(t, ctx, r)
		require.True(t, sim.SleepUntil(ctx, time.Hour))
	})
	type key struct {
		job     uint64
		attempt int64
	}
	cloned := map[key]time.Duration{}
	for _, e := range r.messages("vm_cloned") {
		cloned[key{field(t, e, "job_id").(uint64), field(t, e, "attempt").(int64)}] = entryAt(e)
	}
	var out []backoffStart
	for _, e := range r.messages("job_requeued") {
		s := backoffStart{
			Job: field(t, e, "job_id").(uint64), Attempt: field(t, e, "attempt").(int64), At: entryAt(e),
			Delay: time.Duration(field(t, e, "backoff_s").(float64) * float64(time.Second)), NextStart: -1,
		}
		if at, ok := cloned[key{s.Job, s.Attempt + 1}]; ok {
			s.NextStart = at
		}
		out = append(out, s)
	}
	return out
}

// TestBackoffHoldsJobsInTheWaitingRoom: with backoff on, a failed start's
// job waits in the room, holding no worker and out of the backlog, and
// starts again exactly when its delay is over: the attempt's draw from its
// backoff stream (dist.Backoff), within [0, ceiling). The same seed gives
// the same delays; another seed, others.
func TestBackoffHoldsJobsInTheWaitingRoom(t *testing.T) {
	const seed = 42
	b := mitigate.Backoff{Base: time.Minute, Cap: 4 * time.Minute, Multiplier: 2}
	starts := runBackoffRig(t, seed, b, func(t *simtest.Checks, ctx context.Context, r *buildRig) {
		// All three fail at 30s; their shortest delay is over 1ms (seed 42).
		require.True(t, sim.SleepUntil(ctx, rejectTime+time.Millisecond))
		assert.Equal(t, 3, r.backoffs.Len(), "backing off")
		assert.Zero(t, r.build.Stats().BusyNow, "holding no worker")
		assert.Zero(t, r.sched.Len(), "not in the backlog")
		assert.Zero(t, r.queues.InProgress(0), "nor in progress")
		c := r.ledger.Counts()
		assert.Equal(t, int64(3), c.Requeues, "requeued, as the ledger counts them")
		assert.Zero(t, c.InFlight)
	})
	require.Greater(t, len(starts), 3*3, "a few rounds in an hour")
	var delays []time.Duration
	for _, s := range starts {
		want := b.Delay(int(s.Attempt)-1, dist.Backoff.Stream(seed, s.Job, uint64(s.Attempt)))
		assert.InDelta(t, want.Seconds(), s.Delay.Seconds(), 1e-6, "job %d attempt %d: the job's own draw", s.Job, s.Attempt)
		assert.GreaterOrEqual(t, want, time.Duration(0))
		assert.Less(t, want, b.Ceiling(int(s.Attempt)-1), "full jitter: under the ceiling")
		if s.NextStart >= 0 {
			assert.Equal(t, s.At+want, s.NextStart, "job %d attempt %d starts again when its delay is over", s.Job, s.Attempt)
		} else {
			assert.Greater(t, s.At+want, time.Hour, "job %d attempt %d: still backing off at the end", s.Job, s.Attempt)
		}
		delays = append(delays, want)
	}
	slices.Sort(delays)
	assert.Less(t, delays[0], b.Base/2, "the delays spread over the range")
	assert.Greater(t, delays[len(delays)-1], b.Cap/2)

	nothing := func(*simtest.Checks, context.Context, *buildRig) {}
	assert.Equal(t, starts, runBackoffRig(t, seed, b, nothing), "the same seed, the same delays")
	assert.NotEqual(t, starts, runBackoffRig(t, seed+1, b, nothing), "another seed, other delays")
}

// TestDeleteFailedVMsLeavesNoNeverBootedVM: every start fails on a full
// cluster; with the switch on each failed start's VM is discarded at once,
// off it stays, never booted.
func TestDeleteFailedVMsLeavesNoNeverBootedVM(t *testing.T) {
	for _, on := range []bool{false, true} {
		t.Run(fmt.Sprint("on=", on), func(t *testing.T) {
			var mits []incident.Mitigation
			if on {
				mits = []incident.Mitigation{incident.DeleteFailedVMs}
			}
			r := newBuildRig(t, rigConfig{workers: 2, capacity: 1, on: mits, seed: 1})
			r.run(t, func(t *simtest.Checks, ctx context.Context) {
				r.fill(ctx, t, 1)
				r.arrive(ctx, t, 4)
				require.True(t, sim.SleepUntil(ctx, 5*time.Minute+15*time.Second))
			})
			bs := r.build.Stats()
			require.Equal(t, int64(2*10), bs.Failed, "two workers, a failure every 30s for 5m")
			require.Equal(t, int64(2), bs.BusyNow, "and a start of each under way")
			st := r.cluster.Stats()
			// Every start cloned a VM, and so did the one that filled the cluster.
			assert.Equal(t, bs.Failed+bs.BusyNow+1, st.Cloned)
			assert.Equal(t, bs.BusyNow, st.ByState[cluster.Cloned], "the starts under way")
			discarded := int64(len(r.messages("vm_discarded")))
			if on {
				assert.Zero(t, st.ByState[cluster.NeverBooted])
				assert.Equal(t, 1+bs.BusyNow, st.VMs, "the VM that filled the cluster and the starts under way")
				assert.Equal(t, bs.Failed, discarded)
			} else {
				assert.Equal(t, bs.Failed, st.ByState[cluster.NeverBooted])
				assert.Equal(t, bs.Failed+bs.BusyNow+1, st.VMs)
				assert.Zero(t, discarded)
			}
		})
	}
}

// TestBreakerStopsAWorkerThatAskedBeforeItOpened: a Build worker that asked
// for a job while the breaker was closed, and still waits for one when it
// opens, does not call the VM API while it is open: "while it is open,
// Build workers do not call the API" (docs/mitigations.md, 3). Two
// workers, one job, a breaker that opens on one failure.
func TestBreakerStopsAWorkerThatAskedBeforeItOpened(t *testing.T) {
	settings := mitigate.BreakerSettings{MinRequests: 1, FailureRatio: 0.5, Window: time.Minute, OpenTimeout: 10 * time.Minute, Probes: 1}
	r := newBuildRig(t, rigConfig{workers: 2, capacity: 1, on: []incident.Mitigation{incident.Breaker}, breaker: settings, seed: 1})
	var taken int64
	r.run(t, func(t *simtest.Checks, ctx context.Context) {
		r.fill(ctx, t, 1)
		r.arrive(ctx, t, 1) // one worker starts it; the other waits for a job
		require.True(t, sim.SleepUntil(ctx, time.Minute))
		require.Equal(t, mitigate.Open, r.breaker.State(time.Minute), "opened by the failure at 30s")
		taken = r.build.Stats().Taken
	})
	require.NotEmpty(t, r.transitions)
	assert.Equal(t, int64(1), taken, "no start while the breaker is open")
}

// TestBreakerSwitchedOffFreesTheWorkersAtOnce: turning the breaker off
// (disable_mitigation) while it is open lets the Build workers it refused
// take jobs again at once, as every part "reads its switch when it acts"
// (Switches), not when the breaker's open timeout runs out.
func TestBreakerSwitchedOffFreesTheWorkersAtOnce(t *testing.T) {
	settings := mitigate.BreakerSettings{MinRequests: 3, FailureRatio: 0.6, Window: time.Minute, OpenTimeout: 30 * time.Minute, Probes: 1}
	r := newBuildRig(t, rigConfig{workers: 4, capacity: 1, on: []incident.Mitigation{incident.Breaker}, breaker: settings, seed: 1})
	var before, after int64
	r.run(t, func(t *simtest.Checks, ctx context.Context) {
		r.fill(ctx, t, 1)
		r.arrive(ctx, t, 20)
		require.True(t, sim.SleepUntil(ctx, 5*time.Minute))
		require.Equal(t, mitigate.Open, r.breaker.State(5*time.Minute))
		before = r.build.Stats().Taken
		r.build.Policies.Switches.Set(incident.Breaker, false)
		require.True(t, sim.SleepUntil(ctx, 5*time.Minute+time.Second))
		after = r.build.Stats().Taken
	})
	assert.Equal(t, before+4, after, "every worker takes a job at once")
}
