package pipeline_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	zapobserver "go.uber.org/zap/zaptest/observer"

	"vmstorm/config"
	"vmstorm/internal/sim"
	"vmstorm/pipeline"
)

// TestLifecycleEventsGoToOptionsEvents: the lifecycle events (job_arrived
// among them) go to Options.Events when it is given, and none of them to
// Log; with no Events they go to Log. The pipeline names no logger of its
// own: how an output treats them (logx.Lifecycle) is its caller's.
func TestLifecycleEventsGoToOptionsEvents(t *testing.T) {
	cfg := config.Default()
	cfg.Seed, cfg.Speed, cfg.Duration = 1, config.MaxSpeed, 10*time.Minute
	arrived := func(l *zapobserver.ObservedLogs) int { return l.FilterMessage("job_arrived").Len() }

	logCore, logs := zapobserver.New(zapcore.DebugLevel)
	eventsCore, events := zapobserver.New(zapcore.DebugLevel)
	_, err := pipeline.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), pipeline.Options{Log: zap.New(logCore), Events: zap.New(eventsCore)})
	require.NoError(t, err)
	assert.Positive(t, arrived(events), "Events has the lifecycle events")
	assert.Zero(t, arrived(logs), "Log has none of them")

	logCore, logs = zapobserver.New(zapcore.DebugLevel)
	_, err = pipeline.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), pipeline.Options{Log: zap.New(logCore)})
	require.NoError(t, err)
	assert.Positive(t, arrived(logs), "with no Events, Log has them")
}
