package pipeline

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	zapobserver "go.uber.org/zap/zaptest/observer"

	"vmstorm/capacity"
	"vmstorm/cluster"
	"vmstorm/incident"
	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
	"vmstorm/internal/simtest"
	"vmstorm/workers"
)

func ptr[T any](v T) *T { return &v }

// world is the model's parts that the timeline pulls on, real and running
// in a Serial kernel: a cluster of 200 VMs with 10 young VMs running on it,
// the janitor (a pass at 0, then every 10 minutes) and its Cleanup pool of
// 5 workers, 2 at work normally, a Run pool of 4 idle workers, and two
// queues, com with no limit of builds and org with 100.
type world struct {
	clock   sim.Clock
	parts   levers
	cluster *cluster.Cluster
	runIn   *sim.Chan[*workers.Job]
	inbox   *sim.Chan[workers.Msg]
}

// inWorld builds a world in a Serial kernel and runs body as a process of
// it, from model time zero, then stops the run. body checks with its t, the
// process's checks: what failed is reported on the test goroutine once the
// run is over.
func inWorld(t *testing.T, body func(t *simtest.Checks, ctx context.Context, w *world)) {
	t.Helper()
	checks := simtest.New(t)
	k := sim.New(sim.Options{})
	nop := zap.NewNop()
	cl := cluster.New(cluster.Config{Seed: 1, RejectTime: time.Second, Destroy: dist.Latency{Mean: 10 * time.Second}}, k, capacity.New(200))
	doomed := sim.NewChan[*cluster.VM](k, 100)
	env := workers.Env{Kernel: k, Cluster: cl, Ledger: workers.NewLedger(0, time.Hour, nil), Log: nop, Events: nop, Seed: 1}
	switches := workers.NewSwitches(nil)
	janitor := workers.NewJanitor(env, workers.JanitorSettings{Every: 10 * time.Minute, Cutoff: 2 * time.Hour, ReportStale: true},
		&workers.Credentials{}, switches, doomed)
	cleanup := workers.NewCleanupPool(env, 5, 2, doomed)
	w := &world{clock: k, cluster: cl, runIn: sim.NewChan[*workers.Job](k, 100), inbox: sim.NewChan[workers.Msg](k, 100)}
	run := workers.NewRunPool(env, 4, workers.RunSettings{StallTimeout: 5 * time.Minute}, w.runIn, w.inbox)
	w.parts = levers{
		credentials: janitor.Credentials, janitor: janitor, cleanup: cleanup, cluster: cl, run: run,
		queues:   workers.NewQueueControls(k, []string{"com", "org"}, []int64{0, 100}),
		switches: switches,
	}
	k.Go(t.Context(), func(ctx context.Context) {
		defer k.Stop(nil) // also when a failed require ends the process
		for id := uint64(1); id <= 10; id++ {
			vm, err := cl.Clone(ctx, id, 1)
			require.NoError(checks, err)
			require.NoError(checks, cl.PowerOn(ctx, vm))
		}
		for _, f := range []func(context.Context){janitor.Run, cleanup.Run, run.Run} {
			k.Go(ctx, f)
		}
		body(checks, ctx, w)
	})
	err := k.Run(t.Context())
	checks.Report()
	require.NoError(t, err)
}

// sleep waits d of model time in the world.
func sleep(t simtest.TB, ctx context.Context, d time.Duration) {
	t.Helper()
	require.True(t, sim.Sleep(ctx, d))
}

// builds hands the Run pool n jobs with booted VMs, each building for
// buildTime, and returns the count of workers busy a minute later.
func builds(t simtest.TB, ctx context.Context, w *world, n int, buildTime time.Duration) int64 {
	t.Helper()
	for id := uint64(100); id < uint64(100+n); id++ {
		vm, err := w.cluster.Clone(ctx, id, 1)
		require.NoError(t, err)
		require.NoError(t, w.cluster.PowerOn(ctx, vm))
		require.True(t, w.runIn.Send(ctx, &workers.Job{ID: id, BuildTime: buildTime, VM: vm, Attempts: 1}))
	}
	sleep(t, ctx, time.Minute)
	return w.parts.run.Stats().BusyNow
}

// cleaning is what the janitor and its pool do at its pass at 10 minutes:
// the Cleanup workers busy a second into it, and the VMs destroyed a
// minute on.
type cleaning struct{ busy, destroyed int64 }

func cleanedAtTheNextPass(t simtest.TB, ctx context.Context, w *world) any {
	sim.SleepUntil(ctx, 10*time.Minute+time.Second)
	busy := w.parts.cleanup.Stats().BusyNow
	sleep(t, ctx, time.Minute)
	return cleaning{busy, w.cluster.Stats().Destroyed}
}

// TestEveryActionPullsItsLever applies each action of the catalogue to
// real parts at one model minute, after the events of its setup, and
// observes what it changed: each row's observation differs with the action
// applied and without it, so each effect is the action's.
func TestEveryActionPullsItsLever(t *testing.T) {
	tests := []struct {
		ev      incident.Event
		setup   []incident.Event // applied before, with the action or without it
		observe func(t simtest.TB, ctx context.Context, w *world) any
		without any // observed without the action
		with    any // and with it
	}{
		{
			ev: incident.Event{Action: "rotate_cleanup_password"},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
				sim.SleepUntil(ctx, 10*time.Minute+time.Second)
				return w.parts.janitor.Failing()
			},
			without: false, with: true,
		},
		{
			// The fixed password is read when the janitor restarts.
			ev:    incident.Event{Action: "fix_cleanup_credentials"},
			setup: []incident.Event{{Action: "rotate_cleanup_password"}},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
				sim.SleepUntil(ctx, 10*time.Minute+time.Second)
				failing := w.parts.janitor.Failing()
				require.NoError(t, w.parts.apply(incident.Event{Action: "restart_janitor"}, zap.NewNop(), nil))
				sleep(t, ctx, time.Second)
				return [2]bool{failing, w.parts.janitor.Failing()}
			},
			without: [2]bool{true, true}, with: [2]bool{true, false},
		},
		{
			ev: incident.Event{Action: "restart_janitor"},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
				sleep(t, ctx, time.Second)
				return w.parts.janitor.Stats().Passes
			},
			without: int64(1), with: int64(2), // a pass at once, not at 10 minutes
		},
		{
			ev:      incident.Event{Action: "aggressive_cleanup", Args: incident.Args{Rate: ptr(0.0)}},
			observe: cleanedAtTheNextPass,
			without: cleaning{0, 0},  // young VMs are not the janitor's to destroy
			with:    cleaning{5, 10}, // every VM, by every Cleanup worker
		},
		{
			ev:      incident.Event{Action: "normal_cleanup"},
			setup:   []incident.Event{{Action: "aggressive_cleanup", Args: incident.Args{Rate: ptr(0.0)}}},
			observe: cleanedAtTheNextPass,
			without: cleaning{5, 10}, with: cleaning{0, 0},
		},
		{
			ev: incident.Event{Action: "pause_builds", Args: incident.Args{Queue: "all"}},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
				return w.parts.queues.Paused()
			},
			without: 0, with: 2,
		},
		{
			ev:    incident.Event{Action: "resume_builds", Args: incident.Args{Queue: "com"}},
			setup: []incident.Event{{Action: "pause_builds", Args: incident.Args{Queue: "all"}}},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
				return w.parts.queues.Paused()
			},
			without: 2, with: 1,
		},
		{
			ev: incident.Event{Action: "set_max_builds", Args: incident.Args{Queue: "org", MaxBuilds: ptr(int64(80))}},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
				q := w.parts.queues
				return [3]int64{q.Limit(0), q.Limit(1), int64(q.Reduced())}
			},
			without: [3]int64{0, 100, 0}, with: [3]int64{0, 80, 1},
		},
		{
			// A ceiling of the 10 VMs running: one more cannot be powered on.
			ev: incident.Event{Action: "set_cpu_capacity", Args: incident.Args{VMs: ptr(int64(10))}},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
				vm, err := w.cluster.Clone(ctx, 99, 1)
				require.NoError(t, err)
				err = w.cluster.PowerOn(ctx, vm)
				return [2]any{w.cluster.Stats().CPUCapacity, errors.Is(err, cluster.ErrNoCPU)}
			},
			without: [2]any{int64(0), false}, with: [2]any{int64(10), true},
		},
		{
			// The Run pool's gate narrows: two of the four workers take no job.
			ev: incident.Event{Action: "crash_workers", Args: incident.Args{Fraction: ptr(0.5)}},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
				return builds(t, ctx, w, 4, time.Hour)
			},
			without: int64(4), with: int64(2),
		},
		{
			ev:    incident.Event{Action: "restart_workers"},
			setup: []incident.Event{{Action: "crash_workers", Args: incident.Args{Fraction: ptr(0.5)}}},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
				return builds(t, ctx, w, 4, time.Hour)
			},
			without: int64(2), with: int64(4),
		},
		{
			// Five calls at one a second: four seconds of waiting.
			ev: incident.Event{Action: "set_api_rate_limit", Args: incident.Args{Rate: ptr(1.0)}},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
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
			ev: incident.Event{Action: "set_stall_chance", Args: incident.Args{Fraction: ptr(1.0)}},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
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
		ev      incident.Event
		setup   []incident.Event
		observe func(t simtest.TB, ctx context.Context, w *world) any
		without any
		with    any
	}{
		{
			// The switch the parts read: their effects are the workers'
			// and the pipeline's tests.
			ev: incident.Event{Action: "enable_mitigation", Args: incident.Args{Mitigation: "breaker"}},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
				return [2]bool{w.parts.switches.On(incident.Breaker), w.parts.switches.On(incident.Reaper)}
			},
			without: [2]bool{false, false}, with: [2]bool{true, false},
		},
		{
			ev:    incident.Event{Action: "disable_mitigation", Args: incident.Args{Mitigation: "reaper"}},
			setup: []incident.Event{{Action: "enable_mitigation", Args: incident.Args{Mitigation: "reaper"}}, {Action: "enable_mitigation", Args: incident.Args{Mitigation: "shed"}}},
			observe: func(t simtest.TB, ctx context.Context, w *world) any {
				return [2]bool{w.parts.switches.On(incident.Reaper), w.parts.switches.On(incident.Shed)}
			},
			without: [2]bool{true, true}, with: [2]bool{false, true},
		},
	}...)
	var tested []string
	for _, tt := range tests {
		tested = append(tested, tt.ev.Action)
	}
	for _, a := range incident.Actions {
		assert.Contains(t, tested, a.Name, "the action %s has a row in this test", a.Name)
	}
	require.Len(t, tested, len(incident.Actions), "one row per action")

	for _, tt := range tests {
		t.Run(tt.ev.Action, func(t *testing.T) {
			require.NoError(t, tt.ev.Validate([]string{"com", "org"}))
			require.NotEqual(t, tt.without, tt.with, "the action must change what is observed")
			for _, apply := range []bool{false, true} {
				var got any
				core, logs := zapobserver.New(zapcore.DebugLevel)
				inWorld(t, func(t *simtest.Checks, ctx context.Context, w *world) {
					sleep(t, ctx, time.Minute)
					for _, ev := range tt.setup {
						require.NoError(t, w.parts.apply(ev, zap.NewNop(), nil))
					}
					if apply {
						var applied []incident.Event
						require.NoError(t, w.parts.apply(tt.ev, zap.New(core), func(ev incident.Event) { applied = append(applied, ev) }))
						assert.Equal(t, []incident.Event{tt.ev}, applied, "applied is told of the event")
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
		ev     incident.Event
		fields map[string]any
	}{
		{incident.Event{Action: "set_max_builds", Args: incident.Args{Queue: "org", MaxBuilds: ptr(int64(80))}},
			map[string]any{"queue": "org", "max_builds": int64(80)}},
		{incident.Event{Action: "aggressive_cleanup", Args: incident.Args{Rate: ptr(50.0)}}, map[string]any{"rate": 50.0}},
		{incident.Event{Action: "crash_workers", Args: incident.Args{Fraction: ptr(0.25)}}, map[string]any{"fraction": 0.25}},
		{incident.Event{Action: "set_cpu_capacity", Args: incident.Args{VMs: ptr(int64(400))}}, map[string]any{"vms": int64(400)}},
		{incident.Event{Action: "restart_janitor", Note: "the on-call restarts it"}, map[string]any{}},
	}
	for _, tt := range tests {
		t.Run(tt.ev.Action, func(t *testing.T) {
			inWorld(t, func(t *simtest.Checks, ctx context.Context, w *world) {
				core, logs := zapobserver.New(zapcore.DebugLevel)
				require.NoError(t, w.parts.apply(tt.ev, zap.New(core), nil))
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
	inWorld(t, func(t *simtest.Checks, ctx context.Context, w *world) {
		var applied []incident.Event
		err := w.parts.apply(incident.Event{Action: "reboot_everything"}, zap.NewNop(), func(ev incident.Event) { applied = append(applied, ev) })
		require.ErrorContains(t, err, `unknown action "reboot_everything"`)
		err = w.parts.apply(incident.Event{Action: "pause_builds", Args: incident.Args{Queue: "net"}}, zap.NewNop(), func(ev incident.Event) { applied = append(applied, ev) })
		require.ErrorContains(t, err, `pause_builds: no queue "net"`)
		assert.Empty(t, applied, "an event that failed is not applied")
		assert.Zero(t, w.parts.queues.Paused())
	})
}

func TestBeginAppliesWhatIsDueAndSortsTheRest(t *testing.T) {
	inWorld(t, func(t *simtest.Checks, ctx context.Context, w *world) {
		tl := incident.Timeline{
			{At: 90 * time.Minute, Action: "restart_janitor"},
			{At: 0, Action: "pause_builds", Args: incident.Args{Queue: "all"}},
			{At: 30 * time.Minute, Action: "resume_builds", Args: incident.Args{Queue: "com"}},
			{At: 90 * time.Minute, Action: "set_max_builds", Args: incident.Args{Queue: "org", MaxBuilds: ptr(int64(80))}}, // a tie keeps its order
		}
		var applied []string
		rest, afterDetection, err := w.parts.begin(tl, zap.NewNop(), func(ev incident.Event) { applied = append(applied, ev.Action) })
		require.NoError(t, err)
		assert.Empty(t, afterDetection)
		assert.Equal(t, 2, w.parts.queues.Paused(), "begin applies what is due at time zero")
		assert.Equal(t, []string{"pause_builds"}, applied, "and only that")
		assert.Equal(t, int64(100), w.parts.queues.Limit(1))
		var order []string
		for _, ev := range rest {
			order = append(order, ev.Action)
		}
		assert.Equal(t, []string{"resume_builds", "restart_janitor", "set_max_builds"}, order,
			"the rest, in order of time, ties as given")
		assert.Equal(t, "restart_janitor", tl[0].Action, "the timeline itself is left as it was")
		require.NoError(t, w.parts.apply(rest[0], zap.NewNop(), nil))
		assert.Equal(t, 1, w.parts.queues.Paused())
	})
}

// TestEveryLeverHasItsAction: the levers' table and the catalogue name the
// same actions, so that no action is described that the model cannot
// apply, and no lever is pulled by a name a scenario cannot give.
func TestEveryLeverHasItsAction(t *testing.T) {
	for name := range pull {
		_, ok := incident.Lookup(name)
		assert.True(t, ok, "the lever %s has an action in incident.Actions", name)
	}
	for _, a := range incident.Actions {
		assert.Contains(t, pull, a.Name, "the action %s has a lever", a.Name)
	}
}
