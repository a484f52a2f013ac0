package scenario

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/internal/racedetect"
	"vmstorm/outcome"
)

// The calibrations against what the report says happened, rather than what
// it says was seen: does some value of the model's assumptions reproduce
// the event? docs/scenarios.md ("Calibration against the report") and the
// scenario files say the same; these tests keep them true.

// span is a delta of metric over [from, to] of a scenario's calendar
// ("" for the run's end).
func span(name string, epoch time.Time, metric, from, to string) analysis.Check {
	moment := func(s string) analysis.Moment {
		if s == "" {
			return analysis.Moment{Absent: true}
		}
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			panic(err)
		}
		return analysis.Moment{T: t.Sub(epoch)}
	}
	zero := 0.0
	return analysis.Check{Name: name, Metric: metric, Stat: "delta", Min: &zero,
		At: analysis.Moment{Absent: true}, From: moment(from), To: moment(to)}
}

// figures replays cfg with the checks and returns each one's figure by
// name, and the outcome.
func figures(t *testing.T, cfg config.Config, checks ...analysis.Check) (map[string]float64, *outcome.Outcome) {
	t.Helper()
	s := &Scenario{Config: cfg, Checks: checks}
	o := replay(t, s)
	out := map[string]float64{}
	for _, r := range o.Analysis.Checks {
		require.True(t, r.HasValue, "%s: %s", r.Check.Name, r.Model)
		out[r.Check.Name] = r.Value
	}
	return out, o
}

// assumptionSets are every combination of the 2015 scenario's assumptions
// that matter to it (the API's does not: it has no API limit).
var assumptionSets = []struct {
	name string
	set  func(*config.ModelAssumptions)
}{
	{"defaults", func(*config.ModelAssumptions) {}},
	{"never_booted_holds_slot", func(a *config.ModelAssumptions) { a.NeverBootedHoldsSlot = true }},
	{"refused_start_holds_cpu", func(a *config.ModelAssumptions) { a.RefusedStartHoldsCPU = true }},
	{"both", func(a *config.ModelAssumptions) { a.NeverBootedHoldsSlot, a.RefusedStartHoldsCPU = true, true }},
}

// TestCalibration2015Resumes: the report says that at 21:01 builds were
// re-enabled for one queue while the cleanup went on, and that the cleanup
// could not keep up (the queue was paused again at 22:10); and that on the
// 22:56 resume power-on failures came back at once. The 22:56 failures
// come back under every assumption. The 21:01 failure does not at the
// defaults (the fixed janitor frees slots faster than the resumed queue
// needs them, and no start fails); it comes back only if a never-booted VM
// holds a slot, so that every failed start takes a slot the janitor never
// gives back.
func TestCalibration2015Resumes(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect")
	}
	s, err := LoadBuiltin("travis-2015-osx")
	require.NoError(t, err)
	epoch := s.Config.Epoch
	checks := []analysis.Check{
		span("requeues 21:01-22:10", epoch, "requeues", "2015-08-04T21:01:00Z", "2015-08-04T22:10:00Z"),
		span("completed 21:01-22:10", epoch, "completed", "2015-08-04T21:01:00Z", "2015-08-04T22:10:00Z"),
		span("requeues 22:56-23:28", epoch, "requeues", "2015-08-04T22:56:00Z", "2015-08-04T23:28:00Z"),
	}
	for _, set := range assumptionSets {
		t.Run(set.name, func(t *testing.T) {
			t.Parallel()
			cfg := cloneConfig(s.Config)
			set.set(&cfg.Assumptions)
			f, _ := figures(t, cfg, checks...)
			t.Logf("%s: 21:01-22:10, %v requeues and %v builds completed; 22:56-23:28, %v requeues", set.name,
				f["requeues 21:01-22:10"], f["completed 21:01-22:10"], f["requeues 22:56-23:28"])
			assert.GreaterOrEqual(t, f["requeues 22:56-23:28"], 50.0, "the 22:56 failures come back")
			if cfg.Assumptions.NeverBootedHoldsSlot {
				assert.GreaterOrEqual(t, f["requeues 21:01-22:10"], 500.0, "21:01: the resumed queue fails, the cleanup cannot keep up")
				assert.Less(t, f["completed 21:01-22:10"], 20.0)
			} else {
				assert.Zero(t, f["requeues 21:01-22:10"], "21:01: not reproduced, no start fails")
				assert.Greater(t, f["completed 21:01-22:10"], 50.0, "builds run")
			}
		})
	}
}

// TestCalibration2019Lowering: the report says the storm was mitigated by
// lowering the self-imposed API limit. Compared with the same run without
// the lowering: at the defaults, the lowering at 08:00 ends the requeues at
// once, three hours before the storm ends by itself (the stalls stopped at
// 06:00), but the backlog drains more slowly under the lowered limit, so
// the run is healthy again later and more jobs are delayed: the lowering
// did not end the storm. If refused calls use up the limit
// (refused_calls_count), the storm never ends without the lowering, and the
// lowering ends it: the report's account.
func TestCalibration2019Lowering(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect")
	}
	s, err := LoadBuiltin("travis-2019-gce")
	require.NoError(t, err)
	epoch := s.Config.Epoch
	noLowering, err := s.AblateBy("lowered_api_limit", "no_lowering")
	require.NoError(t, err)
	checks := []analysis.Check{
		span("requeues 08:15-end", epoch, "requeues", "2019-03-28T08:15:00Z", ""),
		span("requeues 08:15-11:00", epoch, "requeues", "2019-03-28T08:15:00Z", "2019-03-28T11:00:00Z"),
	}
	type run struct {
		requeuesAfter, requeuesTo11 float64
		recovered                   bool
		recoveredAt                 time.Duration
		delayed                     int64
	}
	runs := map[string]*run{}
	for _, counts := range []bool{false, true} {
		for _, lowered := range []bool{true, false} {
			name := fmt.Sprintf("refused_calls_count %v, lowered %v", counts, lowered)
			r := &run{}
			runs[name] = r
			t.Run(name, func(t *testing.T) {
				cfg := cloneConfig(s.Config)
				if !lowered {
					cfg = cloneConfig(noLowering.Config)
				}
				cfg.Assumptions.RefusedCallsCount = counts
				f, o := figures(t, cfg, checks...)
				in := o.Analysis.Incident
				*r = run{f["requeues 08:15-end"], f["requeues 08:15-11:00"], in.Recovered, in.RecoveredAt, o.Summary.JobsDelayed}
				recovered := "never recovered"
				if in.Recovered {
					recovered = "recovered at " + epoch.Add(in.RecoveredAt).Format("01-02 15:04")
				}
				t.Logf("%s: %v requeues from 08:15 (%v to 11:00), %s, %d jobs delayed", name, r.requeuesAfter, r.requeuesTo11, recovered, r.delayed)
			})
		}
	}
	def, defNo := runs["refused_calls_count false, lowered true"], runs["refused_calls_count false, lowered false"]
	assert.Zero(t, def.requeuesAfter, "defaults: with the lowering, no requeue from 08:15")
	assert.Greater(t, defNo.requeuesTo11, 1000.0, "defaults: without it, the storm goes on past 08:15")
	require.True(t, def.recovered && defNo.recovered, "defaults: both recover")
	assert.Greater(t, def.recoveredAt, defNo.recoveredAt, "defaults: the lowering makes the recovery later")
	assert.Greater(t, def.delayed, defNo.delayed, "defaults: and delays more jobs")

	cnt, cntNo := runs["refused_calls_count true, lowered true"], runs["refused_calls_count true, lowered false"]
	assert.False(t, cntNo.recovered, "refused calls counted: without the lowering the storm never ends")
	assert.Greater(t, cntNo.requeuesAfter, 100_000.0)
	assert.Zero(t, cnt.requeuesAfter, "refused calls counted: the lowering ends the requeues")
}

// TestReducedRateIsSlowerUnderEveryAssumption: whether a requeue touches
// the bottleneck (refused_start_holds_cpu) decides whether the storm at the
// CPU ceiling takes CPU from the builds; even so, in this model the reduced
// build rate after 00:13 finishes fewer builds by 04:00 than the full rate
// would have, its requeues and all: the operators' reduction bought
// stability, not speed.
func TestReducedRateIsSlowerUnderEveryAssumption(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect")
	}
	s, err := LoadBuiltin("travis-2015-osx")
	require.NoError(t, err)
	full, err := s.AblateBy("reduced_rate", "no_reduction")
	require.NoError(t, err)
	epoch := s.Config.Epoch
	done := span("completed 00:13-04:00", epoch, "completed", "2015-08-05T00:13:00Z", "2015-08-05T04:00:00Z")
	for _, holds := range []bool{false, true} {
		t.Run(fmt.Sprintf("refused_start_holds_cpu %v", holds), func(t *testing.T) {
			t.Parallel()
			reduced, fullRate := cloneConfig(s.Config), cloneConfig(full.Config)
			reduced.Assumptions.RefusedStartHoldsCPU, fullRate.Assumptions.RefusedStartHoldsCPU = holds, holds
			r, _ := figures(t, reduced, done)
			f, _ := figures(t, fullRate, done)
			t.Logf("builds completed from 00:13 to 04:00: %v at the reduced rate, %v at the full rate", r[done.Name], f[done.Name])
			assert.Less(t, r[done.Name], f[done.Name], "the reduced rate is slower")
		})
	}
}
