package pipeline_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/racedetect"
	"vmstorm/internal/sim"
	"vmstorm/mitigate"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/series"
)

// smallBroken is a small 2015: a cluster of 40 VMs whose janitor is
// broken 20 model minutes in, so that it fills and the Build workers
// cycle their jobs through failed starts; run for hours at max speed.
func smallBroken(seed uint64, d time.Duration) config.Config {
	cfg := config.Default()
	cfg.Seed, cfg.Speed, cfg.Duration = seed, config.MaxSpeed, d
	cfg.VMs, cfg.BuildWorkers, cfg.RunWorkers, cfg.ArrivalsPerMinute = 40, 10, 60, 6
	cfg.BreakCleanup, cfg.BreakAt = true, 20*time.Minute
	cfg.SampleEvery = time.Minute
	m := &cfg.Mitigations
	m.ShedAfter, m.ReaperTTL = 45*time.Minute, 10*time.Minute
	m.BackoffSettings = mitigate.Backoff{Base: 10 * time.Second, Cap: 2 * time.Minute, Multiplier: 2}
	return cfg
}

// recorder is a sink that keeps every sample and mark; it is no Pager.
type recorder struct {
	samples []series.Sample
	marks   []series.Mark
}

func (r *recorder) Sample(s series.Sample) { r.samples = append(r.samples, s) }
func (r *recorder) Mark(m series.Mark)     { r.marks = append(r.marks, m) }

func (r *recorder) last() series.Sample { return r.samples[len(r.samples)-1] }

// counted is a zap core that counts the lines of a few messages, by
// message and reason, and keeps nothing else: a storm writes thousands.
type counted struct {
	zapcore.LevelEnabler
	msgs   map[string]bool
	mu     *sync.Mutex
	counts map[string]int
	fields []zapcore.Field
}

func newCounted(msgs ...string) *counted {
	c := &counted{LevelEnabler: zapcore.DebugLevel, msgs: map[string]bool{}, mu: &sync.Mutex{}, counts: map[string]int{}}
	for _, m := range msgs {
		c.msgs[m] = true
	}
	return c
}

func (c *counted) With(f []zapcore.Field) zapcore.Core {
	d := *c
	d.fields = append(slices.Clip(c.fields), f...)
	return &d
}

func (c *counted) Check(e zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.msgs[e.Message] {
		return ce.AddCore(e, c)
	}
	return ce
}

func (c *counted) Write(e zapcore.Entry, fields []zapcore.Field) error {
	key := e.Message
	for _, f := range fields {
		if f.Key == "reason" {
			key += ": " + f.String
		}
	}
	c.mu.Lock()
	c.counts[key]++
	c.mu.Unlock()
	return nil
}

func (c *counted) Sync() error { return nil }

func (c *counted) count(key string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[key]
}

// mix is a random mix of the mitigations: each switch on from the start
// or not, and a few timeline entries that turn one on or off during the
// run, and maybe the janitor's fix. It describes the mix, and returns the
// mitigations that were ever on.
func mix(r *rand.Rand, cfg *config.Config) (string, map[string]bool) {
	var desc []string
	everOn := map[string]bool{}
	m := &cfg.Mitigations
	for _, sw := range []struct {
		name string
		on   *bool
	}{
		{"backoff", &m.Backoff}, {"retry_budget", &m.RetryBudget}, {"breaker", &m.Breaker},
		{"delete_failed_vms", &cfg.DeleteFailedVMs}, {"reaper", &m.Reaper},
		{"capacity_aware", &m.CapacityAware}, {"shed", &m.Shed},
	} {
		if r.IntN(2) == 0 {
			*sw.on = true
			desc = append(desc, sw.name)
			everOn[sw.name] = true
		}
	}
	if r.IntN(2) == 0 {
		// The operators fix the janitor: its passes (and the reaper) resume.
		at := time.Duration(r.Int64N(int64(cfg.Duration)))
		cfg.Timeline = append(cfg.Timeline,
			incident.Event{At: at, Action: "fix_cleanup_credentials"}, incident.Event{At: at, Action: "restart_janitor"})
		desc = append(desc, fmt.Sprintf("fix@%v", at.Round(time.Minute)))
	}
	for range r.IntN(4) {
		action := []string{"enable_mitigation", "disable_mitigation"}[r.IntN(2)]
		name := incident.MitigationNames[r.IntN(len(incident.MitigationNames))]
		at := time.Duration(r.Int64N(int64(cfg.Duration)))
		cfg.Timeline = append(cfg.Timeline, incident.Event{At: at, Action: action, Args: incident.Args{Mitigation: name}})
		everOn[name] = everOn[name] || action == "enable_mitigation"
		desc = append(desc, fmt.Sprintf("%s %s@%v", action, name, at.Round(time.Minute)))
	}
	if len(desc) == 0 {
		return "none", everOn
	}
	return strings.Join(desc, ","), everOn
}

// runMix runs cfg in a Serial kernel with a sink that records and a log
// that counts the shed and failed jobs.
func runMix(t *testing.T, cfg config.Config) (*pipeline.Summary, *recorder, *counted) {
	t.Helper()
	rec, lines := &recorder{}, newCounted("job_shed", "job_failed", "power_on_failed", "clone_failed")
	s, err := pipeline.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), pipeline.Options{Log: zap.New(lines), Sink: rec})
	require.NoError(t, err)
	return s, rec, lines
}

// TestMitigationMixesAccountForEveryJob is a property test: on a small
// broken cluster, whatever mix of mitigations is on, and whatever the
// timeline turns on or off, every job that arrived is accounted for once
// (completed, failed, shed, queued or in flight); the shed and
// budget-failed jobs the summary counts are the ones the log reports and
// the series shows; the cluster's books, as the summary shows them,
// balance; and the same seed gives the same run. (Cluster.Audit itself is
// not reachable from pipeline.Run: the summary's counters are checked
// against each other instead.)
func TestMitigationMixesAccountForEveryJob(t *testing.T) {
	seeds, d := uint64(16), 4*time.Hour
	if racedetect.On {
		seeds, d = 2, 90*time.Minute // a small version: see internal/racedetect
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		r := rand.New(rand.NewPCG(seed, 11))
		// An end between two samples, now and then.
		cfg := smallBroken(seed, d+time.Duration(r.IntN(3))*time.Duration(r.Int64N(int64(time.Minute))))
		desc, everOn := mix(r, &cfg)
		t.Run(fmt.Sprintf("seed=%d/%s", seed, desc), func(t *testing.T) {
			require.NoError(t, cfg.Validate())
			s, rec, lines := runMix(t, cfg)
			j := s.Jobs
			assert.True(t, s.Balanced(), "nothing lost: %+v, queued %d", j, s.Queued)
			// The test means something: the cluster filled (with
			// capacity-aware dispatch on, that need not start a storm).
			assert.True(t, s.Filled, "the cluster filled")

			assert.Equal(t, int(j.Shed), lines.count("job_shed"), "every shed job is logged once")
			assert.Equal(t, int(j.FailedByBudget), lines.count("job_failed: the retry budget is spent"))
			assert.LessOrEqual(t, j.FailedByBudget, j.Failed)
			last := rec.last()
			assert.Equal(t, s.Model, last.T, "the last sample is the state at the end")
			assert.Equal(t, j.Shed, last.Shed)
			assert.Equal(t, j.FailedByBudget, last.FailedByBudget)
			assert.Equal(t, s.Mitigations.BackingOff, last.BackingOff)
			assert.LessOrEqual(t, s.Mitigations.BackingOff, s.Queued, "jobs backing off are queued")
			if !everOn["shed"] {
				assert.Zero(t, j.Shed, "never on: nothing shed")
			}
			if !everOn["retry_budget"] {
				assert.Zero(t, j.FailedByBudget, "never on: no job failed by the budget")
			}
			if !everOn["breaker"] {
				assert.Zero(t, s.Mitigations.BreakerOpened, "never on: the breaker never opened")
			}
			if !everOn["reaper"] {
				assert.Zero(t, s.Janitor.Reaped, "never on: nothing reaped")
			}

			c := s.Cluster
			var all, slots int64
			for st, n := range c.ByState {
				assert.GreaterOrEqual(t, n, int64(0), "%v", cluster.State(st))
				all += n
			}
			for _, st := range []cluster.State{cluster.Booting, cluster.Running, cluster.Finished, cluster.Orphaned} {
				slots += c.ByState[st]
			}
			assert.Equal(t, c.VMs, all, "every VM in one state")
			assert.Equal(t, c.Cloned-c.Destroyed, c.VMs, "cloned - destroyed = on the cluster")
			assert.Equal(t, slots, c.InUse, "the gauge counts the VMs that hold a slot")
			assert.LessOrEqual(t, c.InUse, c.Capacity)
			assert.LessOrEqual(t, s.Janitor.Reaped, c.Destroyed+c.ByState[cluster.NeverBooted])

			opened := 0
			for _, m := range rec.marks {
				if m.Name == pipeline.MarkBreakerOpened {
					opened++
				}
			}
			assert.Equal(t, s.Mitigations.BreakerOpened, opened, "a mark for every opening of the breaker")

			again, rec2, _ := runMix(t, cfg)
			s.Clock.Lag, again.Clock.Lag = 0, 0
			assert.Equal(t, s, again, "the same seed, the same run")
			assert.Equal(t, rec.samples, rec2.samples)
			assert.Equal(t, rec.marks, rec2.marks)
		})
	}
}

// TestBreakerInTheRun: on the small broken cluster the breaker opens once
// the cluster is full, its opening is a mark at the moment of the
// transition and a state in the series and the summary, and the requeues
// fall to a small fraction of those without it.
func TestBreakerInTheRun(t *testing.T) {
	d := 3 * time.Hour
	if racedetect.On {
		d = time.Hour
	}
	off := smallBroken(7, d)
	on := off
	on.Mitigations.Breaker = true
	sOff, _, _ := runMix(t, off)
	sOn, rec, _ := runMix(t, on)
	require.True(t, sOff.Filled && sOn.Filled, "the cluster fills either way")

	var opened []series.Mark
	for _, m := range rec.marks {
		if m.Name == pipeline.MarkBreakerOpened {
			opened = append(opened, m)
		}
	}
	require.NotEmpty(t, opened)
	assert.Equal(t, sOn.Mitigations.BreakerOpened, len(opened), "a mark for every opening")
	assert.GreaterOrEqual(t, opened[0].T, sOn.FilledAt, "it opens once starts fail")
	assert.Less(t, opened[0].T, sOn.FilledAt+10*time.Minute)
	open := false
	for _, smp := range rec.samples {
		open = open || smp.Breaker == int64(mitigate.Open)
	}
	assert.True(t, open, "the series shows it open")
	assert.NotEmpty(t, sOn.Mitigations.BreakerState)
	assert.Empty(t, sOff.Mitigations.BreakerState, "never on: no state")
	assert.Zero(t, sOff.Mitigations.BreakerOpened)

	assert.Positive(t, sOff.Jobs.Requeues)
	assert.Less(t, sOn.Jobs.Requeues*5, sOff.Jobs.Requeues,
		"requeues with the breaker (%d) under a fifth of those without (%d)", sOn.Jobs.Requeues, sOff.Jobs.Requeues)
	assert.True(t, sOn.Balanced())
}

// fixedPager reports detection at its time, whatever the model does.
type fixedPager time.Duration

func (p fixedPager) Detected() (time.Duration, bool) { return time.Duration(p), true }

// TestResponseAfterDetection: a timeline entry placed after detection is
// applied at detection plus its delay when the run has a Pager (the
// analysis, through outcome.Run, or any other given as Options.Pager), and
// never when nothing is detected or nobody pages: a sink alone, however it
// watches, never acts back on the model.
func TestResponseAfterDetection(t *testing.T) {
	const delay = 30 * time.Minute
	response := incident.Event{AfterDetection: true, At: delay, Action: "enable_mitigation", Args: incident.Args{Mitigation: "reaper"}}
	base := smallBroken(3, 3*time.Hour)
	base.ReportStale = false // a failed pass reports 0 VMs ...
	base.Alerts.VMCountMin = 1
	base.Timeline = incident.Timeline{response}
	silent := base
	silent.Alerts = config.Alerts{} // no rule: nothing is detected
	healthy := base
	healthy.BreakCleanup = false // no fault: nothing to detect

	type run struct {
		marks    []series.Mark
		on       []string
		detected time.Duration
		ok       bool
	}
	viaOutcome := func(cfg config.Config) run {
		out, err := outcome.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{})
		require.NoError(t, err)
		in := out.Analysis.Incident
		return run{out.Marks, out.Summary.Mitigations.On, in.DetectedAt, in.Detected}
	}
	viaPipeline := func(pager pipeline.Pager) func(cfg config.Config) run {
		return func(cfg config.Config) run {
			rec := &recorder{}
			s, err := pipeline.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), pipeline.Options{Log: zap.NewNop(), Sink: rec, Pager: pager})
			require.NoError(t, err)
			r := run{marks: rec.marks, on: s.Mitigations.On}
			if pager != nil {
				r.detected, r.ok = pager.Detected()
			}
			return r
		}
	}
	tests := []struct {
		name    string
		cfg     config.Config
		run     func(config.Config) run
		applied bool
	}{
		{"detected: applied at detection + delay", base, viaOutcome, true},
		{"no alert rule: never detected, never applied", silent, viaOutcome, false},
		{"no fault: never detected, never applied", healthy, viaOutcome, false},
		{"no Pager: never applied", base, viaPipeline(nil), false},
		{"a Pager of its own: applied at its detection + delay", base, viaPipeline(fixedPager(base.BreakAt + 5*time.Minute)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NoError(t, tt.cfg.Validate())
			r := tt.run(tt.cfg)
			var at []time.Duration
			for _, m := range r.marks {
				if m.Name == response.Action {
					at = append(at, m.T)
				}
			}
			if !tt.applied {
				assert.Empty(t, at)
				assert.NotContains(t, r.on, "reaper")
				return
			}
			require.True(t, r.ok, "detected")
			assert.Less(t, r.detected, base.BreakAt+10*time.Minute, "soon after the fault: the count drops to 0")
			assert.Equal(t, []time.Duration{r.detected + delay}, at, "once, at detection + %v", delay)
			assert.Contains(t, r.on, "reaper")
		})
	}
}

// latePager reports detection at at, but only from model time from on: a
// page that reaches the operators long after the alert it reports.
type latePager struct {
	k        *sim.Kernel
	at, from time.Duration
}

func (p latePager) Detected() (time.Duration, bool) {
	if p.k.Now() < p.from {
		return 0, false
	}
	return p.at, true
}

// TestResponseTimedFromALateDetection: the timeline places its entries
// timed from detection when it is told of detection, at the first sample
// at or after the pager reports it: an entry whose time (detection plus
// its delay) has passed by then is applied then, at that sample's time,
// and a later one at its own time; each once, though the pager goes on
// reporting detection at every sample after. It fails if the entries are
// placed at the alert's time as if known at once (the first applied at
// detection + 30 minutes, before the pager reported it), if an entry due
// before it is reported is dropped, or if they are placed again at a
// later sample (each applied twice).
func TestResponseTimedFromALateDetection(t *testing.T) {
	cfg := smallBroken(3, 5*time.Hour)
	cfg.Timeline = incident.Timeline{
		{AfterDetection: true, At: 30 * time.Minute, Action: "enable_mitigation", Args: incident.Args{Mitigation: "reaper"}},
		{AfterDetection: true, At: 3 * time.Hour, Action: "enable_mitigation", Args: incident.Args{Mitigation: "shed"}},
	}
	require.NoError(t, cfg.Validate())
	k := pipeline.NewKernel(cfg, sim.Serial)
	pager := latePager{k: k, at: cfg.BreakAt + 5*time.Minute, from: 2 * time.Hour} // a whole sample's time
	rec := &recorder{}
	s, err := pipeline.Run(t.Context(), cfg, k, pipeline.Options{Log: zap.NewNop(), Sink: rec, Pager: pager})
	require.NoError(t, err)
	var at []time.Duration
	for _, m := range rec.marks {
		if m.Name == "enable_mitigation" {
			at = append(at, m.T)
		}
	}
	assert.Equal(t, []time.Duration{pager.from, pager.at + 3*time.Hour}, at)
	assert.Subset(t, s.Mitigations.On, []string{"reaper", "shed"})
}

// TestShedPausedQueueWithNothingToWakeTheScheduler: with shedding on and
// every queue paused from the start, the jobs that arrive (all 20 in the
// first minutes) wait in paused queues. Shedding drops them once they pass
// the deadline, at the scheduler's own scan every whole minute, paused
// queues too (docs/mitigations.md, 8): all of them by the deadline plus a
// minute after the last arrival, which ends the run (every job finished),
// at the same model time whatever the sampling.
func TestShedPausedQueueWithNothingToWakeTheScheduler(t *testing.T) {
	var ended []time.Duration
	for _, every := range []time.Duration{10 * time.Second, time.Minute, 7 * time.Minute} {
		cfg := config.Default()
		cfg.Seed, cfg.Speed, cfg.Duration, cfg.MaxJobs = 5, config.MaxSpeed, 2*time.Hour, 20
		cfg.SampleEvery, cfg.StatusEvery = every, 7*time.Minute
		cfg.Mitigations.Shed, cfg.Mitigations.ShedAfter = true, 10*time.Minute
		cfg.Timeline = incident.Timeline{{At: 0, Action: "pause_builds", Args: incident.Args{Queue: "all"}}}
		rec := &recorder{}
		s, err := pipeline.Run(context.Background(), cfg, pipeline.NewKernel(cfg, sim.Serial), pipeline.Options{Log: zap.NewNop(), Sink: rec})
		require.NoError(t, err)
		require.Equal(t, int64(20), s.Jobs.Arrived)
		require.True(t, s.Balanced())
		assert.Zero(t, s.Jobs.InFlight+s.Jobs.Completed, "paused: nothing started")
		assert.Equal(t, int64(20), s.Jobs.Shed, "every job shed past its deadline, paused queues too (sampled every %v)", every)
		assert.Equal(t, pipeline.ErrAllJobsFinished.Error(), s.Ended)
		assert.Less(t, s.Model, 30*time.Minute)
		assert.Zero(t, s.Model%time.Minute, "the last job shed at a whole minute: %v", s.Model)
		ended = append(ended, s.Model)
	}
	assert.Equal(t, []time.Duration{ended[0], ended[0], ended[0]}, ended, "the same end whatever the sampling")
}

// capacityAwareRun is 100 jobs on the small cluster whose janitor is
// broken 5 model minutes in and fixed an hour later, long after the last
// arrival and the last build, with capacity-aware dispatch on or off.
func capacityAwareRun(t *testing.T, on bool) (config.Config, *pipeline.Summary, *recorder, *counted) {
	cfg := smallBroken(4, 3*time.Hour)
	cfg.MaxJobs, cfg.BreakAt = 100, 5*time.Minute
	cfg.Timeline = incident.Timeline{
		{At: time.Hour, Action: "fix_cleanup_credentials"}, {At: time.Hour, Action: "restart_janitor"},
	}
	cfg.Mitigations.CapacityAware = on
	s, rec, lines := runMix(t, cfg)
	require.True(t, s.Filled, "the cluster fills")
	return cfg, s, rec, lines
}

// TestCapacityAwareDispatchDrainsTheQueueOnceThereIsRoom: with
// capacity-aware dispatch the full cluster is a queue, and once the fixed
// janitor destroys VMs their room alone (nothing else wakes the scheduler
// by then: every job has arrived and no build runs) sends the rest to
// Build, until every job is done.
func TestCapacityAwareDispatchDrainsTheQueueOnceThereIsRoom(t *testing.T) {
	cfg, s, rec, _ := capacityAwareRun(t, true)
	var before series.Sample
	for _, smp := range rec.samples {
		if smp.T < time.Hour {
			before = smp
		}
	}
	require.Equal(t, time.Hour-time.Minute, before.T)
	require.Equal(t, cfg.MaxJobs, before.Arrived, "every job arrived before the fix")
	require.Zero(t, before.BusyWorkers[0]+before.BusyWorkers[1], "no start and no build under way before the fix")
	require.Positive(t, before.Backlog, "the queue")
	assert.Equal(t, pipeline.ErrAllJobsFinished.Error(), s.Ended, "the queue drains once there is room")
	assert.Equal(t, cfg.MaxJobs, s.Jobs.Completed)
	assert.Less(t, s.Model, 2*time.Hour)
}

// TestCapacityAwareDispatchStartsOnlyWhatFits: with capacity-aware
// dispatch at most the starts under way as the cluster filled fail (none
// need to); without it the Build workers cycle the backlog through failed
// starts.
func TestCapacityAwareDispatchStartsOnlyWhatFits(t *testing.T) {
	cfg, off, _, _ := capacityAwareRun(t, false)
	_, on, _, lines := capacityAwareRun(t, true)
	assert.Greater(t, off.Jobs.Requeues, 10*int64(cfg.BuildWorkers), "without it: a requeue loop")
	assert.LessOrEqual(t, on.Jobs.Requeues, int64(cfg.BuildWorkers))
	assert.Zero(t, lines.count("power_on_failed: no_capacity"), "no start for a slot that is not there")
}
