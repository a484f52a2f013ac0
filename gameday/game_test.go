package gameday_test

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"vmstorm/config"
	"vmstorm/gameday"
	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/report"
	"vmstorm/scenario"
	"vmstorm/series"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// running runs g in a goroutine the test owns, on a context that stop
// ends: stop cancels the run, waits for it and returns Run's error. The
// test's cleanup calls stop as well, so that a failed assertion does not
// leave the run behind.
func running(tb testing.TB, g *gameday.Game) (context.Context, func() error) {
	ctx, cancel := context.WithCancel(tb.Context())
	done := make(chan error, 1)
	go func() { _, err := g.Run(ctx); done <- err }()
	stop := sync.OnceValue(func() error { cancel(); return <-done })
	tb.Cleanup(func() { _ = stop() })
	return ctx, stop
}

// small loads the tests' scenario with seed.
func small(t *testing.T, seed uint64) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Load("testdata/small.yaml")
	require.NoError(t, err)
	sc.Config.Seed = seed
	return sc
}

// move is one of a test player's moves: at model time At (a step), the
// events to take.
type move struct {
	At     time.Duration
	Events []incident.Event
}

func f64(v float64) *float64 { return &v }
func i64(v int64) *int64     { return &v }

// theMoves pause both queues, fix and restart the janitor, clean up hard,
// and resume at a reduced rate.
var theMoves = []move{
	{40 * time.Minute, []incident.Event{{Action: "pause_builds", Args: incident.Args{Queue: "org"}}}},
	{47 * time.Minute, []incident.Event{{Action: "pause_builds", Args: incident.Args{Queue: "com"}}, {Action: "fix_cleanup_credentials"}, {Action: "restart_janitor"}}},
	{61 * time.Minute, []incident.Event{{Action: "aggressive_cleanup", Args: incident.Args{Rate: f64(20)}}}},
	{75 * time.Minute, []incident.Event{{Action: "normal_cleanup"}, {Action: "set_max_builds", Args: incident.Args{Queue: "all", MaxBuilds: i64(20)}}, {Action: "resume_builds", Args: incident.Args{Queue: "all"}}}},
	{90 * time.Minute, []incident.Event{{Action: "enable_mitigation", Args: incident.Args{Mitigation: "backoff"}}}},
}

// play plays a game of sc at pace to its end, taking moves, each at its
// model time (by a pause there), and returns the game, played.
func play(t *testing.T, sc *scenario.Scenario, pace time.Duration, moves []move, watchers ...series.Watcher) *gameday.Game {
	t.Helper()
	g, err := gameday.New(gameday.Options{Scenario: sc, Start: 30 * time.Minute, Pace: pace, Idle: time.Minute, Watchers: watchers})
	require.NoError(t, err)
	ctx, stop := running(t, g)
	defer stop()
	for _, m := range moves {
		require.NoError(t, g.Control(gameday.Control{Op: "pause_at", PauseAt: m.At}))
		at, ok := g.WaitPaused(ctx)
		require.True(t, ok)
		require.Equal(t, m.At, at, "the pause holds the model before the step asked for")
		for _, ev := range m.Events {
			g.Touch()
			taken, err := g.Act(ev, "test")
			require.NoError(t, err)
			require.Equal(t, m.At, taken)
		}
	}
	require.NoError(t, g.Control(gameday.Control{Op: "finish"}))
	select {
	case <-g.Ended():
	case <-ctx.Done():
		t.Fatal("the game did not end")
	}
	return g
}

// summaryOf is a run's summary without its clock line (its pace and wall
// time), and its series as CSV.
func summaryOf(t *testing.T, o *outcome.Outcome) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, report.WriteSummary(&b, o))
	var kept []string
	for line := range strings.Lines(b.String()) {
		if !strings.HasPrefix(strings.TrimSpace(line), "clock ") {
			kept = append(kept, line)
		}
	}
	return strings.Join(kept, "")
}

// replay runs an exported scenario unpaced, as -scenario FILE -speed max
// does, with its series written as CSV.
func replay(t *testing.T, exported []byte) (*outcome.Outcome, string) {
	t.Helper()
	sc, err := scenario.Parse("exported.yaml", exported)
	require.NoError(t, err)
	cfg := sc.Config
	cfg.Speed = config.MaxSpeed
	var csv bytes.Buffer
	w := series.NewWriter(&csv, cfg.Epoch)
	o, err := outcome.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{Checks: sc.Checks, Watchers: []series.Watcher{w}})
	require.NoError(t, err)
	require.NoError(t, w.Close())
	return o, csv.String()
}

// TestGameReplaysExactly: a game whose player acts at model times t1..tn
// is the same run as its exported scenario replayed unpaced, summary and
// series byte for byte, for several seeds and paces.
func TestGameReplaysExactly(t *testing.T) {
	for _, c := range []struct {
		seed uint64
		pace time.Duration
	}{{7, -1}, {8, time.Millisecond}, {20150804, 20 * time.Millisecond}} {
		t.Run("", func(t *testing.T) {
			sc := small(t, c.seed)
			var csv bytes.Buffer
			w := series.NewWriter(&csv, sc.Config.Epoch)
			g := play(t, sc, c.pace, theMoves, w)
			require.NoError(t, w.Close())
			got, err := g.Outcome()
			require.NoError(t, err)
			exported, err := g.Export()
			require.NoError(t, err)

			tl := g.Timeline()
			n := 0
			for _, m := range theMoves {
				for _, ev := range m.Events {
					ev.At = m.At
					assert.Contains(t, tl, ev, "the exported timeline holds each move at its time")
					n++
				}
			}
			assert.Len(t, tl, n+1, "the moves and the scenario's one fault")

			want, wantCSV := replay(t, exported)
			assert.Equal(t, summaryOf(t, want), summaryOf(t, got), "the game and its exported scenario's replay")
			assert.Equal(t, want.Analysis, got.Analysis)
			assert.Equal(t, wantCSV, csv.String())
		})
	}
}
