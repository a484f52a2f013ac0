package scenario

import (
	"bytes"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"

	"vmstorm/internal/sim"
	"vmstorm/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// replay runs a scenario to its end under testing/synctest, where days of
// model time pass in a second or two.
func replay(t *testing.T, s *Scenario) *pipeline.Summary {
	t.Helper()
	var sum *pipeline.Summary
	synctest.Test(t, func(t *testing.T) {
		clock := sim.NewClock(s.Config.Speed, s.Config.Epoch)
		var err error
		sum, err = pipeline.Run(t.Context(), s.Config, clock, zap.NewNop())
		require.NoError(t, err)
	})
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
