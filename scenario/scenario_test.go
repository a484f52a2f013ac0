package scenario

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"vmstorm/config"
	"vmstorm/internal/racedetect"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// run runs a scenario to its end in a kernel of the given mode, unpaced,
// and judges it by its checks.
func run(t *testing.T, s *Scenario, mode sim.Mode) *outcome.Outcome {
	t.Helper()
	cfg := s.Config
	cfg.Speed = config.MaxSpeed
	out, err := outcome.Run(t.Context(), cfg, pipeline.NewKernel(cfg, mode), outcome.Options{Checks: s.Checks})
	require.NoError(t, err)
	return out
}

// replay runs a scenario to its end on a Serial kernel, unpaced: days of
// model time pass in a fraction of a second, the same for one seed.
func replay(t *testing.T, s *Scenario) *outcome.Outcome {
	t.Helper()
	return run(t, s, sim.Serial)
}

// assertAccounted: nothing lost, every VM and every unit of capacity
// accounted for.
func assertAccounted(t *testing.T, sum *pipeline.Summary) {
	t.Helper()
	assert.True(t, sum.Balanced(), "nothing lost")
	c := sum.Cluster
	assert.Equal(t, c.Cloned-c.Destroyed, c.VMs)
	assert.Equal(t, c.Admitted-c.Released, c.InUse)
}

// TestBuiltinScenariosReplayFaithfully: every check and calibration of
// every built-in scenario holds on a replay of the scenario as written.
func TestBuiltinScenariosReplayFaithfully(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect; TestScenariosUnderRealConcurrency is the race detector's")
	}
	for _, b := range Builtins() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s, err := LoadBuiltin(b.Name)
			require.NoError(t, err)
			o := replay(t, s)
			results := o.Analysis.Checks
			for _, r := range results {
				t.Logf("%-5v %s: model %s, want %s", r.OK, r.Check.Name, r.Model, r.Want)
			}
			require.NotEmpty(t, results, "a built-in scenario has faithfulness checks")
			require.Len(t, results, len(s.Checks), "every check is judged")
			for _, r := range results {
				assert.True(t, r.OK, "%s: model %s, want %s", r.Check.Name, r.Model, r.Want)
			}
			assertAccounted(t, o.Summary)
		})
	}
}

// TestScenariosUnderRealConcurrency replays every built-in scenario in a
// Parallel kernel, where the model goroutines that can run all run at once
// on every core, so that the race detector sees each scenario's own paths
// (crashes, stalls, API limits, aggressive cleanup) under real concurrency.
// The order of events at one model instant is then the Go scheduler's, and
// the run differs from the Serial one; nothing may be lost, and every check
// and calibration must still hold (they do not depend on that order).
func TestScenariosUnderRealConcurrency(t *testing.T) {
	for _, b := range Builtins() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			s, err := LoadBuiltin(b.Name)
			require.NoError(t, err)
			o := run(t, s, sim.Parallel)
			assertAccounted(t, o.Summary)
			require.Len(t, o.Analysis.Checks, len(s.Checks), "every check is judged")
			for _, r := range o.Analysis.Checks {
				assert.True(t, r.OK, "%s: model %s, want %s", r.Check.Name, r.Model, r.Want)
			}
		})
	}
}

// TestChecksFailWithoutTheirCauses is the ablation test: for every cause
// that a check of a built-in scenario names, and for every one of the
// cause's ablations (the independent ways to take it out), it replays the
// scenario with the cause taken out that way (Scenario.AblateBy) and
// requires every check naming the cause to fail. A check that holds when
// its mechanism is removed one way but not another restates the inputs, not
// the mechanism. One replay per ablation of a scenario serves all the
// checks that name its cause. The causes come from the scenario files, so a
// new check, or a new cause of one, is tested without a change here.
func TestChecksFailWithoutTheirCauses(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect")
	}
	for _, b := range Builtins() {
		s, err := LoadBuiltin(b.Name)
		require.NoError(t, err)
		causes := s.CauseNames()
		require.NotEmpty(t, causes, "%s: a built-in scenario's checks name causes", b.Name)
		for _, name := range causes {
			cause, ok := LookupCause(name)
			require.True(t, ok)
			for _, a := range cause.Ablations {
				t.Run(b.Name+"/without_"+name+"/"+a.Name, func(t *testing.T) {
					t.Parallel()
					ablated, err := s.AblateBy(name, a.Name)
					require.NoError(t, err, "every ablation of a cause the scenario has changes it")
					require.Equal(t, s.Checks, ablated.Checks, "the ablated run is judged by the same checks")
					results := replay(t, ablated).Analysis.Checks
					require.Len(t, results, len(s.Checks), "every check is judged")
					judged := 0
					for _, r := range results {
						if !slices.Contains(r.Check.Causes, name) {
							continue
						}
						judged++
						t.Logf("without %s (%s): %q: model %s; want %s", name, a.Name, r.Check.Name, r.Model, r.Want)
						assert.False(t, r.OK, "%q still holds without its cause %s (%s: %s): model %s, want %s", r.Check.Name, name, a.Name, a.Doc, r.Model, r.Want)
					}
					assert.Positive(t, judged, "a check names %s", name)
				})
			}
		}
	}
}
