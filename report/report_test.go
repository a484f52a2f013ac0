package report_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"vmstorm/config"
	"vmstorm/internal/sim"
	"vmstorm/pipeline"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// incident runs the 2015 incident for a model hour in a Serial kernel,
// unpaced, where it takes milliseconds: the janitor's password is rotated at
// 10 minutes, the cluster fills, and a requeue storm follows. edit, if not
// nil, changes the configuration first.
func incident(t *testing.T, edit func(*config.Config), observers ...pipeline.Observer) *pipeline.Summary {
	t.Helper()
	cfg := config.Default()
	cfg.Seed = 42
	cfg.BreakCleanup, cfg.BreakAt = true, 10*time.Minute
	cfg.Duration = time.Hour
	cfg.Speed = sim.Max
	if edit != nil {
		edit(&cfg)
	}
	s, err := pipeline.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), zap.NewNop(), observers...)
	require.NoError(t, err)
	require.NotNil(t, s)
	// The tests below check that the report shows the incident: it must
	// have happened.
	require.True(t, s.Storm.Happened, "the broken janitor should cause a requeue storm")
	require.NotEmpty(t, s.Marks, "the broken janitor should be on the timeline")
	require.NotEmpty(t, s.Series)
	return s
}
