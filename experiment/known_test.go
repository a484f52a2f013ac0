package experiment

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/internal/racedetect"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
)

// runAll runs every task of e's plan and judges its replicas; results in
// the plan's order, each replica with its outcome.
func runAll(t *testing.T, e *Experiment) []Result {
	t.Helper()
	var results []Result
	pairs := NewPairs(e, func(r Result) { results = append(results, r) })
	var pairErr error
	require.NoError(t, Run(t.Context(), e, Plan(e), 0, func(r Result) {
		if pairErr == nil {
			pairErr = pairs.Add(r)
		}
	}))
	require.NoError(t, pairErr)
	require.Zero(t, pairs.Waiting(), "every replica met its control")
	Sort(results, e.VariantNames())
	return results
}

// oldOutcome is the verdict this package gave before controls and trends
// (until issue 17), from the replica's own run: recovered if its last phase
// was healthy or recovered and began within the recovery's time after the
// removal; overloaded if it stormed before its first fault; else, if its
// trigger was removed, it "did not recover" (stuck). The tests below show
// where that verdict was wrong.
func oldOutcome(t *testing.T, e *Experiment, r Result) Outcome {
	t.Helper()
	cfg, err := Config(e, Task{Variant: r.Variant, Point: r.Point, Refine: r.Refine, Seed: uint64(r.Seed)})
	require.NoError(t, err)
	o, err := outcome.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{})
	require.NoError(t, err)
	removed, ok := e.Recovery.TriggerRemoved(o.Marks)
	if !ok {
		return NotRemoved
	}
	ph := o.Analysis.Phases
	last := ph[len(ph)-1]
	if (last.Name == analysis.PhaseHealthy || last.Name == analysis.PhaseRecovered) && max(last.Start-removed, 0) <= e.Recovery.Within {
		return Recovered
	}
	in := o.Analysis.Incident
	for _, p := range ph {
		if (p.Name == analysis.PhaseStorm || p.Name == analysis.PhaseSecondFailure) && (!in.Faulted || p.Start < in.FaultAt) {
			return Overloaded
		}
	}
	return Stuck
}

// TestKnownOutcomes: small scenarios whose structure says what each
// replica must be, classified so.
//
//   - A sustaining loop (sustaining-loop.yaml, a small 2019): stalls fill
//     the quota, the cleanup's deletes meet the cloud's API limit, and,
//     where a refused call uses the limit up, the requeues' refused calls
//     keep it used up: stuck, every replica, the stalls over for 7 hours,
//     the control (no stalls) healthy. Where a refused call costs nothing,
//     the same runs recover.
//   - A slow drain (slow-drain.yaml): builds capped just above the
//     arrivals drain a leak's backlog in about 6 hours: draining, its
//     backlog falling at the window's end (5 hours after the fix), though
//     not healthy within 2 hours of it. The verdict before this one called
//     it "does not recover".
//   - A pure overload: the same at 6 arrivals a minute, more than the
//     capped builds serve, fault or not: overloaded, its control unhealthy
//     too. The verdict before called it "does not recover": it stormed only
//     after the fault, and a backlog that grows with no storm is not a
//     phase's storm.
//   - A fault never removed: not removed.
//
// The old verdict (oldOutcome) agreed on the loop (stuck, recovered) and on
// the fault never removed; it was wrong on the drain and the overload,
// which this test checks too.
func TestKnownOutcomes(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect")
	}
	tests := []struct {
		file, variant string
		want, old     Outcome
	}{
		{"known-loop", "refused calls use up the limit", Stuck, Stuck},
		{"known-loop", "refused calls cost nothing", Recovered, Recovered},
		{"known-drain", "slow drain", Draining, Stuck},
		{"known-drain", "overloaded", Overloaded, Stuck},
		{"known-drain", "never fixed", NotRemoved, NotRemoved},
	}
	results := map[string][]Result{}
	for _, file := range []string{"known-loop", "known-drain"} {
		t.Run(file, func(t *testing.T) {
			e := fixture(t, file)
			results[file] = runAll(t, e)
			table, err := Summarize(e, results[file])
			require.NoError(t, err)
			for _, tt := range tests {
				if tt.file != file {
					continue
				}
				rs := resultsOf(results[file], tt.variant, nil)
				require.Len(t, rs, e.Replicas)
				for _, r := range rs {
					assert.Equal(t, string(tt.want), r.Outcome, "%s, replica %d: %s", tt.variant, r.Replica, r.Verdict.Why)
				}
				row := rowOf(t, table, tt.variant)
				assert.Equal(t, e.Replicas, row.Recovery.Count(tt.want), "%s: the table counts them", tt.variant)
				if testing.Short() {
					continue
				}
				assert.Equal(t, tt.old, oldOutcome(t, e, rs[0]), "%s: what the verdict before said", tt.variant)
			}
		})
	}
	// The drain's projection: its backlog falls, with confidence or fast
	// enough to clear within as long again as the 5 hours watched, and is
	// due to clear in a few hours.
	for _, r := range resultsOf(results["known-drain"], "slow drain", nil) {
		b := r.Trace.Backlog
		require.NotNil(t, b, "replica %d: unhealthy at the window's end, with a trend", r.Replica)
		assert.Negative(t, b.Slope, "replica %d: the backlog falls", r.Replica)
		require.NotNil(t, r.Verdict.ClearH)
		clear := *r.Verdict.ClearH
		assert.True(t, b.Falling() || clear <= 5, "replica %d: clear in %.2f h, slope %v [%v, %v]", r.Replica, clear, b.Slope, b.Lo, b.Hi)
		assert.Less(t, clear, 8.0, "replica %d: within hours", r.Replica)
		t.Logf("slow drain, replica %d: backlog %.0f at the window's end, %.1f an hour, clear in %.2f h", r.Replica, b.Level, b.Slope, clear)
	}
	// The loop's control is healthy throughout: what makes it stuck, not
	// overloaded.
	for _, r := range results["known-loop"] {
		if r.Control && r.Variant == "refused calls use up the limit" {
			assert.Nil(t, r.Trace.FirstUnhealthyH, "the control of replica %d", r.Replica)
		}
	}
}

// tippingLine runs e round by round and returns its table's tipping line.
func tippingLine(t *testing.T, e *Experiment) (TippingLine, *SweepTable) {
	t.Helper()
	var results []Result
	require.NoError(t, RunAll(t.Context(), e, 0, nil, func(r Result) { results = append(results, r) }))
	table, err := Summarize(e, results)
	require.NoError(t, err)
	require.Len(t, table.Sweep.Tipping, 1)
	return table.Sweep.Tipping[0], table.Sweep
}

// TestTippingPointCoversTheTenfoldPoint: along how long the stalls of the
// sustaining loop last, the tipping point found with 10 replicas a point
// and two rounds of refinement has an interval, bounded on both sides,
// that holds the point found with ten times the replicas.
func TestTippingPointCoversTheTenfoldPoint(t *testing.T) {
	if racedetect.On {
		t.Skip("Serial runs only: see internal/racedetect")
	}
	small := fixture(t, "tipping")
	line, s := tippingLine(t, small)
	t.Logf("10 replicas a point: %s", line.Text(s))
	c := line.Crossing
	require.NotNil(t, c)
	require.True(t, c.Found, line.Text(s))
	require.Equal(t, 2, line.Rounds, "both rounds refined the grid")
	require.False(t, math.IsInf(c.Lo, 0) || math.IsInf(c.Hi, 0), "an interval bounded on both sides: %s", line.Text(s))

	big := *small
	sw := *small.Sweep
	tip := *sw.Tipping
	sw.Replicas, tip.Replicas = 10*sw.Replicas, 10*tip.Replicas
	sw.Tipping, big.Sweep = &tip, &sw
	bigLine, bigS := tippingLine(t, &big)
	t.Logf("100 replicas a point: %s", bigLine.Text(bigS))
	require.NotNil(t, bigLine.Crossing)
	require.True(t, bigLine.Crossing.Found)
	assert.True(t, c.Lo < bigLine.Crossing.Estimate && bigLine.Crossing.Estimate <= c.Hi,
		"the point with ten times the replicas, %.3f h, in the interval (%.3f, %.3f] h", bigLine.Crossing.Estimate, c.Lo, c.Hi)
}
