package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"vmstorm/analysis"
	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/internal/sim"
	"vmstorm/logx"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/series"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// judged is a run as the tests read it: what the model counted, what the
// analysis said, and every row (not only those kept for the charts).
type judged struct {
	*pipeline.Summary
	Analysis analysis.Result
	Series   []series.Row
}

// collect is a watcher that keeps every row.
type collect struct{ rows []series.Row }

func (c *collect) Row(r series.Row) { c.rows = append(c.rows, r) }
func (c *collect) Mark(series.Mark) {}

// runModel runs cfg to its end on a Serial kernel, unpaced: hours of model
// time pass in milliseconds, and a seed repeats its run exactly.
func runModel(t *testing.T, ctx context.Context, cfg config.Config) judged {
	t.Helper()
	cfg.Speed = config.MaxSpeed
	return runIn(t, ctx, cfg, sim.Serial)
}

// runIn runs cfg to its end on a kernel in mode (Wall must run inside a
// synctest bubble).
func runIn(t *testing.T, ctx context.Context, cfg config.Config, mode sim.Mode) judged {
	t.Helper()
	var all collect
	out, err := outcome.Run(ctx, cfg, pipeline.NewKernel(cfg, mode), outcome.Options{Watchers: []series.Watcher{&all}})
	require.NoError(t, err)
	return judged{out.Summary, out.Analysis, all.rows}
}

// requireInvariants checks what must hold at the end of every run: every
// job is accounted for exactly once, and the VM counts agree with each
// other and with the gauge.
func requireInvariants(t *testing.T, s judged) {
	t.Helper()
	j, c := s.Jobs, s.Cluster
	require.True(t, s.Balanced(), "arrived = completed + failed + shed + queued + in flight: %+v, queued %d", j, s.Queued)
	require.GreaterOrEqual(t, s.Queued, int64(0))
	require.GreaterOrEqual(t, j.InFlight, int64(0))
	require.Equal(t, c.Cloned-c.Destroyed, c.VMs, "VMs cloned - destroyed = VMs on the cluster")
	require.Equal(t, c.Admitted-c.Released, c.InUse, "VMs powered on - destroyed while holding a slot = gauge")
	var byState int64
	for _, n := range c.ByState {
		byState += n
	}
	require.Equal(t, c.VMs, byState, "every VM on the cluster is in exactly one state")
	require.GreaterOrEqual(t, c.InUse, int64(0))
	require.LessOrEqual(t, c.PeakInUse, c.Capacity, "the gauge never went above capacity")
	for _, smp := range s.Series {
		require.LessOrEqual(t, smp.InUse, smp.Capacity, "gauge above capacity at %v", smp.T)
		require.GreaterOrEqual(t, smp.InUse, int64(0), "gauge negative at %v", smp.T)
	}
}

func meanInUse(series []series.Row, from time.Duration) float64 {
	var sum float64
	var n int
	for _, s := range series {
		if s.T >= from {
			sum += float64(s.InUse)
			n++
		}
	}
	return sum / float64(n)
}

func TestHealthyClusterObeysLittlesLaw(t *testing.T) {
	{
		cfg := config.Default()
		cfg.Seed = 7
		cfg.Duration = 8 * time.Hour
		s := runModel(t, t.Context(), cfg)
		requireInvariants(t, s)

		assert.Zero(t, s.Jobs.Requeues, "a healthy cluster requeues nothing")
		assert.False(t, s.Filled, "a healthy cluster never fills")
		assert.False(t, s.Analysis.Storm.Happened)
		assert.Zero(t, s.Cluster.ByState[cluster.NeverBooted])
		assert.Less(t, s.StillWaiting.Max, 5*time.Minute, "the backlog stays small")

		// Little's law, L = λW, over the steady state after a 1h warm-up:
		// L is the time-averaged gauge, λ the configured arrival rate and W
		// the measured time a VM holds its slot (power-on to destruction).
		// Poisson noise over 7h of ~12 arrivals a minute is about 1%; 5%
		// leaves room for it and for the warm-up's tail.
		L := meanInUse(s.Series, time.Hour)
		W := s.Cluster.MeanSlotHeld
		lambda := cfg.ArrivalsPerMinute / float64(time.Minute)
		assert.InEpsilon(t, lambda*float64(W), L, 0.05, "L=%.1f VMs, λW=%.1f VMs", L, lambda*float64(W))

		// And W is what the configuration predicts: boot, build, then on
		// average half a janitor loop before the VM is picked, the pacing of
		// the pass, and the destroy itself. (Build times are capped by the
		// build timeout far out in the tail, so the mean barely moves.)
		predictedW := cfg.PowerOn.Mean + cfg.Build.Mean + cfg.CleanupEvery/2 + cfg.Destroy.Mean
		assert.InEpsilon(t, float64(predictedW), float64(W), 0.10, "W=%v, predicted %v", W, predictedW)
	}
}

func TestBrokenCleanupFillsClusterThenStorms(t *testing.T) {
	tests := []struct {
		name                     string
		vms                      int64
		perMinute                float64
		buildWorkers, runWorkers int
	}{
		{"2015 defaults", 200, 12, 50, 250},
		{"bigger cluster, busier day", 2000, 120, 300, 2000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			{
				cfg := config.Default()
				cfg.Seed = 11
				cfg.VMs, cfg.ArrivalsPerMinute = tt.vms, tt.perMinute
				cfg.BuildWorkers, cfg.RunWorkers = tt.buildWorkers, tt.runWorkers
				cfg.BreakCleanup = true
				lambda := tt.perMinute / float64(time.Minute) // per ns
				fillPredicted := time.Duration(float64(tt.vms)/lambda) + cfg.Clone.Mean
				cfg.Duration = 2*fillPredicted + cfg.BuildTimeout
				s := runModel(t, t.Context(), cfg)
				requireInvariants(t, s)

				// With nothing destroyed, the gauge counts every power-on: it
				// reaches capacity when the capacity-th job has arrived and
				// been cloned. Arrival times are Poisson, so the capacity-th
				// arrival has a standard deviation of sqrt(capacity)/λ.
				require.True(t, s.Filled, "the cluster fills")
				sd := time.Duration(math.Sqrt(float64(tt.vms)) / lambda)
				assert.InDelta(t, float64(fillPredicted), float64(s.FilledAt), float64(4*sd+2*cfg.Clone.Spread),
					"filled at %v, predicted %v ± %v", s.FilledAt, fillPredicted, 4*sd)
				assert.Equal(t, tt.vms, s.Cluster.InUse, "the cluster stays full")

				// After the fill, and once the builds already running are
				// over, nothing completes, requeues outrun arrivals in every
				// window, and the backlog grows.
				quiet := s.FilledAt + cfg.BuildTimeout + cfg.PowerOn.Mean*10
				window := 10 * time.Minute
				var prev *series.Row
				for i := range s.Series {
					smp := &s.Series[i]
					if smp.T < quiet {
						continue
					}
					if prev != nil && smp.T-prev.T >= window {
						assert.Equal(t, prev.Completed, smp.Completed, "no build completes after the fill (%v to %v)", prev.T, smp.T)
						requeues, arrivals := smp.Requeues-prev.Requeues, smp.Arrived-prev.Arrived
						assert.Greater(t, requeues, arrivals, "requeues outrun arrivals (%v to %v)", prev.T, smp.T)
						assert.Greater(t, smp.Backlog, prev.Backlog, "the backlog grows (%v to %v)", prev.T, smp.T)
						prev = smp
					}
					if prev == nil {
						prev = smp
					}
				}
				require.NotNil(t, prev, "the run lasts past the quiet point")

				assert.True(t, s.Analysis.Storm.Happened)
				assert.Greater(t, float64(s.Jobs.Requeues)/float64(s.Jobs.Arrived), 1.0, "more requeues than arrivals")
				assert.Zero(t, s.Cluster.Destroyed, "a janitor that cannot log in destroys nothing")
				// Every failed power-on left a never-booted VM behind: the
				// requeues themselves leak VMs.
				assert.Equal(t, s.Jobs.Requeues, s.Cluster.ByState[cluster.NeverBooted])
				assert.Greater(t, s.Cluster.VMs, s.Cluster.Capacity, "the true VM count passes capacity")
				assert.Zero(t, s.Janitor.Reported, "broken from the start, it never reported a count")
			}
		})
	}
}

func TestJanitorKeepsReportingItsLastCountOnceBroken(t *testing.T) {
	{
		cfg := config.Default()
		cfg.Seed = 3
		cfg.BreakCleanup, cfg.BreakAt = true, 90*time.Minute
		cfg.Duration = 3 * time.Hour
		s := runModel(t, t.Context(), cfg)
		requireInvariants(t, s)

		var atBreak int64
		for _, smp := range s.Series {
			if smp.T < cfg.BreakAt {
				atBreak = smp.ReportedVMs
				continue
			}
			assert.Equal(t, atBreak, smp.ReportedVMs, "reported count frozen at %v", smp.T)
		}
		assert.Greater(t, atBreak, int64(50), "before the break the janitor reported a normal count")
		assert.Equal(t, atBreak, s.Janitor.Reported)
		assert.Greater(t, s.Cluster.VMs, 2*atBreak, "while the true count grew far past it")
		assert.Positive(t, s.Janitor.Passes)
		assert.Positive(t, s.Janitor.FailedPasses)
	}
}

func TestSameSeedSameRun(t *testing.T) {
	run := func(seed uint64) judged {
		cfg := config.Default()
		cfg.Seed = seed
		cfg.BreakCleanup, cfg.BreakAt = true, 20*time.Minute
		return runModel(t, t.Context(), cfg)
	}
	a, b, c := run(42), run(42), run(43)
	assert.Equal(t, a.Series, b.Series, "same seed, same run")
	assert.Equal(t, a.Jobs, b.Jobs)
	assert.Equal(t, a.Waits, b.Waits)
	assert.NotEqual(t, a.Series, c.Series, "another seed, another run")
}

func TestRunEndsWhenAllJobsFinish(t *testing.T) {
	{
		cfg := config.Default()
		cfg.Seed = 5
		cfg.MaxJobs = 300
		cfg.Duration = 48 * time.Hour
		s := runModel(t, t.Context(), cfg)
		requireInvariants(t, s)
		assert.Equal(t, pipeline.ErrAllJobsFinished.Error(), s.Ended)
		assert.Equal(t, int64(300), s.Jobs.Arrived)
		assert.Equal(t, int64(300), s.Jobs.Completed)
		assert.Less(t, s.Model, 48*time.Hour)
	}
}

// TestCancelledRunAccountsForEveryJob cancels a paced run from outside,
// as a signal does, in the middle of the storm: under synctest, whose fake
// wall clock makes the moment exact.
func TestCancelledRunAccountsForEveryJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := config.Default()
		cfg.Seed = 9
		cfg.BreakCleanup = true
		cfg.Duration = 10 * time.Hour
		ctx, cancel := context.WithCancel(t.Context())
		// Cancel at 40 model minutes, mid-storm, with jobs in every stage.
		time.AfterFunc(time.Duration(float64(40*time.Minute)/float64(cfg.Speed)), cancel)
		s := runIn(t, ctx, cfg, sim.Serial)
		requireInvariants(t, s)
		assert.Contains(t, s.Ended, "interrupted")
		assert.InDelta(t, float64(40*time.Minute), float64(s.Model), float64(time.Second))
		assert.Positive(t, s.Jobs.InFlight)
		assert.Positive(t, s.Queued)
	})
}

// TestStressManyWorkers runs thousands of workers on a small cluster in a
// Parallel kernel, where model goroutines truly run at once, so that the
// race detector sees real interleavings: contended admission, requeues,
// cleanup and completion. A job gives up after a few failed starts, so that
// the never-booted VMs each failure leaves (which the janitor lists on
// every pass) stay bounded.
func TestStressManyWorkers(t *testing.T) {
	cfg := config.Default()
	cfg.Seed = 1
	cfg.Speed = config.MaxSpeed
	cfg.VMs = 100
	cfg.MaxJobs = 5000
	cfg.MaxAttempts = 4
	// Model time is the kernel's: the scale of the run's times does not
	// matter to the race detector, only the contention.
	cfg.ArrivalsPerMinute = 3000 // a job every ~20ms: about 150 VMs wanted at once
	cfg.BuildWorkers, cfg.RunWorkers, cfg.CleanupWorkers = 1000, 1000, 100
	cfg.QueueSize = 16
	cfg.Clone.Mean, cfg.Clone.Spread = time.Second, time.Second
	cfg.PowerOn.Mean, cfg.PowerOn.Spread = 0, 0
	cfg.Build.Mean, cfg.Build.Spread = 2*time.Second, 2*time.Second
	cfg.Destroy.Mean, cfg.Destroy.Spread = 100*time.Millisecond, 0
	cfg.RejectTime = time.Second
	cfg.CleanupEvery, cfg.CleanupRate = 2*time.Second, 0
	cfg.StatusEvery, cfg.SampleEvery, cfg.Window = 100*time.Second, 10*time.Second, time.Minute
	cfg.Duration = 2 * time.Hour // a safety net: the run ends when all jobs are done

	s := runIn(t, t.Context(), cfg, sim.Parallel)
	requireInvariants(t, s)
	require.Equal(t, pipeline.ErrAllJobsFinished.Error(), s.Ended)
	assert.Equal(t, cfg.MaxJobs, s.Jobs.Completed+s.Jobs.Failed)
	assert.Positive(t, s.Jobs.Completed)
	assert.Positive(t, s.Jobs.Requeues, "the small cluster was contended")
	assert.Equal(t, cfg.VMs, s.Cluster.PeakInUse, "and full at times")
	t.Logf("%d completed, %d failed, %d requeues, %d events", s.Jobs.Completed, s.Jobs.Failed, s.Jobs.Requeues, s.Clock.Events)
}

// TestKernelAgreesWithSynctest runs the same model twice: on the kernel's
// own clock (Serial), and on the wall clock under testing/synctest's fake
// one (Wall), where real timers and real goroutines decide the order of
// events. Where the model has no two goroutines contending for one thing
// at one instant, the two agree exactly.
func TestKernelAgreesWithSynctest(t *testing.T) {
	healthy := config.Default()
	healthy.Seed = 7
	broken := healthy
	broken.Seed, broken.BreakCleanup = 11, true
	for _, tt := range []struct {
		name string
		cfg  config.Config
	}{{"healthy", healthy}, {"broken", broken}} {
		t.Run(tt.name, func(t *testing.T) {
			kernel := runModel(t, t.Context(), tt.cfg)
			// At speed 1 a model duration is the same wall duration, with
			// nothing lost to rounding.
			cfg := tt.cfg
			cfg.Speed = 1
			var wall judged
			synctest.Test(t, func(t *testing.T) { wall = runIn(t, t.Context(), cfg, sim.Wall) })
			assert.Equal(t, kernel.Jobs, wall.Jobs)
			assert.Equal(t, kernel.Cluster, wall.Cluster)
			assert.Equal(t, kernel.Waits, wall.Waits)
			assert.Equal(t, kernel.Series, wall.Series)
		})
	}
}

// TestSeriesHasOneRowPerInstant: the series is in model-time order with
// one sample per instant, the last at the end of the run, whether the run
// ends on a sample's instant (its duration) or between two (all its jobs
// done).
func TestSeriesHasOneRowPerInstant(t *testing.T) {
	onTheDot := config.Default()
	onTheDot.Seed = 2
	between := onTheDot
	between.MaxJobs, between.Duration = 50, 24*time.Hour
	for _, cfg := range []config.Config{onTheDot, between} {
		s := runModel(t, t.Context(), cfg)
		require.NotEmpty(t, s.Series)
		for i := 1; i < len(s.Series); i++ {
			require.Less(t, s.Series[i-1].T, s.Series[i].T, "row %d", i)
		}
		assert.Equal(t, s.Model, s.Series[len(s.Series)-1].T, "the last row is the end")
	}
}

// TestLogNamesEachQuantityOnce reads a run's JSON log: a job's queue is
// always its name, and the wait for a VM is always wait_s.
func TestLogNamesEachQuantityOnce(t *testing.T) {
	cfg := config.Default()
	cfg.Seed, cfg.BreakCleanup, cfg.Speed = 4, true, config.MaxSpeed
	var file bytes.Buffer
	k := pipeline.NewKernel(cfg, sim.Serial)
	logs := logx.New(logx.Options{Clock: k, File: &file})
	_, err := outcome.Run(t.Context(), cfg, k, outcome.Options{Log: logs.Logger})
	require.NoError(t, err)
	seen := map[string]int{}
	for line := range strings.Lines(file.String()) {
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		if q, ok := e["queue"]; ok {
			assert.Contains(t, cfg.QueueNames(), q, "%s: queue %v is a queue's name", e["msg"], q)
		}
		for _, key := range []string{"wait_s", "waited_s", "queue"} {
			if _, ok := e[key]; ok {
				seen[key]++
			}
		}
	}
	assert.Positive(t, seen["wait_s"], "vm_powered_on and job_requeued say wait_s")
	assert.Zero(t, seen["waited_s"], "and nothing says waited_s")
	assert.Positive(t, seen["queue"])
}

// TestLogSeedIsExactForEveryJSONReader: run_started gives the seed as a
// string of its digits, so that a reader that takes JSON numbers as
// float64 (jq, JavaScript, Go's own map[string]any) gets the seed of the
// run, not a neighbour past 2^53.
func TestLogSeedIsExactForEveryJSONReader(t *testing.T) {
	const big = 16969601660470026205
	cfg := config.Default()
	cfg.Seed, cfg.Speed, cfg.Duration = big, config.MaxSpeed, time.Minute
	var file bytes.Buffer
	k := pipeline.NewKernel(cfg, sim.Serial)
	logs := logx.New(logx.Options{Clock: k, File: &file})
	_, err := outcome.Run(t.Context(), cfg, k, outcome.Options{Log: logs.Logger})
	require.NoError(t, err)
	started := 0
	for line := range strings.Lines(file.String()) {
		var e map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &e))
		if e["msg"] == "run_started" {
			started++
			assert.Equal(t, "16969601660470026205", e["seed"])
		}
	}
	assert.Equal(t, 1, started)
}
