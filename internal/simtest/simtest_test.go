package simtest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"vmstorm/internal/sim"
	"vmstorm/internal/simtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeT is a test that records how it is failed instead of failing.
type fakeT struct {
	testing.TB
	errors  []string
	stopped bool
}

func (f *fakeT) Error(args ...any) { f.errors = append(f.errors, args[0].(string)) }
func (f *fakeT) FailNow()          { f.stopped = true }
func (f *fakeT) Helper()           {}

// A failed assert is reported on Report and the process goes on; a failed
// require ends its process (the run still ends) and Report stops the test;
// what passes is not reported.
func TestChecksReportWhatProcessesFound(t *testing.T) {
	for _, m := range []sim.Mode{sim.Serial, sim.Parallel} {
		t.Run(m.String(), func(t *testing.T) {
			f := &fakeT{TB: t}
			c := simtest.New(f)
			k := sim.New(sim.Options{Mode: m})
			var after []string
			k.Go(t.Context(), func(ctx context.Context) {
				assert.Equal(c, 1, 1)
				assert.Equal(c, 1, 2, "an assert")
				after = append(after, "assert")
				require.True(c, false, "a require")
				after = append(after, "require")
			})
			require.NoError(t, k.Run(t.Context()))
			assert.Empty(t, f.errors, "nothing reported before Report")
			c.Report()
			assert.Equal(t, []string{"assert"}, after, "the process goes on after an assert, not after a require")
			require.Len(t, f.errors, 2)
			assert.Contains(t, f.errors[0], "an assert")
			assert.Contains(t, f.errors[1], "a require")
			assert.True(t, f.stopped, "a failed require stops the test")
		})
	}
}

// A run whose checks all pass reports nothing.
func TestChecksQuietWhenAllPass(t *testing.T) {
	f := &fakeT{TB: t}
	c := simtest.New(f)
	k := sim.New(sim.Options{})
	k.Go(t.Context(), func(ctx context.Context) { require.True(c, true) })
	require.NoError(t, k.Run(t.Context()))
	c.Report()
	assert.Empty(t, f.errors)
	assert.False(t, f.stopped)
}
