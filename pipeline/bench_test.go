package pipeline_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"go.uber.org/zap"

	"vmstorm/internal/sim"
	"vmstorm/pipeline"
)

// BenchmarkThroughput is the engine's own overhead: b.N jobs through the
// backlog and the Build, Run and Cleanup pools with every latency zero, on
// a cluster big enough never to requeue.
func BenchmarkThroughput(b *testing.B) {
	cfg := pipeline.Default()
	cfg.Seed = 1
	cfg.Speed = 1e4
	cfg.MaxJobs = int64(b.N)
	cfg.VMs = int64(b.N) + 1
	cfg.ArrivalsPerMinute = 1e7 // 6µs of model time apart: under a nanosecond of wall time, so no waiting
	for _, l := range []*time.Duration{&cfg.Clone.Mean, &cfg.Clone.Spread, &cfg.PowerOn.Mean, &cfg.PowerOn.Spread,
		&cfg.Build.Mean, &cfg.Build.Spread, &cfg.Destroy.Mean, &cfg.Destroy.Spread} {
		*l = 0
	}
	cfg.CleanupEvery, cfg.CleanupRate = 10*time.Second, 0 // a pass every millisecond of wall time
	cfg.StatusEvery, cfg.SampleEvery = time.Hour, time.Hour
	cfg.Duration = 100_000 * time.Hour // ends when all jobs are done

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	s, err := pipeline.Run(b.Context(), cfg, sim.NewClock(cfg.Speed, time.Time{}), zap.NewNop())
	elapsed := time.Since(start)
	b.StopTimer()
	runtime.ReadMemStats(&after)
	if err != nil {
		b.Fatal(err)
	}
	if s.Jobs.Completed != int64(b.N) || s.Jobs.Requeues != 0 {
		b.Fatalf("completed %d of %d jobs, %d requeues", s.Jobs.Completed, b.N, s.Jobs.Requeues)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N), "B/job")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N), "allocs/job")
}

// BenchmarkModelSpeed runs the default broken run (-vms 200 -break-cleanup,
// one model hour) at rising speeds and reports how far the model's measured
// latencies drift from the configured ones as the wall-clock waits shrink.
// The highest speed with a drift under 1% is the fastest faithful speed.
func BenchmarkModelSpeed(b *testing.B) {
	for _, speed := range []float64{240, 480, 720, 960, 3840, 15360} {
		b.Run(fmt.Sprintf("speed=%g", speed), func(b *testing.B) {
			cfg := pipeline.Default()
			cfg.Seed = 1
			cfg.BreakCleanup = true
			cfg.Speed = speed
			var s *pipeline.Summary
			for b.Loop() {
				var err error
				s, err = pipeline.Run(b.Context(), cfg, sim.NewClock(cfg.Speed, time.Time{}), zap.NewNop())
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(s.Model.Seconds()/s.Wall.Seconds(), "model-s/wall-s")
			b.ReportMetric(100*(float64(s.Slept)/float64(s.Requested)-1), "latency-drift-%")
			b.ReportMetric(float64(s.Jobs.Requeues), "requeues")
		})
	}
}
