package scenario

import (
	"testing"

	"vmstorm/config"
	"vmstorm/internal/benchtest"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
)

// BenchmarkReplay replays each built-in scenario at -speed max, judged by
// its checks as a run of it is, and reports wall time per replay, events
// per second, and the process's CPU time per replay (cpu-s/replay: less
// sensitive than wall time to other work on the machine, though not
// immune to it; it counts the garbage collector's threads too).
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
			cpu0 := benchtest.CPUTime(b)
			for b.Loop() {
				out, err := outcome.Run(b.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{Checks: s.Checks})
				if err != nil {
					b.Fatal(err)
				}
				events = out.Summary.Clock.Events
			}
			perRun := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(perRun, "s/replay")
			b.ReportMetric(float64(events)/perRun, "events/s")
			b.ReportMetric((benchtest.CPUTime(b)-cpu0).Seconds()/float64(b.N), "cpu-s/replay")
		})
	}
}
