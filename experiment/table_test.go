package experiment

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/compare"
	"vmstorm/metastable"
)

// syntheticExperiment is an experiment whose results the tests below make
// up, replica by replica, to know every pair's difference in advance.
const syntheticExperiment = `name: synthetic
base: broken-default.yaml
replicas: 12
seed: 3
measures: [jobs_delayed, completed, time_to_recover]
recovery:
  removed_by: [fix_cleanup_credentials, restart_janitor]
  within: 10m
variants:
  - name: base
  - name: lower
  - name: same
  - name: never recovers
sweep:
  variant: base
  replicas: 2
  x:
    key: workload.arrival_rate
    values: [6, 12]
`

func parseSynthetic(t *testing.T, text string) *Experiment {
	t.Helper()
	e, err := ParseExperiment("synthetic.yaml", []byte(text), fixtureDir)
	require.NoError(t, err)
	return e
}

func ptr(x float64) *float64 { return &x }

// syntheticResults are a result for every task of e: replica r of "base"
// delays 100+3r jobs, completes 500+r and recovers at 1+0.01r hours;
// "lower" delays 20 to 22 fewer, completes as many and recovers 0.1 h
// sooner; "same" is "base"; "never recovers" is "base" but never
// recovers, censored at 5 h. No trigger is removed (the base has no fix).
func syntheticResults(e *Experiment) []Result {
	var out []Result
	for _, task := range Plan(e) {
		r := Result{Experiment: e.Name, File: Fingerprint(e), Variant: task.Variant, Point: task.Point, Replica: task.Replica, Seed: Seed(task.Seed),
			Ended: "model duration reached", Measures: map[string]*float64{}}
		k := float64(task.Replica)
		delayed, completed, recover := 100+3*k, 500+k, 1+0.01*k
		switch task.Variant {
		case "lower":
			delayed -= 20 + float64(task.Replica%3)
			recover -= 0.1
		case "never recovers":
			r.Measures["time_to_recover"] = nil
			r.Censored = map[string]float64{"time_to_recover": 5}
		}
		r.Measures["jobs_delayed"], r.Measures["completed"] = ptr(delayed), ptr(completed)
		if r.Censored == nil {
			r.Measures["time_to_recover"] = ptr(recover)
		}
		// The base's timeline has no fix: no replica's trigger is
		// removed, and none has a control.
		r.Trace = &metastable.Trace{EndH: 0.5}
		out = append(out, r)
	}
	return out
}

// cellOfTable is the cell of variant and measure.
func cellOfTable(t *testing.T, table *Table, variant, measure string) Cell {
	t.Helper()
	for _, row := range table.Variants {
		if row.Name != variant {
			continue
		}
		for k, m := range table.Measures {
			if m.Name == measure {
				return row.Cells[k]
			}
		}
	}
	t.Fatalf("no cell %s, %s", variant, measure)
	return Cell{}
}

// TestTablePairs: the table's verdicts are the pairs' own, in a family of
// every comparison: a shift the pairs all share is found with an interval
// that holds it, an identical variant has a difference of exactly 0 with
// a zero-width interval, and a variant that never recovers is worse on
// time to recover though its times are all censored.
func TestTablePairs(t *testing.T) {
	e := parseSynthetic(t, syntheticExperiment)
	table, err := Summarize(e, syntheticResults(e))
	require.NoError(t, err)
	assert.Equal(t, Family{Size: 9, Level: compare.Bonferroni(9)}, table.Family)

	lower := cellOfTable(t, table, "lower", "jobs_delayed").Comparison
	require.Empty(t, lower.NoVerdict)
	assert.Equal(t, compare.Verdict{Word: compare.Better}, lower.Verdict, "20 to 22 fewer of 100 to 133: past the 5 %% margin")
	assert.True(t, lower.Diff.Lo >= -22 && lower.Diff.Hi <= -20, "[%v, %v] within the shifts", lower.Diff.Lo, lower.Diff.Hi)
	assert.Equal(t, SignedRankPValue(12), lower.Diff.P, "12 pairs all one way")

	soon := cellOfTable(t, table, "lower", "time_to_recover").Comparison
	assert.Equal(t, compare.Verdict{Word: compare.Better, WithinMargin: true}, soon.Verdict, "0.1 h sooner, inside the 0.25 h floor")
	assert.InDelta(t, -0.1, soon.Diff.Lo, 1e-9)
	assert.InDelta(t, -0.1, soon.Diff.Hi, 1e-9)

	for _, m := range []string{"jobs_delayed", "completed", "time_to_recover"} {
		c := cellOfTable(t, table, "same", m).Comparison
		assert.Equal(t, compare.Paired{Level: c.Diff.Level, P: 1, N: 12, Method: compare.SignedRankExact}, c.Diff, "%s: exactly 0, zero width", m)
		assert.Equal(t, compare.Equivalent, c.Verdict.Word, m)
		assert.Equal(t, "0 [0, 0]", DiffText(c), m)
	}

	never := cellOfTable(t, table, "never recovers", "time_to_recover")
	assert.Equal(t, 12, never.N)
	assert.Equal(t, 12, never.Censored)
	assert.True(t, math.IsInf(never.Median.Estimate, 1), "not reached")
	assert.Equal(t, "not reached [5, ∞]", MedianText(never.Median))
	c := never.Comparison
	require.Empty(t, c.NoVerdict)
	assert.Equal(t, compare.Worse, c.Verdict.Word)
	assert.Equal(t, 12, c.Diff.Bounded)
	assert.True(t, math.IsInf(c.Diff.Hi, 1), "unbounded above")
	assert.Greater(t, c.Diff.Lo, 3.8, "at least 5 - 1.11 h later")
	assert.True(t, strings.HasPrefix(DiffText(c), "≥+"), DiffText(c))

	var text bytes.Buffer
	require.NoError(t, WriteTable(&text, e, table))
	assert.Contains(t, text.String(), "paired difference [99.44% CI]")
	assert.Contains(t, text.String(), "family: 9 comparisons (each variant against base on each measure), Bonferroni: each interval at 99.44%, all 9")
}

// SignedRankPValue is the two-sided p-value of n pairs all one way: 2/2^n.
func SignedRankPValue(n int) float64 { return 2 / math.Pow(2, float64(n)) }

// TestTableNothingFromMissingData: a variant short of its replicas, or
// with none, has no verdict and says why; so has every variant when the
// baseline is short; such a variant's recovery has no share, and the
// family counts only the comparisons with a verdict.
func TestTableNothingFromMissingData(t *testing.T) {
	e := parseSynthetic(t, syntheticExperiment)
	all := syntheticResults(e)
	drop := func(keep func(Result) bool) []Result {
		return slices.DeleteFunc(slices.Clone(all), func(r Result) bool { return !keep(r) })
	}
	t.Run("a variant incomplete, one not run", func(t *testing.T) {
		rs := drop(func(r Result) bool {
			return !(r.Variant == "lower" && r.Replica >= 7) && r.Variant != "same"
		})
		table, err := Summarize(e, rs)
		require.NoError(t, err)
		for _, m := range table.Measures {
			assert.Equal(t, "incomplete (7 of 12)", cellOfTable(t, table, "lower", m.Name).Comparison.Text())
			assert.Equal(t, "not run", cellOfTable(t, table, "same", m.Name).Comparison.Text())
			assert.Empty(t, cellOfTable(t, table, "never recovers", m.Name).Comparison.NoVerdict)
		}
		assert.Equal(t, Family{Size: 3, Level: compare.Bonferroni(3), WithoutVerdict: 6}, table.Family)
		row := table.Variants[1]
		assert.Nil(t, row.Recovery.Share(NotRemoved), "no share of an incomplete variant")
		assert.Equal(t, "incomplete (7 of 12)", RecoveryText(row.Recovery))
		assert.Equal(t, "not run", RecoveryText(table.Variants[2].Recovery))
		assert.Equal(t, "not removed 12/12 [0.74, 1]", RecoveryText(table.Variants[0].Recovery))
	})
	t.Run("the baseline incomplete", func(t *testing.T) {
		table, err := Summarize(e, drop(func(r Result) bool { return !(r.Variant == "base" && r.Point == nil && r.Replica == 0) }))
		require.NoError(t, err)
		for _, row := range table.Variants[1:] {
			for _, c := range row.Cells {
				assert.Equal(t, "baseline incomplete (11 of 12)", c.Comparison.Text())
			}
		}
		assert.Equal(t, 0, table.Family.Size)
		var text bytes.Buffer
		require.NoError(t, WriteTable(&text, e, table))
		assert.Contains(t, text.String(), "family: no comparison has a verdict; 9 without a verdict")
		assert.Contains(t, text.String(), "  base                          ")
	})
	t.Run("a pair with no figure on a side", func(t *testing.T) {
		rs := slices.Clone(all)
		for i, r := range rs {
			if r.Variant == "lower" && r.Replica == 4 {
				rs[i].Measures = map[string]*float64{"jobs_delayed": nil, "completed": r.Measures["completed"], "time_to_recover": r.Measures["time_to_recover"]}
			}
		}
		table, err := Summarize(e, rs)
		require.NoError(t, err)
		c := cellOfTable(t, table, "lower", "jobs_delayed")
		assert.Equal(t, "no figure in 1 of 12 pairs", c.Comparison.Text())
		assert.Equal(t, 11, c.N)
		assert.Equal(t, 8, table.Family.Size)
	})
}

// TestMargins: the default margin is 5 % of the baseline's median, at
// least the unit's floor; a file's absolute margin is taken as it is, its
// percentage of the baseline's median at least the floor too.
func TestMargins(t *testing.T) {
	e := parseSynthetic(t, syntheticExperiment)
	rs := syntheticResults(e)
	table, err := Summarize(e, rs)
	require.NoError(t, err)
	// base: jobs_delayed median 116.5 (5 % is 5.8, below the floor of 10),
	// completed 505.5 (25.3), time_to_recover 1.055 h (0.05 h: the floor,
	// 0.25 h).
	assertMargins(t, []Margin{
		{10, "the floor for jobs"},
		{0.05 * 505.5, "5 % of base's median"},
		{0.25, "the floor for h"},
	}, table.Margins)

	set := parseSynthetic(t, strings.Replace(syntheticExperiment, "measures: [jobs_delayed, completed, time_to_recover]\n",
		"measures: [jobs_delayed, completed, time_to_recover]\nmargins: {jobs_delayed: 3, completed: 1%, time_to_recover: 50%}\n", 1))
	table, err = Summarize(set, syntheticResults(set))
	require.NoError(t, err)
	assertMargins(t, []Margin{
		{3, "the file's"},
		{10, "the floor for jobs"},
		{0.5 * 1.055, "the file's 50 % of base's median"},
	}, table.Margins)
	lower := cellOfTable(t, table, "lower", "time_to_recover").Comparison
	assert.Equal(t, compare.Verdict{Word: compare.Better, WithinMargin: true}, lower.Verdict)
	jobs := cellOfTable(t, table, "lower", "jobs_delayed").Comparison
	assert.Equal(t, compare.Verdict{Word: compare.Better}, jobs.Verdict, "past the file's margin of 3")
}

func assertMargins(t *testing.T, want, got []Margin) {
	t.Helper()
	require.Len(t, got, len(want))
	for i := range want {
		assert.InDelta(t, want[i].Value, got[i].Value, 1e-12, "margin %d", i)
		assert.Equal(t, want[i].Rule, got[i].Rule, "margin %d", i)
	}
}

// cellWith is a cell of asked replicas, of which the given counts of
// each outcome were judged.
func cellWith(asked int, counts map[Outcome]int) RecoveryCell {
	var rs []Result
	for _, o := range ReplicaOutcomes {
		for range counts[o] {
			rs = append(rs, Result{Outcome: string(o)})
		}
	}
	return recoveryCell(rs, asked)
}

// TestRecoveryOutcome: a cell shows the outcome most of its replicas had,
// a tie going to the worse; or that it could not be judged.
func TestRecoveryOutcome(t *testing.T) {
	tests := []struct {
		name string
		cell RecoveryCell
		want Outcome
	}{
		{"none ran", cellWith(5, nil), NotRun},
		{"some ran", cellWith(5, map[Outcome]int{Recovered: 4}), Incomplete},
		{"no removal", cellWith(5, map[Outcome]int{NotRemoved: 5}), NotRemoved},
		{"all recovered", cellWith(5, map[Outcome]int{Recovered: 5}), Recovered},
		{"most recovered, one stuck", cellWith(5, map[Outcome]int{Recovered: 4, Stuck: 1}), Recovered},
		{"most draining", cellWith(5, map[Outcome]int{Recovered: 2, Draining: 3}), Draining},
		{"a tie goes to the worse", cellWith(4, map[Outcome]int{Stuck: 2, Overloaded: 2}), Stuck},
		{"overloaded", cellWith(5, map[Outcome]int{Overloaded: 3, Stuck: 2}), Overloaded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.cell.Outcome())
		})
	}
	// Every outcome is documented once, in the legend's list.
	var listed []Outcome
	for _, o := range Outcomes {
		assert.NotEmpty(t, o.Means)
		listed = append(listed, o.Outcome)
	}
	assert.ElementsMatch(t, []Outcome{Recovered, Draining, Stuck, Overloaded, NotRemoved, Incomplete, NotRun}, listed)
}

// TestRecoveryCellCounts: a cell counts each outcome, and gives each its
// share of the replicas judged with the exact interval, and the median
// times of the recovered and the draining; none when it is incomplete.
func TestRecoveryCellCounts(t *testing.T) {
	rs := []Result{
		{Outcome: string(Recovered), Verdict: &ReplicaVerdict{HealthyH: ptr(1)}},
		{Outcome: string(Recovered), Verdict: &ReplicaVerdict{HealthyH: ptr(3)}},
		{Outcome: string(Draining), Verdict: &ReplicaVerdict{ClearH: ptr(20)}},
		{Outcome: string(Stuck)},
	}
	c := recoveryCell(rs, 4)
	assert.Equal(t, [5]int{2, 1, 1, 0, 0}, c.Counts)
	for i, k := range c.Counts {
		want, err := compare.Share(k, 4)
		require.NoError(t, err)
		assert.Equal(t, want, *c.Shares[i])
	}
	assert.Equal(t, 2.0, c.Time.Estimate)
	assert.Equal(t, 20.0, c.Clear.Estimate)
	assert.Equal(t, "recovered 2/4 [0.068, 0.93], draining 1, stuck 1", RecoveryText(c))

	short := recoveryCell(rs[:3], 4)
	assert.Nil(t, short.Shares[0])
	assert.Nil(t, short.Time)
	assert.Equal(t, "incomplete (3 of 4)", RecoveryText(short))
}

// TestSweepVerdict: the sweep's line speaks only of the points that ran
// every replica, and says how many did not.
func TestSweepVerdict(t *testing.T) {
	ok := cellWith(2, map[Outcome]int{Recovered: 2})
	stuck := cellWith(2, map[Outcome]int{Recovered: 1, Stuck: 1})
	over := cellWith(2, map[Outcome]int{Overloaded: 2})
	half := cellWith(2, map[Outcome]int{Stuck: 1})
	none := cellWith(2, nil)
	axes := func(cells [][]RecoveryCell) *SweepTable {
		return &SweepTable{Variant: "v", X: Axis{Key: "x", Values: []string{"1", "2"}}, Y: Axis{Key: "y", Values: []string{"a", "b"}}, Cells: cells}
	}
	tests := []struct {
		name  string
		cells [][]RecoveryCell
		want  string
	}{
		{"none stuck", [][]RecoveryCell{{ok, ok}, {ok, over}},
			"stuck (metastable): nowhere in this grid"},
		{"one stuck", [][]RecoveryCell{{ok, stuck}, {ok, over}},
			"stuck (metastable: most replicas stuck, their controls healthy) at: x 1, y b"},
		{"a stuck replica in a point that did not finish is not judged", [][]RecoveryCell{{ok, half}, {none, over}},
			"stuck (metastable): nowhere among the 2 of 4 points that ran (1 not run, 1 incomplete: not judged)"},
		{"stuck, and points not run", [][]RecoveryCell{{stuck, none}, {none, ok}},
			"stuck (metastable: most replicas stuck, their controls healthy) at: x 1, y a (2 not run: not judged)"},
		{"nothing ran", [][]RecoveryCell{{none, none}, {half, none}},
			"stuck: not judged; no point of the grid ran all its replicas (3 not run, 1 incomplete)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, axes(tt.cells).Verdict())
		})
	}
}

// TestResultsKeepTheirCensoring: a result's censoring times survive the
// results file, and a censoring time for a measure with a figure is not a
// result vmstorm writes.
func TestResultsKeepTheirCensoring(t *testing.T) {
	e := parseSynthetic(t, syntheticExperiment)
	rs := syntheticResults(e)
	var buf bytes.Buffer
	for _, r := range rs {
		require.NoError(t, WriteJSON(&buf, r))
	}
	assert.Contains(t, buf.String(), `"censored_h":{"time_to_recover":5}`)
	back, err := ReadJSON("r.jsonl", &buf)
	require.NoError(t, err)
	assert.Equal(t, rs, back)
	require.NoError(t, Check(e, back))

	bad := slices.Clone(rs)
	bad[0].Censored = map[string]float64{"jobs_delayed": 3}
	assert.ErrorContains(t, Check(e, bad), "censored_h gives jobs_delayed, which has a figure")
}

// TestMapLettersTellEveryOutcomeApart: each outcome has its own letter in
// a sweep's map of letters, in either case.
func TestMapLettersTellEveryOutcomeApart(t *testing.T) {
	seen := map[string]Outcome{}
	for _, o := range Outcomes {
		l, ok := mapLetters[o.Outcome]
		require.True(t, ok, "no letter for %q", o.Outcome)
		for _, form := range []string{l, strings.ToLower(l)} {
			if prev, dup := seen[form]; dup && prev != o.Outcome {
				t.Errorf("%q and %q share %q", prev, o.Outcome, form)
			}
			seen[form] = o.Outcome
		}
	}
}

// TestSweepGridTooWideIsAMap: a grid that fits is written out; one wider
// than maxGridWidth is a map of letters, a point a letter, in lower case
// where the point's replicas were not unanimous, its columns numbered and
// their values listed, no line of it wider than the table's.
func TestSweepGridTooWideIsAMap(t *testing.T) {
	all := cellWith(2, map[Outcome]int{Recovered: 2})
	most := cellWith(3, map[Outcome]int{Draining: 2, Recovered: 1})
	over := cellWith(2, map[Outcome]int{Overloaded: 2})
	notRun := cellWith(2, nil)
	short := cellWith(2, map[Outcome]int{Stuck: 1})
	grid := func(ny int) *SweepTable {
		ys := make([]string, ny)
		for j := range ys {
			ys[j] = fmt.Sprintf("2015-08-04T%02d:00:00Z", j)
		}
		cells := [][]RecoveryCell{make([]RecoveryCell, ny), make([]RecoveryCell, ny)}
		for j := range ny {
			cells[0][j], cells[1][j] = all, over
		}
		cells[0][1], cells[1][0], cells[1][ny-1] = most, notRun, short
		return &SweepTable{Variant: "v", X: Axis{Key: "arrival_rate", Values: []string{"2", "4.4"}}, Y: Axis{Key: "fixed_at", Values: ys}, Cells: cells}
	}
	assert.LessOrEqual(t, widest(sweepGrid(grid(2))), maxGridWidth, "two columns are written out")

	wide := grid(12)
	width := widest(sweepGrid(wide))
	require.Greater(t, width, maxGridWidth)
	lines := compactSweep(wide, width)
	assert.Contains(t, strings.Join(lines, " "), fmt.Sprintf("would be %d columns wide", width))
	at := slices.Index(lines, "arrival_rate down, fixed_at across (numbered)")
	require.GreaterOrEqual(t, at, 0, "%q", lines)
	assert.Equal(t, []string{
		"              1  2  3  4  5  6  7  8  9 10 11 12",
		"2             R  d  R  R  R  R  R  R  R  R  R  R",
		"4.4           .  O  O  O  O  O  O  O  O  O  O  ?",
	}, lines[at+1:at+4])
	key := strings.Join(lines[at+4:], " ")
	assert.True(t, strings.HasPrefix(key, "fixed_at: 1 2015-08-04T00:00:00Z, 2 2015-08-04T01:00:00Z"), key)
	assert.True(t, strings.HasSuffix(key, "12 2015-08-04T11:00:00Z"), key)
	for _, l := range lines {
		assert.LessOrEqual(t, len(l), tableWidth, "%q", l)
	}
}
