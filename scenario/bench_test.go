package scenario

import (
	"testing"

	"go.uber.org/zap"

	"vmstorm/config"
	"vmstorm/internal/sim"
	"vmstorm/pipeline"
)

// BenchmarkReplay replays each built-in scenario at -speed max and
// reports wall time per replay and events per second.
func BenchmarkReplay(b *testing.B) {
	for _, bi := range Builtins() {
		b.Run(bi.Name, func(b *testing.B) {
			s, err := LoadBuiltin(bi.Name)
			if err != nil {
				b.Fatal(err)
			}
			cfg := s.Config
			cfg.Speed = config.MaxSpeed
			var events int64
			for b.Loop() {
				sum, err := pipeline.Run(b.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), zap.NewNop())
				if err != nil {
					b.Fatal(err)
				}
				events = sum.Clock.Events
			}
			perRun := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(perRun, "s/replay")
			b.ReportMetric(float64(events)/perRun, "events/s")
		})
	}
}
