package scenario

import (
	"math"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"

	"vmstorm/config"
	"vmstorm/internal/racedetect"
	"vmstorm/internal/sim"
	"vmstorm/pipeline"
)

// underSynctest replays s on the wall clock, in a Wall kernel inside a
// synctest bubble: real goroutines, real timers, the fake clock's time.
func underSynctest(t *testing.T, s *Scenario, seed uint64) *pipeline.Summary {
	cfg := s.Config
	cfg.Seed = seed
	cfg.Speed = 1 // a model duration is the same wall duration: no rounding
	var sum *pipeline.Summary
	synctest.Test(t, func(t *testing.T) {
		var err error
		sum, err = pipeline.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Wall), zap.NewNop())
		require.NoError(t, err)
	})
	return sum
}

func onKernel(t *testing.T, s *Scenario, seed uint64) *pipeline.Summary {
	cfg := s.Config
	cfg.Seed, cfg.Speed = seed, config.MaxSpeed
	sum, err := pipeline.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), zap.NewNop())
	require.NoError(t, err)
	return sum
}

// TestKernelAgreesWithSynctest replays the built-in scenarios on the
// kernel's clock and on the wall clock under testing/synctest. Where no two
// model goroutines contend for one thing at one model instant (the 2015
// replay), the two are the same run. Where they do (a crash requeues
// dozens of builds at once in 2018; bursts of API calls meet a limit in
// 2019), the Go scheduler picks an order under synctest and the kernel
// another, so the runs differ; over several seeds, their figures must then
// agree: the mean difference within three standard errors of it or 2% of
// the figure, and never over 5% of it.
func TestKernelAgreesWithSynctest(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs, and Wall runs of whole scenarios: see internal/racedetect")
	}
	t.Run("travis-2015-osx", func(t *testing.T) {
		t.Parallel()
		s, err := LoadBuiltin("travis-2015-osx")
		require.NoError(t, err)
		kernel, wall := onKernel(t, s, s.Config.Seed), underSynctest(t, s, s.Config.Seed)
		assert.Equal(t, kernel.Jobs, wall.Jobs)
		assert.Equal(t, kernel.Cluster, wall.Cluster)
		assert.Equal(t, kernel.Series, wall.Series)
	})
	figures := map[string]func(*pipeline.Summary) float64{
		"completed":    func(s *pipeline.Summary) float64 { return float64(s.Jobs.Completed) },
		"requeues":     func(s *pipeline.Summary) float64 { return float64(s.Jobs.Requeues) },
		"peak VMs":     func(s *pipeline.Summary) float64 { return float64(s.Cluster.PeakVMs) },
		"wait p95 (s)": func(s *pipeline.Summary) float64 { return s.Waits.P95.Seconds() },
	}
	for _, name := range []string{"travis-2018-gce", "travis-2019-gce"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := LoadBuiltin(name)
			require.NoError(t, err)
			diffs := map[string][]float64{}
			base := map[string]float64{}
			for seed := range uint64(4) {
				kernel, wall := onKernel(t, s, seed+1), underSynctest(t, s, seed+1)
				for f, of := range figures {
					diffs[f] = append(diffs[f], of(kernel)-of(wall))
					base[f] += of(kernel) / 4
				}
			}
			for f, d := range diffs {
				mean, se := meanAndStdErr(d)
				t.Logf("%s: %s mean %.1f, kernel - synctest %+.1f ± %.1f", name, f, base[f], mean, se)
				assert.LessOrEqual(t, math.Abs(mean), 3*se+0.02*base[f]+1, "%s: %s differs in distribution", name, f)
				assert.LessOrEqual(t, math.Abs(mean), 0.05*base[f]+1, "%s: %s differs by more than 5%%", name, f)
			}
		})
	}
}

func meanAndStdErr(xs []float64) (float64, float64) {
	var sum, sq float64
	for _, x := range xs {
		sum += x
	}
	mean := sum / float64(len(xs))
	for _, x := range xs {
		sq += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sq/float64(len(xs)-1)) / math.Sqrt(float64(len(xs)))
}
