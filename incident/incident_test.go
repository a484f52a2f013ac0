package incident

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"vmstorm/capacity"
	"vmstorm/cluster"
	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
	"vmstorm/workers"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ptr[T any](v T) *T { return &v }

// world is the model's parts that the timeline pulls on, real and running
// in a Serial kernel: a cluster of 200 VMs with 10 young VMs running on it,
// the janitor (a pass at 0, then every 10 minutes) and its Cleanup pool of
// 5 workers, 2 at work normally, a Run pool of 4 idle workers, and two
// queues, com with no limit of builds and org with 100.
type world struct {
	clock   sim.Clock
	parts   Parts
	cluster *cluster.Cluster
	runIn   *sim.Chan[*workers.Job]
	inbox   *sim.Chan[workers.Msg]
}

// inWorld builds a world in a Serial kernel and runs body as a process of
// it, from model time zero, then stops the run.
func inWorld(t *testing.T, body func(ctx context.Context, w *world)) {
	t.Helper()
	k := sim.New(sim.Options{})
	nop := zap.NewNop()
	cl := cluster.New(cluster.Config{Seed: 1, RejectTime: time.Second, Destroy: dist.Latency{Mean: 10 * time.Second}}, k, capacity.New(200))
	doomed := sim.NewChan[*cluster.VM](k, 100)
	janitor := workers.NewJanitor(k)
	janitor.Cluster, janitor.Log, janitor.Events, janitor.Credentials = cl, nop, nop, &workers.Credentials{}
	janitor.Every, janitor.Cutoff, janitor.ReportStale, janitor.Out = 10*time.Minute, 2*time.Hour, true, doomed
	cleanup := workers.NewCleanupPool(k, 5, 2)
	cleanup.Cluster, cleanup.Log, cleanup.Events, cleanup.In = cl, nop, nop, doomed
	w := &world{clock: k, cluster: cl, runIn: sim.NewChan[*workers.Job](k, 100), inbox: sim.NewChan[workers.Msg](k, 100)}
	run := workers.NewRunPool(k, 4)
	run.Cluster, run.Ledger, run.Log, run.Events, run.Seed = cl, workers.NewLedger(0, time.Hour, nil), nop, nop, 1
	run.StallTimeout, run.In, run.Inbox = 5*time.Minute, w.runIn, w.inbox
	w.parts = Parts{
		Credentials: janitor.Credentials, Janitor: janitor, Cleanup: cleanup, Cluster: cl, Run: run,
		Queues:   workers.NewQueueControls(k, []string{"com", "org"}, []int64{0, 100}),
		Switches: workers.NewSwitches(nil),
	}
	k.Go(t.Context(), func(ctx context.Context) {
		for id := uint64(1); id <= 10; id++ {
			vm, err := cl.Clone(ctx, id, 1)
			require.NoError(t, err)
			require.NoError(t, cl.PowerOn(ctx, vm))
		}
		for _, f := range []func(context.Context){janitor.Run, cleanup.Run, run.Run} {
			k.Go(ctx, f)
		}
		body(ctx, w)
		k.Stop(nil)
	})
	require.NoError(t, k.Run(t.Context()))
}

// sleep waits d of model time in the world.
func sleep(t *testing.T, ctx context.Context, d time.Duration) {
	t.Helper()
	require.True(t, sim.Sleep(ctx, d))
}

// builds hands the Run pool n jobs with booted VMs, each building for
// buildTime, and returns the count of workers busy a minute later.
func builds(t *testing.T, ctx context.Context, w *world, n int, buildTime time.Duration) int64 {
	t.Helper()
	for id := uint64(100); id < uint64(100+n); id++ {
		vm, err := w.cluster.Clone(ctx, id, 1)
		require.NoError(t, err)
		require.NoError(t, w.cluster.PowerOn(ctx, vm))
		require.True(t, w.runIn.Send(ctx, &workers.Job{ID: id, BuildTime: buildTime, VM: vm, Attempts: 1}))
	}
	sleep(t, ctx, time.Minute)
	return w.parts.Run.Stats().BusyNow
}

// cleaning is what the janitor and its pool do at its pass at 10 minutes:
// the Cleanup workers busy a second into it, and the VMs destroyed a
// minute on.
type cleaning struct{ busy, destroyed int64 }

func cleanedAtTheNextPass(t *testing.T, ctx context.Context, w *world) any {
	sim.SleepUntil(ctx, 10*time.Minute+time.Second)
	busy := w.parts.Cleanup.Stats().BusyNow
	sleep(t, ctx, time.Minute)
	return cleaning{busy, w.cluster.Stats().Destroyed}
}

// TestEveryActionPullsItsLever applies each action of the catalogue to
// real parts at one model minute, after the events of its setup, and
// observes what it changed: each row's observation differs with the action
// applied and without it, so each effect is the action's.
func TestEveryActionPullsItsLever(t *testing.T) {
	tests := []struct {
		ev      Event
		setup   []Event // applied before, with the action or without it
		observe func(t *testing.T, ctx context.Context, w *world) any
		without any // observed without the action
		with    any // and with it
	}{
		{
			ev: Event{Action: "rotate_cleanup_password"},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				sim.SleepUntil(ctx, 10*time.Minute+time.Second)
				return w.parts.Janitor.Failing()
			},
			without: false, with: true,
		},
		{
			// The fixed password is read when the janitor restarts.
			ev:    Event{Action: "fix_cleanup_credentials"},
			setup: []Event{{Action: "rotate_cleanup_password"}},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				sim.SleepUntil(ctx, 10*time.Minute+time.Second)
				failing := w.parts.Janitor.Failing()
				require.NoError(t, Event{Action: "restart_janitor"}.Apply(w.parts, zap.NewNop(), nil))
				sleep(t, ctx, time.Second)
				return [2]bool{failing, w.parts.Janitor.Failing()}
			},
			without: [2]bool{true, true}, with: [2]bool{true, false},
		},
		{
			ev: Event{Action: "restart_janitor"},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				sleep(t, ctx, time.Second)
				return w.parts.Janitor.Stats().Passes
			},
			without: int64(1), with: int64(2), // a pass at once, not at 10 minutes
		},
		{
			ev:      Event{Action: "aggressive_cleanup", Args: Args{Rate: ptr(0.0)}},
			observe: cleanedAtTheNextPass,
			without: cleaning{0, 0},  // young VMs are not the janitor's to destroy
			with:    cleaning{5, 10}, // every VM, by every Cleanup worker
		},
		{
			ev:      Event{Action: "normal_cleanup"},
			setup:   []Event{{Action: "aggressive_cleanup", Args: Args{Rate: ptr(0.0)}}},
			observe: cleanedAtTheNextPass,
			without: cleaning{5, 10}, with: cleaning{0, 0},
		},
		{
			ev: Event{Action: "pause_builds", Args: Args{Queue: "all"}},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				return w.parts.Queues.Paused()
			},
			without: 0, with: 2,
		},
		{
			ev:    Event{Action: "resume_builds", Args: Args{Queue: "com"}},
			setup: []Event{{Action: "pause_builds", Args: Args{Queue: "all"}}},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				return w.parts.Queues.Paused()
			},
			without: 2, with: 1,
		},
		{
			ev: Event{Action: "set_max_builds", Args: Args{Queue: "org", MaxBuilds: ptr(int64(80))}},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				q := w.parts.Queues
				return [3]int64{q.Limit(0), q.Limit(1), int64(q.Reduced())}
			},
			without: [3]int64{0, 100, 0}, with: [3]int64{0, 80, 1},
		},
		{
			// A ceiling of the 10 VMs running: one more cannot be powered on.
			ev: Event{Action: "set_cpu_capacity", Args: Args{VMs: ptr(int64(10))}},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				vm, err := w.cluster.Clone(ctx, 99, 1)
				require.NoError(t, err)
				err = w.cluster.PowerOn(ctx, vm)
				return [2]any{w.cluster.Stats().CPUCapacity, errors.Is(err, cluster.ErrNoCPU)}
			},
			without: [2]any{int64(0), false}, with: [2]any{int64(10), true},
		},
		{
			// The Run pool's gate narrows: two of the four workers take no job.
			ev: Event{Action: "crash_workers", Args: Args{Fraction: ptr(0.5)}},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				return builds(t, ctx, w, 4, time.Hour)
			},
			without: int64(4), with: int64(2),
		},
		{
			ev:    Event{Action: "restart_workers"},
			setup: []Event{{Action: "crash_workers", Args: Args{Fraction: ptr(0.5)}}},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				return builds(t, ctx, w, 4, time.Hour)
			},
			without: int64(2), with: int64(4),
		},
		{
			// Five calls at one a second: four seconds of waiting.
			ev: Event{Action: "set_api_rate_limit", Args: Args{Rate: ptr(1.0)}},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				start := w.clock.Now()
				for id := uint64(200); id < 205; id++ {
					_, err := w.cluster.Clone(ctx, id, 1)
					require.NoError(t, err)
				}
				return w.clock.Now() - start
			},
			without: time.Duration(0), with: 4 * time.Second,
		},
		{
			// A stalled build is given up after the stall timeout: its VM
			// is orphaned and its job comes back to the scheduler.
			ev: Event{Action: "set_stall_chance", Args: Args{Fraction: ptr(1.0)}},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				builds(t, ctx, w, 1, 2*time.Minute)
				sleep(t, ctx, 5*time.Minute)
				var kinds []workers.MsgKind
				for _, m := range w.inbox.Drain() {
					kinds = append(kinds, m.Kind)
				}
				return [2]any{w.cluster.Stats().ByState[cluster.Orphaned], kinds}
			},
			without: [2]any{int64(0), []workers.MsgKind{workers.Finished}},
			with:    [2]any{int64(1), []workers.MsgKind{workers.Returned}},
		},
	}
	tests = append(tests, []struct {
		ev      Event
		setup   []Event
		observe func(t *testing.T, ctx context.Context, w *world) any
		without any
		with    any
	}{
		{
			// The switch the parts read: their effects are the workers'
			// and the pipeline's tests.
			ev: Event{Action: "enable_mitigation", Args: Args{Mitigation: "breaker"}},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				return [2]bool{w.parts.Switches.On(workers.Breaker), w.parts.Switches.On(workers.Reaper)}
			},
			without: [2]bool{false, false}, with: [2]bool{true, false},
		},
		{
			ev:    Event{Action: "disable_mitigation", Args: Args{Mitigation: "reaper"}},
			setup: []Event{{Action: "enable_mitigation", Args: Args{Mitigation: "reaper"}}, {Action: "enable_mitigation", Args: Args{Mitigation: "shed"}}},
			observe: func(t *testing.T, ctx context.Context, w *world) any {
				return [2]bool{w.parts.Switches.On(workers.Reaper), w.parts.Switches.On(workers.Shed)}
			},
			without: [2]bool{true, true}, with: [2]bool{false, true},
		},
	}...)
	var tested []string
	for _, tt := range tests {
		tested = append(tested, tt.ev.Action)
	}
	for _, a := range Actions {
		assert.Contains(t, tested, a.Name, "the action %s has a row in this test", a.Name)
	}
	require.Len(t, tested, len(Actions), "one row per action")

	for _, tt := range tests {
		t.Run(tt.ev.Action, func(t *testing.T) {
			require.NoError(t, tt.ev.Validate([]string{"com", "org"}))
			require.NotEqual(t, tt.without, tt.with, "the action must change what is observed")
			for _, apply := range []bool{false, true} {
				var got any
				core, logs := observer.New(zapcore.DebugLevel)
				inWorld(t, func(ctx context.Context, w *world) {
					sleep(t, ctx, time.Minute)
					for _, ev := range tt.setup {
						require.NoError(t, ev.Apply(w.parts, zap.NewNop(), nil))
					}
					if apply {
						var applied []Event
						require.NoError(t, tt.ev.Apply(w.parts, zap.New(core), func(ev Event) { applied = append(applied, ev) }))
						assert.Equal(t, []Event{tt.ev}, applied, "applied is told of the event")
					}
					got = tt.observe(t, ctx, w)
				})
				if !apply {
					assert.Equal(t, tt.without, got, "without %s", tt.ev.Action)
					continue
				}
				assert.Equal(t, tt.with, got, "with %s", tt.ev.Action)
				entries := logs.FilterMessage(tt.ev.Action).All()
				require.Len(t, entries, 1, "the action is logged under its name")
				assert.Equal(t, zapcore.WarnLevel, entries[0].Level)
				assert.Equal(t, tt.ev.Describe(), entries[0].ContextMap()["note"])
			}
		})
	}
}

// TestApplyLogsTheArguments: the log line of an event has its arguments as
// fields of their own, beside its description.
func TestApplyLogsTheArguments(t *testing.T) {
	tests := []struct {
		ev     Event
		fields map[string]any
	}{
		{Event{Action: "set_max_builds", Args: Args{Queue: "org", MaxBuilds: ptr(int64(80))}},
			map[string]any{"queue": "org", "max_builds": int64(80)}},
		{Event{Action: "aggressive_cleanup", Args: Args{Rate: ptr(50.0)}}, map[string]any{"rate": 50.0}},
		{Event{Action: "crash_workers", Args: Args{Fraction: ptr(0.25)}}, map[string]any{"fraction": 0.25}},
		{Event{Action: "set_cpu_capacity", Args: Args{VMs: ptr(int64(400))}}, map[string]any{"vms": int64(400)}},
		{Event{Action: "restart_janitor", Note: "the on-call restarts it"}, map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.ev.Action, func(t *testing.T) {
			inWorld(t, func(ctx context.Context, w *world) {
				core, logs := observer.New(zapcore.DebugLevel)
				require.NoError(t, tt.ev.Apply(w.parts, zap.New(core), nil))
				require.Equal(t, 1, logs.Len())
				want := map[string]any{"note": tt.ev.Describe()}
				for k, v := range tt.fields {
					want[k] = v
				}
				assert.Equal(t, want, logs.All()[0].ContextMap())
			})
		})
	}
}

func TestApplyRejectsWhatItCannotDo(t *testing.T) {
	inWorld(t, func(ctx context.Context, w *world) {
		var applied []Event
		err := Event{Action: "reboot_everything"}.Apply(w.parts, zap.NewNop(), func(ev Event) { applied = append(applied, ev) })
		require.ErrorContains(t, err, `unknown action "reboot_everything"`)
		err = Event{Action: "pause_builds", Args: Args{Queue: "net"}}.Apply(w.parts, zap.NewNop(), func(ev Event) { applied = append(applied, ev) })
		require.ErrorContains(t, err, `pause_builds: no queue "net"`)
		assert.Empty(t, applied, "an event that failed is not applied")
		assert.Zero(t, w.parts.Queues.Paused())
	})
}

func TestValidateRejectsBadEvents(t *testing.T) {
	queues := []string{"com", "org"}
	tests := []struct {
		name    string
		ev      Event
		wantArg string
		wantMsg string
	}{
		{"unknown action", Event{Action: "reboot_everything"}, "action", `unknown action "reboot_everything"`},
		{"missing argument", Event{Action: "pause_builds"}, "action", "pause_builds needs queue: the jobs of the queue given are no longer started"},
		{"missing one of two", Event{Action: "set_max_builds", Args: Args{Queue: "com"}}, "action", "set_max_builds needs max_builds: queue com runs at most `max_builds` builds at once"},
		{"missing both", Event{Action: "set_max_builds"}, "action", "set_max_builds needs queue and max_builds: the queue given runs at most `max_builds` builds at once"},
		{"missing a number", Event{Action: "aggressive_cleanup"}, "action", "aggressive_cleanup needs rate: the janitor destroys every VM, new build VMs included, at `rate` VMs per second"},
		{"missing one, the other not a queue", Event{Action: "set_max_builds", Args: Args{Queue: "n\x1b[2Jet"}}, "action", "set_max_builds needs max_builds: the queue given runs"},
		{"missing a fraction", Event{Action: "crash_workers"}, "action", "crash_workers needs fraction: `fraction` of the Run workers crash"},
		{"argument it does not take", Event{Action: "restart_janitor", Args: Args{Queue: "com"}}, "queue", "restart_janitor does not take queue"},
		{"unknown queue", Event{Action: "pause_builds", Args: Args{Queue: "net"}}, "queue", `no queue "net"; the queues are com, org, or all`},
		{"negative rate", Event{Action: "aggressive_cleanup", Args: Args{Rate: ptr(-1.0)}}, "rate", "0 or more"},
		{"fraction over 1", Event{Action: "crash_workers", Args: Args{Fraction: ptr(1.5)}}, "fraction", "from 0 to 1"},
		{"negative VMs", Event{Action: "set_cpu_capacity", Args: Args{VMs: ptr(int64(-3))}}, "vms", "0 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.ev.Validate(queues)
			var argErr *ArgError
			require.ErrorAs(t, err, &argErr)
			assert.Equal(t, tt.wantArg, argErr.Arg)
			assert.Contains(t, argErr.Msg, tt.wantMsg)
			assert.NotContains(t, argErr.Msg, "{", "no raw placeholder in what a user reads")
		})
	}
}

func TestBeginAppliesWhatIsDueAndSortsTheRest(t *testing.T) {
	inWorld(t, func(ctx context.Context, w *world) {
		tl := Timeline{
			{At: 90 * time.Minute, Action: "restart_janitor"},
			{At: 0, Action: "pause_builds", Args: Args{Queue: "all"}},
			{At: 30 * time.Minute, Action: "resume_builds", Args: Args{Queue: "com"}},
			{At: 90 * time.Minute, Action: "set_max_builds", Args: Args{Queue: "org", MaxBuilds: ptr(int64(80))}}, // a tie keeps its order
		}
		var applied []string
		rest, afterDetection, err := tl.Begin(w.parts, zap.NewNop(), func(ev Event) { applied = append(applied, ev.Action) })
		require.NoError(t, err)
		assert.Empty(t, afterDetection)
		assert.Equal(t, 2, w.parts.Queues.Paused(), "Begin applies what is due at time zero")
		assert.Equal(t, []string{"pause_builds"}, applied, "and only that")
		assert.Equal(t, int64(100), w.parts.Queues.Limit(1))
		var order []string
		for _, ev := range rest {
			order = append(order, ev.Action)
		}
		assert.Equal(t, []string{"resume_builds", "restart_janitor", "set_max_builds"}, order,
			"the rest, in order of time, ties as given")
		assert.Equal(t, "restart_janitor", tl[0].Action, "the timeline itself is left as it was")
		require.NoError(t, rest[0].Apply(w.parts, zap.NewNop(), nil))
		assert.Equal(t, 1, w.parts.Queues.Paused())
	})
}

// TestFaults: the actions that inject a fault, from which an incident is
// timed, are the password's rotation, the workers' crash and the stalls.
func TestFaults(t *testing.T) {
	var faults []string
	for _, a := range Actions {
		assert.Equal(t, a.Fault, IsFault(a.Name), a.Name)
		if a.Fault {
			faults = append(faults, a.Name)
		}
	}
	assert.Equal(t, []string{"rotate_cleanup_password", "crash_workers", "set_stall_chance"}, faults)
	assert.False(t, IsFault("no_such_action"))
}

// TestDescribeFillsTheArguments: every action's description is filled from
// the event's arguments, with no placeholder left, for a number of 0 (which
// often reads "no limit") as for any other.
func TestDescribeFillsTheArguments(t *testing.T) {
	tests := []struct {
		ev         Event
		want, zero string // zero: the description with the action's number 0
	}{
		{Event{Action: "rotate_cleanup_password"}, "the vSphere account's password is rotated; the janitor keeps the old one and can no longer log in", ""},
		{Event{Action: "fix_cleanup_credentials"}, "the janitor's configuration gets the current password (it reads it when it restarts)", ""},
		{Event{Action: "restart_janitor"}, "the janitor restarts: it rereads its configuration and makes a pass at once", ""},
		{Event{Action: "aggressive_cleanup", Args: Args{Rate: ptr(50.0)}}, "the janitor destroys every VM, new build VMs included, at 50 VMs per second",
			"the janitor destroys every VM, new build VMs included, as fast as it can"},
		{Event{Action: "normal_cleanup"}, "the janitor goes back to its normal rules and rate", ""},
		{Event{Action: "pause_builds", Args: Args{Queue: "all"}}, "the jobs of every queue are no longer started (builds already started go on)", ""},
		{Event{Action: "resume_builds", Args: Args{Queue: "com"}}, "the jobs of queue com are started again", ""},
		{Event{Action: "set_max_builds", Args: Args{Queue: "com", MaxBuilds: ptr(int64(100))}}, "queue com runs at most 100 builds at once: the build rate changes",
			"queue com runs with no limit of builds at once"},
		{Event{Action: "set_cpu_capacity", Args: Args{VMs: ptr(int64(240))}}, "the reservation configuration changes: the cluster can run 240 VMs at once",
			"the reservation configuration changes: no CPU ceiling any more"},
		{Event{Action: "crash_workers", Args: Args{Fraction: ptr(0.3)}}, "30% of the Run workers crash: their builds' VMs are orphaned and the jobs requeued",
			"0% of the Run workers crash: their builds' VMs are orphaned and the jobs requeued"},
		{Event{Action: "restart_workers"}, "the crashed workers are restarted", ""},
		{Event{Action: "set_api_rate_limit", Args: Args{Rate: ptr(3.5)}}, "the clients' own limit on cloud API calls becomes 3.5 calls per second",
			"the clients' own limit on cloud API calls is lifted"},
		{Event{Action: "set_stall_chance", Args: Args{Fraction: ptr(0.25)}}, "a booted VM stalls (its build never makes progress) with a chance of 25%",
			"booted VMs no longer stall"},
		{Event{Action: "enable_mitigation", Args: Args{Mitigation: "capacity_aware"}}, "operators turn on capacity aware", ""},
		{Event{Action: "disable_mitigation", Args: Args{Mitigation: "retry_budget"}}, "operators turn off retry budget", ""},
	}
	require.Len(t, tests, len(Actions), "every action in the catalogue is tested")
	for _, tt := range tests {
		t.Run(tt.ev.Action, func(t *testing.T) {
			require.NoError(t, tt.ev.Validate([]string{"com", "org"}))
			assert.Equal(t, tt.want, tt.ev.Describe())
			assert.NotContains(t, tt.ev.Describe(), "{", "no placeholder left")

			zero := tt.ev
			zero.Args = Args{Queue: tt.ev.Args.Queue, Mitigation: tt.ev.Args.Mitigation}
			if tt.ev.Args.Rate != nil {
				zero.Args.Rate = ptr(0.0)
			}
			if tt.ev.Args.VMs != nil {
				zero.Args.VMs = ptr(int64(0))
			}
			if tt.ev.Args.MaxBuilds != nil {
				zero.Args.MaxBuilds = ptr(int64(0))
			}
			if tt.ev.Args.Fraction != nil {
				zero.Args.Fraction = ptr(0.0)
			}
			require.NoError(t, zero.Validate([]string{"com", "org"}))
			if tt.zero != "" {
				assert.Equal(t, tt.zero, zero.Describe())
			}
			assert.NotContains(t, zero.Describe(), "{", "no placeholder left with 0")
		})
	}
}

func TestDescribeWithANoteKeepsTheArguments(t *testing.T) {
	tests := []struct {
		ev   Event
		want string
	}{
		{Event{Action: "set_api_rate_limit", Args: Args{Rate: ptr(3.5)}, Note: "lowered below the cloud's"}, "lowered below the cloud's (rate 3.5)"},
		{Event{Action: "set_max_builds", Args: Args{Queue: "all", MaxBuilds: ptr(int64(100))}, Note: "a reduced rate"}, "a reduced rate (queue all, max_builds 100)"},
		{Event{Action: "rotate_cleanup_password", Note: "the 90-day expiry"}, "the 90-day expiry"},
	}
	for _, tt := range tests {
		t.Run(tt.ev.Action, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.ev.Describe())
		})
	}
}
