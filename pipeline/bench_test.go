package pipeline_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"go.uber.org/goleak"
	"go.uber.org/zap"

	"vmstorm/config"
	"vmstorm/internal/benchtest"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// BenchmarkThroughput is the engine's own overhead: b.N jobs through the
// backlog and the Build, Run and Cleanup pools with every latency zero, on
// a cluster big enough never to requeue, in an unpaced Serial kernel, with
// no sink: the model alone, without the analysis of its samples.
func BenchmarkThroughput(b *testing.B) {
	cfg := config.Default()
	cfg.Seed = 1
	cfg.Speed = sim.Max
	cfg.MaxJobs = int64(b.N)
	cfg.VMs = int64(b.N) + 1
	cfg.ArrivalsPerMinute = 1e7 // 6µs of model time apart
	for _, l := range []*time.Duration{&cfg.Clone.Mean, &cfg.Clone.Spread, &cfg.PowerOn.Mean, &cfg.PowerOn.Spread,
		&cfg.Build.Mean, &cfg.Build.Spread, &cfg.Destroy.Mean, &cfg.Destroy.Spread} {
		*l = 0
	}
	cfg.CleanupEvery, cfg.CleanupRate = 10*time.Second, 0 // a pass every 10 model seconds, with no rate limit
	cfg.StatusEvery, cfg.SampleEvery = time.Hour, time.Hour
	cfg.Duration = config.MaxDuration // ends when all jobs are done

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	start := time.Now()
	s, err := pipeline.Run(b.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), pipeline.Options{Log: zap.NewNop()})
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
	b.ReportMetric(float64(s.Clock.Events)/float64(b.N), "events/job")
}

// BenchmarkModelSpeed runs the whole default broken run (-vms 200
// -break-cleanup, one model hour) in an unpaced Serial kernel, judged by
// the analysis as every run is (outcome.Run), and reports
// how fast the kernel gets through it: wall time per event (a process
// resumed), events and arrived jobs per wall second, and model seconds per
// wall second. (Before the kernel, this benchmark measured how far
// wall-clock sleeps drifted from the configured latencies at rising speeds;
// model time no longer comes from the wall clock, so there is no drift to
// measure.) A Serial run is the same event for event each time: every
// iteration must count the same events, jobs and requeues.
func BenchmarkModelSpeed(b *testing.B) {
	cfg := config.Default()
	cfg.Seed = 1
	cfg.BreakCleanup = true
	cfg.Speed = sim.Max
	var first, s *pipeline.Summary
	var events, arrived int64
	for b.Loop() {
		o, err := outcome.Run(b.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if !o.Analysis.Storm.Happened {
			b.Fatal("the analysis saw no storm in the broken run: it is not the run this benchmark means to time")
		}
		s = o.Summary
		if first == nil {
			first = s
		} else if s.Clock.Events != first.Clock.Events || s.Jobs != first.Jobs {
			b.Fatalf("a Serial run differs from the first: %d events, %+v; then %d events, %+v",
				first.Clock.Events, first.Jobs, s.Clock.Events, s.Jobs)
		}
		events += s.Clock.Events
		arrived += s.Jobs.Arrived
	}
	if s.Jobs.Requeues == 0 {
		b.Fatal("the broken run did not requeue: it is not the run this benchmark means to time")
	}
	wall := b.Elapsed()
	b.ReportMetric(float64(wall.Nanoseconds())/float64(events), "ns/event")
	b.ReportMetric(float64(events)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(arrived)/wall.Seconds(), "jobs/s")
	b.ReportMetric(float64(b.N)*s.Model.Seconds()/wall.Seconds(), "model-s/wall-s")
	b.ReportMetric(float64(s.Jobs.Requeues), "requeues")
}

// stormConfig is the storm benchmark's run: jobs jobs arriving at 1,000
// per model second onto 6,000 VMs, two attempts each, with the janitor
// broken after 10 model seconds.
func stormConfig(jobs int64, pools stormPools) config.Config {
	cfg := config.Default()
	cfg.Seed = 1
	cfg.Speed = sim.Max
	cfg.MaxJobs = jobs
	cfg.ArrivalsPerMinute = 60_000
	cfg.VMs = 6000
	cfg.MaxAttempts = 2
	cfg.BreakCleanup, cfg.BreakAt = true, 10*time.Second
	if pools == sizedToCluster {
		cfg.BuildWorkers, cfg.RunWorkers = 2000, 6000
	}
	cfg.Duration = 1000 * time.Hour // ends when all jobs are done
	return cfg
}

// stormPools are the worker pools of a storm: the model's defaults (50
// Build and 250 Run workers), or sized to the cluster (2,000 and 6,000, so
// that every VM can be busy at once).
type stormPools int

const (
	defaultPools stormPools = iota
	sizedToCluster
)

func (p stormPools) String() string {
	return map[stormPools]string{defaultPools: "default pools", sizedToCluster: "pools sized to the cluster"}[p]
}

// BenchmarkStorm runs the storm with 30,000 and with 300,000 jobs, with
// each kind of pools, judged by the analysis (outcome.Run), and reports
// wall time per run, events per second and bytes allocated per job.
func BenchmarkStorm(b *testing.B) {
	for _, pools := range []stormPools{defaultPools, sizedToCluster} {
		for _, jobs := range []int64{30_000, 300_000} {
			b.Run(fmt.Sprintf("%d jobs, %v", jobs, pools), func(b *testing.B) { benchStorm(b, jobs, pools) })
		}
	}
}

func benchStorm(b *testing.B, jobs int64, pools stormPools) {
	cfg := stormConfig(jobs, pools)
	var events int64
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cpu0 := benchtest.CPUTime(b)
	for b.Loop() {
		o, err := outcome.Run(b.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if s := o.Summary; s.Jobs.Completed+s.Jobs.Failed != jobs {
			b.Fatalf("%d of %d jobs finished: %+v", s.Jobs.Completed+s.Jobs.Failed, jobs, s.Jobs)
		}
		events = o.Summary.Clock.Events
	}
	runtime.ReadMemStats(&after)
	perRun := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(perRun, "s/run")
	b.ReportMetric(float64(events)/perRun, "events/s")
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/float64(jobs), "B/job")
	b.ReportMetric((benchtest.CPUTime(b)-cpu0).Seconds()/float64(b.N), "cpu-s/run")
}
