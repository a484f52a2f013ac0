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

// everyCause is a configuration with every cause of the catalogue in it.
func everyCause() config.Config {
	c := config.Default()
	c.ReportStale = true
	c.MaxAttempts = 0
	c.DeleteFailedVMs = false
	c.CleanupWorkers, c.CleanupConcurrency = 250, 6
	c.Destroy.Mean, c.Destroy.Spread = time.Minute, 20*time.Second
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

// TestCausesRemoveExactlyTheirMechanism: each ablation of each cause
// changes what it says and nothing else, and leaves the configuration it
// was given as it was; every cause has at least two.
func TestCausesRemoveExactlyTheirMechanism(t *testing.T) {
	withTimeline := func(f func(tl incident.Timeline) incident.Timeline) func(c *config.Config) {
		return func(c *config.Config) { c.Timeline = f(c.Timeline) }
	}
	at := func(tl incident.Timeline, action string) int {
		return slices.IndexFunc(tl, func(ev incident.Event) bool { return ev.Action == action })
	}
	tests := map[string]map[string]func(c *config.Config){ // cause, ablation: the configuration without it, from everyCause
		"janitor_broken": {
			"no_rotation": func(c *config.Config) { c.Timeline = without(c.Timeline, "rotate_cleanup_password") },
			"configuration_follows_the_rotation": withTimeline(func(tl incident.Timeline) incident.Timeline {
				i := at(tl, "rotate_cleanup_password")
				return slices.Insert(slices.Clone(tl), i+1,
					incident.Event{At: tl[i].At, Action: "fix_cleanup_credentials"}, incident.Event{At: tl[i].At, Action: "restart_janitor"})
			}),
		},
		"stale_report": {
			"report_zero":  func(c *config.Config) { c.ReportStale = false },
			"report_fresh": func(c *config.Config) { c.ReportFresh = true },
		},
		"requeue_loop": {
			"no_retry":       func(c *config.Config) { c.MaxAttempts = 1 },
			"capacity_aware": func(c *config.Config) { c.Mitigations.CapacityAware = true },
			"retry_budget":   func(c *config.Config) { c.Mitigations.RetryBudget = true },
		},
		"failed_vms_left_behind": {
			"delete_failed_vms": func(c *config.Config) { c.DeleteFailedVMs = true },
			"reaper":            func(c *config.Config) { c.Mitigations.Reaper = true },
		},
		"slow_cleanup": {
			"all_workers":  func(c *config.Config) { c.CleanupConcurrency = 0 },
			"fast_destroy": func(c *config.Config) { c.Destroy.Mean, c.Destroy.Spread = 10*time.Second, 3*time.Second },
		},
		"aggressive_cleanup": {
			"no_aggressive_mode": func(c *config.Config) { c.Timeline = without(c.Timeline, "aggressive_cleanup", "normal_cleanup") },
			"no_extra_workers":   func(c *config.Config) { c.CleanupWorkers = 6 },
		},
		"cpu_ceiling": {
			"no_ceiling": func(c *config.Config) { c.CPUVMs = 0; c.Timeline = without(c.Timeline, "set_cpu_capacity") },
			// Queues with no limit: the Run pool bounds the builds; the
			// set_cpu_capacity event sets 0 (no ceiling) and stays.
			"ceiling_above_every_build": func(c *config.Config) { c.CPUVMs = int64(c.RunWorkers) },
		},
		"reduced_rate": {
			"no_reduction": func(c *config.Config) { c.Timeline = without(c.Timeline, "set_max_builds") },
			"limits_kept": func(c *config.Config) {
				c.Timeline[at(c.Timeline, "set_max_builds")].Args.MaxBuilds = ptr(int64(0)) // the queues began with none
			},
		},
		"worker_crashes": {
			"no_crash":               func(c *config.Config) { c.Timeline = without(c.Timeline, "crash_workers") },
			"crashes_take_no_worker": func(c *config.Config) { c.Timeline[at(c.Timeline, "crash_workers")].Args.Fraction = ptr(0.0) },
		},
		"stalled_vms": {
			"no_stall":          func(c *config.Config) { c.Timeline = without(c.Timeline, "set_stall_chance") },
			"stall_chance_zero": func(c *config.Config) { c.Timeline[at(c.Timeline, "set_stall_chance")].Args.Fraction = ptr(0.0) },
		},
		"late_cleanup": {
			"shortest_cutoff":  func(c *config.Config) { c.CleanupCutoff = 4*time.Minute + 50*time.Minute + 5*time.Minute },
			"lost_vms_deleted": func(c *config.Config) { c.DeletesLostVMs = true },
		},
		"api_rate_limit": {
			"no_limit":            func(c *config.Config) { c.APIRate, c.APIBurst = 0, 0 },
			"limit_never_reached": func(c *config.Config) { c.APIRate, c.APIBurst = 1e5, 100_000 },
		},
		"lowered_api_limit": {
			"no_lowering":             func(c *config.Config) { c.Timeline = without(c.Timeline, "set_api_rate_limit") },
			"lowered_above_the_cloud": func(c *config.Config) { c.Timeline[at(c.Timeline, "set_api_rate_limit")].Args.Rate = ptr(8.0) },
		},
	}
	require.Len(t, tests, len(Causes), "every cause in the catalogue is tested")
	for _, cause := range Causes {
		require.Contains(t, tests, cause.Name)
		assert.NotEmpty(t, cause.Doc)
		assert.GreaterOrEqual(t, len(cause.Ablations), 2, "%s: at least two ways to take it out", cause.Name)
		require.Len(t, tests[cause.Name], len(cause.Ablations), "%s: every ablation is tested", cause.Name)
		for _, a := range cause.Ablations {
			t.Run(cause.Name+"/"+a.Name, func(t *testing.T) {
				wantChange, ok := tests[cause.Name][a.Name]
				require.True(t, ok, "an ablation the test does not know")
				assert.NotEmpty(t, a.Doc)
				cfg := everyCause()
				require.True(t, cause.In(cfg))
				want := everyCause()
				wantChange(&want)
				got := a.Without(cfg)
				assert.Equal(t, want, got)
				assert.True(t, a.Changes(cfg))
				require.NoError(t, got.Validate(), "the ablated configuration runs")
				assert.Equal(t, everyCause(), cfg, "the configuration given is untouched")
				assert.False(t, a.Changes(got), "once removed, there is nothing more for it to remove")
			})
		}
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

	_, err = s.AblateBy("janitor_broken", "no_such_way")
	assert.ErrorContains(t, err, `cause janitor_broken has no ablation "no_such_way"`)
	other, err := s.AblateBy("janitor_broken", "configuration_follows_the_rotation")
	require.NoError(t, err)
	assert.Len(t, other.Config.Timeline, len(s.Config.Timeline)+2, "the fix and the restart, at the rotation")
	assert.Equal(t, before, s.Config, "the scenario is untouched")

	_, err = s.Ablate("worker_crashes")
	assert.ErrorContains(t, err, "worker_crashes is not in scenario travis-2015-osx")
	_, err = s.Ablate("gremlins")
	assert.ErrorContains(t, err, `no cause "gremlins"; the causes are janitor_broken, stale_report`)
}
