package scenario

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/config"
	"vmstorm/incident"
)

func ptr[T any](v T) *T { return &v }

// everyCause is a configuration with every cause of the catalogue in it.
func everyCause() config.Config {
	c := config.Default()
	c.ReportStale = true
	c.MaxAttempts = 0
	c.DeleteFailedVMs = false
	c.CleanupWorkers, c.CleanupConcurrency = 250, 6
	c.CPUVMs = 240
	c.StartTimeout, c.BuildTimeout, c.CleanupEvery, c.CleanupCutoff = 4*time.Minute, 50*time.Minute, 5*time.Minute, 3*time.Hour
	c.APIRate, c.APIBurst, c.ClientAPIRate = 4, 30, 12
	c.Traffic = &config.Traffic{PeakHour: 15, Night: 0.25, Weekend: 0.4, Bursts: []config.Burst{{At: time.Hour, For: time.Hour, Factor: 1.4}}}
	c.Duration = 10 * time.Hour
	c.Timeline = incident.Timeline{
		{At: 1 * time.Minute, Action: "rotate_cleanup_password"},
		{At: 2 * time.Minute, Action: "crash_workers", Args: incident.Args{Fraction: ptr(0.3)}},
		{At: 3 * time.Minute, Action: "set_stall_chance", Args: incident.Args{Fraction: ptr(0.25)}},
		{At: 4 * time.Minute, Action: "pause_builds", Args: incident.Args{Queue: "all"}},
		{At: 5 * time.Minute, Action: "fix_cleanup_credentials"},
		{At: 6 * time.Minute, Action: "aggressive_cleanup", Args: incident.Args{Rate: ptr(50.0)}},
		{At: 7 * time.Minute, Action: "normal_cleanup"},
		{At: 8 * time.Minute, Action: "set_max_builds", Args: incident.Args{Queue: "all", MaxBuilds: ptr(int64(100))}},
		{At: 9 * time.Minute, Action: "resume_builds", Args: incident.Args{Queue: "all"}},
		{At: 10 * time.Minute, Action: "set_api_rate_limit", Args: incident.Args{Rate: ptr(3.5)}},
		{At: 11 * time.Minute, Action: "set_cpu_capacity", Args: incident.Args{VMs: ptr(int64(0))}},
	}
	return c
}

// without is the timeline of c without the events of the given actions.
func without(tl incident.Timeline, actions ...string) incident.Timeline {
	var out incident.Timeline
	for _, ev := range tl {
		if !slices.Contains(actions, ev.Action) {
			out = append(out, ev)
		}
	}
	return out
}

// TestCausesRemoveExactlyTheirMechanism: each ablation changes what its
// cause names and nothing else, and leaves the configuration it was given
// as it was.
func TestCausesRemoveExactlyTheirMechanism(t *testing.T) {
	tests := []struct {
		cause string
		want  func(c *config.Config) // the configuration without the cause, from everyCause
	}{
		{"janitor_broken", func(c *config.Config) { c.Timeline = without(c.Timeline, "rotate_cleanup_password") }},
		{"stale_report", func(c *config.Config) { c.ReportStale = false }},
		{"unbounded_requeue", func(c *config.Config) { c.MaxAttempts = 2 }},
		{"failed_vms_left_behind", func(c *config.Config) { c.DeleteFailedVMs = true }},
		{"slow_cleanup", func(c *config.Config) { c.CleanupConcurrency = 0 }},
		{"aggressive_cleanup", func(c *config.Config) { c.Timeline = without(c.Timeline, "aggressive_cleanup", "normal_cleanup") }},
		{"cpu_ceiling", func(c *config.Config) { c.CPUVMs = 0; c.Timeline = without(c.Timeline, "set_cpu_capacity") }},
		{"reduced_rate", func(c *config.Config) { c.Timeline = without(c.Timeline, "set_max_builds") }},
		{"worker_crashes", func(c *config.Config) { c.Timeline = without(c.Timeline, "crash_workers") }},
		{"stalled_vms", func(c *config.Config) { c.Timeline = without(c.Timeline, "set_stall_chance") }},
		{"late_cleanup", func(c *config.Config) { c.CleanupCutoff = 4*time.Minute + 50*time.Minute + 5*time.Minute }},
		{"api_rate_limit", func(c *config.Config) { c.APIRate, c.APIBurst = 0, 0 }},
		{"lowered_api_limit", func(c *config.Config) { c.Timeline = without(c.Timeline, "set_api_rate_limit") }},
	}
	require.Len(t, tests, len(Causes), "every cause in the catalogue is tested")
	for _, tt := range tests {
		t.Run(tt.cause, func(t *testing.T) {
			cause, ok := LookupCause(tt.cause)
			require.True(t, ok)
			assert.NotEmpty(t, cause.Doc)
			cfg := everyCause()
			require.True(t, cause.In(cfg))
			want := everyCause()
			tt.want(&want)
			got := cause.Without(cfg)
			assert.Equal(t, want, got)
			require.NoError(t, got.Validate(), "the ablated configuration runs")
			assert.Equal(t, everyCause(), cfg, "the configuration given is untouched")
			assert.False(t, cause.In(got), "once removed, the cause is not in it")
		})
	}
}

// TestEveryCauseIsNamedByABuiltinCheck: no cause in the catalogue goes
// untested by the ablation test, which replays the built-ins' causes.
func TestEveryCauseIsNamedByABuiltinCheck(t *testing.T) {
	named := map[string]bool{}
	for _, b := range Builtins() {
		s, err := LoadBuiltin(b.Name)
		require.NoError(t, err)
		for _, c := range s.CauseNames() {
			named[c] = true
		}
		for _, ch := range s.Checks {
			assert.True(t, ch.Calibration != (len(ch.Causes) > 0), "%s: %q names causes or is a calibration", b.Name, ch.Name)
		}
	}
	for _, c := range Causes {
		assert.True(t, named[c.Name], "no built-in check names %s", c.Name)
	}
}

func TestAblate(t *testing.T) {
	s, err := LoadBuiltin("travis-2015-osx")
	require.NoError(t, err)
	before := cloneConfig(s.Config)

	ablated, err := s.Ablate("janitor_broken")
	require.NoError(t, err)
	for _, ev := range ablated.Config.Timeline {
		assert.NotEqual(t, "rotate_cleanup_password", ev.Action)
	}
	assert.Len(t, ablated.Config.Timeline, len(s.Config.Timeline)-1)
	assert.Equal(t, s.Checks, ablated.Checks, "the same checks judge the ablated run")
	assert.Equal(t, before, s.Config, "the scenario is untouched")

	_, err = s.Ablate("worker_crashes")
	assert.ErrorContains(t, err, "worker_crashes is not in scenario travis-2015-osx")
	_, err = s.Ablate("gremlins")
	assert.ErrorContains(t, err, `no cause "gremlins"; the causes are janitor_broken, stale_report`)
}
