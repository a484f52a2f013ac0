package report_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"vmstorm/config"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/series"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recorder is a watcher that keeps every row and mark of a run, to check
// what the outputs show against all the run did.
type recorder struct {
	rows  []series.Row
	marks []series.Mark
}

func (r *recorder) Row(x series.Row)   { r.rows = append(r.rows, x) }
func (r *recorder) Mark(m series.Mark) { r.marks = append(r.marks, m) }

// incidentConfig is the 2015 incident for a model hour in a Serial kernel,
// unpaced, where it takes milliseconds: the janitor's password is rotated
// at 10 minutes, the cluster fills, and a requeue storm follows. edit, if
// not nil, changes it.
func incidentConfig(edit func(*config.Config)) config.Config {
	cfg := config.Default()
	cfg.Seed = 42
	cfg.BreakCleanup, cfg.BreakAt = true, 10*time.Minute
	cfg.Duration = time.Hour
	cfg.Speed = sim.Max
	if edit != nil {
		edit(&cfg)
	}
	return cfg
}

// run runs cfg through outcome.Run, as every output's caller does.
func run(t *testing.T, cfg config.Config, o outcome.Options) *outcome.Outcome {
	t.Helper()
	out, err := outcome.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), o)
	require.NoError(t, err)
	require.NotNil(t, out)
	return out
}

// theIncident runs the incident (see incidentConfig), watched by watchers.
func theIncident(t *testing.T, edit func(*config.Config), watchers ...series.Watcher) *outcome.Outcome {
	t.Helper()
	out := run(t, incidentConfig(edit), outcome.Options{Watchers: watchers})
	// The tests below check that the report shows the incident: it must
	// have happened.
	require.True(t, out.Analysis.Storm.Happened, "the broken janitor should cause a requeue storm")
	require.NotEmpty(t, out.Marks, "the broken janitor should be on the timeline")
	require.NotEmpty(t, out.Rows)
	return out
}
