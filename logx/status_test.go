package logx

import (
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"vmstorm/analysis"
	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/series"
)

// observed is a logger that keeps every entry, with its fields.
func observed() (*zap.Logger, *observer.ObservedLogs) {
	core, logs := observer.New(zapcore.DebugLevel)
	return zap.New(core), logs
}

// statusTimes are the model times of the rows that a status line followed,
// from the field "t" each line carries.
func statusTimes(t *testing.T, logs *observer.ObservedLogs) []time.Duration {
	t.Helper()
	var out []time.Duration
	for _, e := range logs.All() {
		require.Equal(t, "status", e.Message)
		out = append(out, time.Duration(e.ContextMap()["t"].(int64)))
	}
	return out
}

// TestStatusLineEvery: the status line comes at the first row at or after
// each multiple of every, and once for a row that passes several.
func TestStatusLineEvery(t *testing.T) {
	s, m := time.Second, time.Minute
	steps := func(step, to time.Duration) []time.Duration {
		var out []time.Duration
		for at := step; at <= to; at += step {
			out = append(out, at)
		}
		return out
	}
	tests := []struct {
		name  string
		every time.Duration
		rows  []time.Duration
		want  []time.Duration
	}{
		{"every 2m, rows every 10s", 2 * m, steps(10*s, 10*m), []time.Duration{2 * m, 4 * m, 6 * m, 8 * m, 10 * m}},
		{"rows off the interval: the first at or after each multiple", 2 * m, steps(50*s, 500*s), []time.Duration{150 * s, 250 * s, 400 * s, 500 * s}},
		{"a row past several intervals: one line", m, []time.Duration{30 * s, 5 * m, 5*m + 30*s, 6 * m}, []time.Duration{5 * m, 6 * m}},
		{"none before the first interval", 10 * m, steps(m, 9*m), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := observed()
			st := NewStatus(log, tt.every)
			for _, at := range tt.rows {
				// Each line says its row's model time, as a field of the
				// logger it is written to.
				st.log = log.With(zap.Int64("t", int64(at)))
				st.Row(series.Row{Sample: series.Sample{T: at}})
			}
			assert.Equal(t, tt.want, statusTimes(t, logs))
		})
	}
}

// TestStatusLineFields: the status line says the row's state and the
// analysis's rates (to one decimal) and phase; the CPU ceiling only when
// there is one.
func TestStatusLineFields(t *testing.T) {
	row := series.Row{
		Sample: series.Sample{
			T: 2 * time.Minute, VMs: 3081, ReportedVMs: 94, InUse: 200, Capacity: 200, Backlog: 423,
			OldestWait: 90 * time.Second, InFlight: 50,
		},
		Rates: series.Rates{Arrivals: 12.04, Requeues: 77.25, Completions: 3.96},
		Phase: analysis.PhaseStorm,
	}
	row.ByState[cluster.NeverBooted] = 2867
	withCPU := row
	withCPU.CPUInUse, withCPU.CPUCapacity = 120, 250
	want := map[string]any{
		"vms": int64(3081), "reported_vms": int64(94), "in_use": int64(200), "capacity": int64(200),
		"never_booted": int64(2867), "backlog": int64(423), "oldest_wait_min": 1.5, "in_flight": int64(50),
		"arrivals_per_min": 12.0, "requeues_per_min": 77.3, "completions_per_min": 4.0, "phase": "storm",
	}
	wantCPU := maps.Clone(want)
	wantCPU["cpu_in_use"], wantCPU["cpu_capacity"] = int64(120), int64(250)
	tests := []struct {
		name string
		row  series.Row
		want map[string]any
	}{
		{"no CPU ceiling", row, want},
		{"a CPU ceiling", withCPU, wantCPU},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, logs := observed()
			NewStatus(log, time.Minute).Row(tt.row)
			require.Equal(t, 1, logs.Len())
			e := logs.All()[0]
			assert.Equal(t, "status", e.Message)
			assert.Equal(t, zapcore.InfoLevel, e.Level)
			assert.Equal(t, tt.want, e.ContextMap())
		})
	}
}

// TestStatusLogsEachChange: every change at a row is one line, named by
// its event, at its level, with the fields that say what changed.
func TestStatusLogsEachChange(t *testing.T) {
	row := series.Row{
		Sample: series.Sample{T: 10 * time.Second, InUse: 200, Capacity: 200},
		Rates:  series.Rates{Requeues: 31.26, Arrivals: 11.94},
	}
	tests := []struct {
		change series.Change
		level  zapcore.Level
		fields map[string]any
	}{
		{series.Change{Event: "alert_firing", Name: analysis.AlertRequeueRate, Value: 31.3}, zapcore.ErrorLevel,
			map[string]any{"alert": analysis.AlertRequeueRate, "value": 31.3}},
		{series.Change{Event: "alert_resolved", Name: analysis.AlertBacklogAge, Value: 12}, zapcore.WarnLevel,
			map[string]any{"alert": analysis.AlertBacklogAge, "value": 12.0}},
		{series.Change{Event: "phase_changed", Name: analysis.PhaseStorm, From: analysis.PhaseSilentLeak}, zapcore.WarnLevel,
			map[string]any{"from": analysis.PhaseSilentLeak, "to": analysis.PhaseStorm}},
		{series.Change{Event: "requeue_storm", Value: 31.26, Detail: "jobs are requeued faster than they arrive"}, zapcore.ErrorLevel,
			map[string]any{"requeues_per_min": 31.3, "arrivals_per_min": 11.9, "note": "jobs are requeued faster than they arrive"}},
		{series.Change{Event: "requeue_storm_over", Value: 31.26}, zapcore.WarnLevel,
			map[string]any{"requeues_per_min": 31.3, "arrivals_per_min": 11.9}},
		{series.Change{Event: "cluster_full", Value: 200, Detail: "every new power-on will fail until a VM is destroyed"}, zapcore.WarnLevel,
			map[string]any{"in_use": int64(200), "capacity": int64(200), "note": "every new power-on will fail until a VM is destroyed"}},
		{series.Change{Event: "cluster_has_room", Value: 200}, zapcore.InfoLevel,
			map[string]any{"in_use": int64(200), "capacity": int64(200)}},
		{series.Change{Event: "something_new", Detail: "a change this logger does not know"}, zapcore.InfoLevel,
			map[string]any{"note": "a change this logger does not know"}},
	}
	var events []string
	for _, tt := range tests {
		events = append(events, tt.change.Event)
		t.Run(tt.change.Event, func(t *testing.T) {
			log, logs := observed()
			r := row
			r.Changes = []series.Change{tt.change}
			NewStatus(log, time.Hour).Row(r)
			require.Equal(t, 1, logs.Len(), "one line, and no status line before it is due")
			e := logs.All()[0]
			assert.Equal(t, tt.change.Event, e.Message)
			assert.Equal(t, tt.level, e.Level)
			assert.Equal(t, tt.fields, e.ContextMap())
		})
	}
	for event := range levels {
		assert.Contains(t, events, event, "the change %s has a row in this test", event)
	}
}

// TestStatusChangesBeforeTheStatusLine: a row's changes are logged in
// their order, before the status line if one is due; marks log nothing
// (the timeline logs its own events).
func TestStatusChangesBeforeTheStatusLine(t *testing.T) {
	log, logs := observed()
	st := NewStatus(log, time.Minute)
	st.Mark(series.Mark{T: 30 * time.Second, Name: "rotate_cleanup_password"})
	assert.Zero(t, logs.Len(), "a mark logs nothing")
	st.Row(series.Row{Sample: series.Sample{T: time.Minute}, Changes: []series.Change{
		{Event: "phase_changed", Name: analysis.PhaseLeak, From: analysis.PhaseHealthy},
		{Event: "alert_firing", Name: analysis.AlertVMCount, Value: 4000},
	}})
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Message)
	}
	assert.Equal(t, []string{"phase_changed", "alert_firing", "status"}, got)
}

// TestStatusWatchesTheAnalysis: as the analysis's watcher, the status
// logger logs the changes the analysis judges, at the rows it judges them,
// between the status lines: here the cluster filling at 3 minutes and
// getting room again at 5.
func TestStatusWatchesTheAnalysis(t *testing.T) {
	log, logs := observed()
	an := analysis.New(config.Default(), incident.Classify, nil, NewStatus(log, 2*time.Minute))
	for at := 10 * time.Second; at <= 6*time.Minute; at += 10 * time.Second {
		inUse := int64(5)
		if at >= 3*time.Minute && at < 5*time.Minute {
			inUse = 10
		}
		an.Sample(series.Sample{T: at, InUse: inUse, VMs: inUse, Capacity: 10})
	}
	var got []string
	for _, e := range logs.All() {
		got = append(got, e.Message)
	}
	assert.Equal(t, []string{"status", "cluster_full", "status", "cluster_has_room", "status"}, got)
	full := logs.FilterMessage("cluster_full").All()
	require.Len(t, full, 1)
	assert.Equal(t, zapcore.WarnLevel, full[0].Level)
	assert.Equal(t, int64(10), full[0].ContextMap()["in_use"])
	assert.True(t, slices.ContainsFunc(logs.FilterMessage("status").All(), func(e observer.LoggedEntry) bool {
		return e.ContextMap()["in_use"] == int64(10)
	}), "the status line at 4 minutes shows the full cluster")
}
