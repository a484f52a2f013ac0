package scenario

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"vmstorm/internal/sim"
	"vmstorm/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// replay runs a scenario to its end on a Serial kernel, unpaced: days of
// model time pass in a fraction of a second, the same for one seed.
func replay(t *testing.T, s *Scenario) *pipeline.Summary {
	t.Helper()
	cfg := s.Config
	cfg.Speed = pipeline.MaxSpeed
	sum, err := pipeline.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), zap.NewNop())
	require.NoError(t, err)
	return sum
}

func TestBuiltinScenariosReplayFaithfully(t *testing.T) {
	for _, b := range Builtins() {
		t.Run(b.Name, func(t *testing.T) {
			s, err := LoadBuiltin(b.Name)
			require.NoError(t, err)
			sum := replay(t, s)
			var out bytes.Buffer
			require.NoError(t, sum.Format(&out))
			results := s.Evaluate(sum)
			require.NoError(t, FormatResults(&out, b.Name, results))
			t.Log("\n" + out.String())
			require.NotEmpty(t, results, "a built-in scenario has faithfulness checks")
			for _, r := range results {
				assert.True(t, r.OK, "%s: model %s, want %s", r.Check.Name, r.Model, r.Want)
			}
			assert.True(t, sum.Balanced(), "nothing lost")
			c := sum.Cluster
			assert.Equal(t, c.Cloned-c.Destroyed, c.VMs)
			assert.Equal(t, c.Admitted-c.Released, c.InUse)
		})
	}
}
