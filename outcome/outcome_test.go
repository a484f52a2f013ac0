package outcome_test

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/racedetect"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/scenario"
	"vmstorm/series"
)

// runToCSV runs cfg, judged by checks, in a kernel of mode, with its rows
// written to a CSV as `vmstorm -csv` writes them.
func runToCSV(t *testing.T, cfg config.Config, mode sim.Mode, checks []analysis.Check) (*outcome.Outcome, []byte) {
	t.Helper()
	var buf bytes.Buffer
	w := series.NewWriter(&buf, cfg.Epoch)
	out, err := outcome.Run(t.Context(), cfg, pipeline.NewKernel(cfg, mode), outcome.Options{Checks: checks, Watchers: []series.Watcher{w}})
	require.NotNil(t, out, "%v", err)
	require.NoError(t, w.Close())
	return out, buf.Bytes()
}

// rejudged is what `vmstorm -analyze` says of the CSV, as a run of cfg:
// the series read back (its epoch from the file) and judged again, fed as
// Replay feeds it; with the rows that judgement handed on.
func rejudged(t *testing.T, cfg config.Config, checks []analysis.Check, csv []byte) (analysis.Result, []series.Row, []series.Row) {
	t.Helper()
	rows, marks, epoch, err := series.Read(bytes.NewReader(csv))
	require.NoError(t, err)
	assert.True(t, cfg.Epoch.Equal(epoch), "the epoch read back: %v, the run's: %v", epoch, cfg.Epoch)
	asGiven := cfg
	asGiven.Epoch = time.Time{} // as -analyze is given it: the file says it
	res, analyzed, err := outcome.Analyze(bytes.NewReader(csv), asGiven, checks)
	require.NoError(t, err)
	assert.True(t, analyzed.Equal(epoch), "Analyze judged by the file's epoch")
	cfg.Epoch = epoch
	require.Equal(t, analysis.Replay(cfg, incident.Classify, checks, rows, marks), res, "-analyze judges as Replay does")

	var again collect
	a := analysis.New(cfg, incident.Classify, checks, &again)
	for _, r := range rows {
		for len(marks) > 0 && marks[0].T <= r.T {
			a.Mark(marks[0])
			marks = marks[1:]
		}
		a.Sample(r.Sample)
	}
	for _, m := range marks {
		a.Mark(m)
	}
	require.Equal(t, res, a.Result(), "Replay is this feed")
	return res, rows, again.rows
}

type collect struct{ rows []series.Row }

func (c *collect) Row(r series.Row) { c.rows = append(c.rows, r) }
func (c *collect) Mark(series.Mark) {}

// requireSameJudgement requires that the analysis of the CSV is the run's
// own: the same result (the marks without their notes, which the CSV does
// not keep), and each row the same phase and alerts as the run wrote.
func requireSameJudgement(t *testing.T, cfg config.Config, checks []analysis.Check, out *outcome.Outcome, csv []byte) analysis.Result {
	t.Helper()
	got, written, again := rejudged(t, cfg, checks, csv)
	want := out.Analysis
	want.Marks = nil
	for _, m := range out.Analysis.Marks {
		want.Marks = append(want.Marks, series.Mark{T: m.T, Name: m.Name})
	}
	assert.Equal(t, want.Phases, got.Phases, "phases")
	assert.Equal(t, want.Storm, got.Storm, "storm")
	assert.Equal(t, want.Incident, got.Incident, "incident")
	assert.Equal(t, want.Alerts, got.Alerts, "alerts")
	assert.Equal(t, want.FirstFired, got.FirstFired, "first fired")
	assert.Equal(t, want.Checks, got.Checks, "checks")
	assert.Equal(t, want.End, got.End, "end")
	assert.Equal(t, want.Totals, got.Totals, "totals")
	assert.Equal(t, want, got, "the whole result")

	require.Len(t, again, len(written))
	for i, r := range again {
		if !assert.Equal(t, written[i].Phase, r.Phase, "phase at %v", r.T) ||
			!assert.Equal(t, written[i].Firing, r.Firing, "alerts at %v", r.T) {
			break
		}
	}
	return got
}

// TestCSVReplayIsTheRunsAnalysis is the property behind `vmstorm -analyze
// FILE.csv`: for each built-in scenario and several seeds, the analysis of
// the series a run wrote, read back, is the analysis the run made of
// itself: its phases, storm, incident times, alerts and checks.
func TestCSVReplayIsTheRunsAnalysis(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs of whole scenarios: see internal/racedetect; TestCSVReplayOfSmallRuns is the race detector's")
	}
	for _, b := range scenario.Builtins() {
		s, err := scenario.LoadBuiltin(b.Name)
		require.NoError(t, err)
		seeds := []uint64{s.Config.Seed, 1, 7}
		for _, seed := range slices.Compact(seeds) {
			t.Run(fmt.Sprintf("%s/seed=%d", b.Name, seed), func(t *testing.T) {
				t.Parallel()
				cfg := s.Config
				cfg.Seed, cfg.Speed = seed, config.MaxSpeed
				out, csv := runToCSV(t, cfg, sim.Serial, s.Checks)
				got := requireSameJudgement(t, cfg, s.Checks, out, csv)

				// Not a comparison of two empty results: the scenario's
				// incident happened, and was judged.
				require.Len(t, got.Checks, len(s.Checks))
				assert.NotEmpty(t, got.Checks)
				assert.True(t, got.Incident.Faulted)
				assert.NotEmpty(t, got.Alerts)
				assert.Greater(t, len(got.Phases), 1)
				assert.Equal(t, cfg.Duration, got.End)
			})
		}
	}
}

// TestCSVReplayOfSmallRuns: the same property on runs small enough for
// the race detector (in a Parallel kernel there), including runs that end
// between two sample times, whose last sample is at an odd model time.
func TestCSVReplayOfSmallRuns(t *testing.T) {
	mode := sim.Serial
	if racedetect.On {
		mode = sim.Parallel
	}
	broken := config.Default()
	broken.Duration, broken.BreakCleanup, broken.BreakAt = 2*time.Hour, true, 20*time.Minute
	broken.Alerts.VMCountMin = 20
	epoch := broken
	epoch.Epoch = time.Date(2015, 7, 31, 0, 0, 0, 0, time.UTC)
	maxJobs := broken
	maxJobs.MaxJobs, maxJobs.Duration, maxJobs.BreakCleanup = 150, 10*time.Hour, false
	budget := broken
	budget.ArrivalsPerMinute, budget.MaxHeld, budget.SampleEvery = 1e5, 1000, 7*time.Second
	cases := []struct {
		name string
		cfg  config.Config
	}{
		{"the janitor broken, no epoch", broken},
		{"the janitor broken, an epoch", epoch},
		{"max jobs: the run ends when they are done", maxJobs},
		{"the memory budget stops the run", budget},
	}
	for _, tc := range cases {
		for _, seed := range []uint64{1, 2, 3} {
			t.Run(fmt.Sprintf("%s/seed=%d", tc.name, seed), func(t *testing.T) {
				cfg := tc.cfg
				cfg.Seed, cfg.Speed = seed, config.MaxSpeed
				require.NoError(t, cfg.Validate())
				out, csv := runToCSV(t, cfg, mode, nil)
				requireSameJudgement(t, cfg, nil, out, csv)
			})
		}
	}
}
