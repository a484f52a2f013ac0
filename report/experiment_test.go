package report_test

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/compare"
	"vmstorm/experiment"
	"vmstorm/internal/format"
	"vmstorm/internal/racedetect"
	"vmstorm/report"
)

// tinyBase is the base scenario of the tests' experiment: the default run,
// two model hours on the incident's calendar, its janitor broken from the
// start, where a run takes a few milliseconds.
const tinyBase = `name: tiny
description: the default run, its janitor broken from the start
epoch: 2015-08-04T12:00:00Z
duration: 2h
seed: 3
timeline:
  - at: 0s
    action: rotate_cleanup_password
`

// tinyExperiment compares the janitor fixed at 30 minutes with it never
// fixed (a variant whose name would be markup if the page did not escape
// it) and with the breaker, and sweeps the arrival rate against the time
// of the fix. 10 replicas are the fewest whose pairs, all one way, reach
// a verdict in its family of up to 20 comparisons (2/2^10 < 0.05/20).
const tinyExperiment = `name: tiny-what-if
description: a what-if for the <b>report's</b> tests
base: base.yaml
replicas: 10
seed: 7
recovery:
  removed_by: [fix_cleanup_credentials, restart_janitor]
  within: 1h
timeline:
  - at: 0s
    action: rotate_cleanup_password
  - at: 30m
    action: fix_cleanup_credentials
  - at: 30m
    action: restart_janitor
variants:
  - name: fix
  - name: never fixed <script>alert(1)</script>
    drop: [fix_cleanup_credentials, restart_janitor]
  - name: breaker
    set: {mitigations: {breaker: true}}
sweep:
  variant: fix
  replicas: 2
  x:
    key: workload.arrival_rate
    values: [2, 10, 20]
  y:
    key: recovery.trigger_removed
    values: [10m, 80m]
`

// parseExperiment parses an experiment file over tinyBase.
func parseExperiment(t *testing.T, src string) *experiment.Experiment {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(tinyBase), 0o644))
	e, err := experiment.ParseExperiment("tiny.yaml", []byte(src), dir)
	require.NoError(t, err)
	return e
}

// experimentRun is tinyExperiment run, its table and its results.
type experimentRun struct {
	e       *experiment.Experiment
	table   *experiment.Table
	results []experiment.Result
}

var (
	tinyOnce sync.Once
	tinyRun  experimentRun
)

// runTiny runs tinyExperiment once for the tests that read its page. Its
// runs are Serial replays: under the race detector they only take time.
func runTiny(t *testing.T) experimentRun {
	t.Helper()
	if racedetect.On {
		t.Skip("Serial replays of whole runs: the race detector sees nothing in them (see internal/racedetect)")
	}
	tinyOnce.Do(func() {
		e := parseExperiment(t, tinyExperiment)
		var results []experiment.Result
		require.NoError(t, experiment.Run(t.Context(), e, experiment.Plan(e), 0, func(r experiment.Result) { results = append(results, r) }))
		tb, err := experiment.Summarize(e, results)
		require.NoError(t, err)
		tinyRun = experimentRun{e, tb, results}
	})
	require.NotNil(t, tinyRun.e, "the experiment did not run")
	return tinyRun
}

// withoutSweep is the experiment without its sweep: its variants' results
// and their table.
func (r experimentRun) withoutSweep(t *testing.T) experimentRun {
	e := *r.e
	e.Sweep = nil
	var rs []experiment.Result
	for _, x := range r.results {
		if x.Point == nil {
			rs = append(rs, x)
		}
	}
	tb, err := experiment.Summarize(&e, rs)
	require.NoError(t, err)
	return experimentRun{&e, tb, rs}
}

// oneAxis is the experiment with a sweep of its x axis alone: the
// results at the first y value, as if the file gave no y.
func (r experimentRun) oneAxis(t *testing.T) experimentRun {
	e := *r.e
	sw := *e.Sweep
	sw.Y = experiment.Axis{}
	e.Sweep = &sw
	var rs []experiment.Result
	for _, x := range r.results {
		switch {
		case x.Point == nil:
			rs = append(rs, x)
		case x.Point[1] == 0:
			x.Point = x.Point[:1]
			rs = append(rs, x)
		}
	}
	tb, err := experiment.Summarize(&e, rs)
	require.NoError(t, err)
	return experimentRun{&e, tb, rs}
}

func (r experimentRun) page(t *testing.T) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, report.WriteExperimentHTML(&buf, pageOf(t, r.e, r.table, r.results)))
	return buf.String()
}

// pageOf is the page of e, its table tb and its results, as the command
// makes it (experiment.NewPage).
func pageOf(t *testing.T, e *experiment.Experiment, tb *experiment.Table, results []experiment.Result) *experiment.Page {
	t.Helper()
	pg, err := experiment.NewPage(e, tb, results)
	require.NoError(t, err)
	return pg
}

// expPageData is the page's JSON, as a reader decodes it.
type expPageData struct {
	Experiment string `json:"experiment"`
	Epoch      string `json:"epoch"`
	Band       struct {
		Lo, Hi float64
	} `json:"band"`
	Measures []struct {
		Name     string `json:"name"`
		Censored bool   `json:"censored"`
	} `json:"measures"`
	Variants []struct {
		Name     string `json:"name"`
		Replicas int    `json:"replicas"`
		Cells    []struct {
			Measure string       `json:"measure"`
			N       int          `json:"n"`
			Median  *expInterval `json:"median"`
		} `json:"cells"`
		Recovery expRecovery `json:"recovery"`
		Curves   *struct {
			Replicas int       `json:"replicas"`
			ModelS   []float64 `json:"model_s"`
			VMs      expCurve  `json:"vms"`
			Backlog  expCurve  `json:"backlog"`
			Requeues expCurve  `json:"requeues_per_min"`
		} `json:"curves"`
	} `json:"variants"`
	Sweep *struct {
		Variant string          `json:"variant"`
		Cells   [][]expRecovery `json:"cells"`
		Verdict string          `json:"verdict"`
	} `json:"sweep"`
	Verdicts []map[string]any `json:"verdicts"`
}

// expInterval is an interval of the page's JSON: null for an infinite
// figure (a median not reached, an unbounded interval).
type expInterval struct {
	Estimate, Lo, Hi *float64
}

type expRecovery struct {
	Outcome  string `json:"outcome"`
	Replicas int    `json:"replicas"`
	Outcomes struct {
		Recovered  expOutcome `json:"recovered"`
		Draining   expOutcome `json:"draining"`
		Stuck      expOutcome `json:"stuck"`
		Overloaded expOutcome `json:"overloaded"`
		NotRemoved expOutcome `json:"not_removed"`
	} `json:"outcomes"`
	TimeH  *expInterval `json:"time_h"`
	ClearH *expInterval `json:"clear_h"`
}

type expOutcome struct {
	Count int          `json:"count"`
	Share *expInterval `json:"share"`
}

type expCurve struct {
	Median, Lo, Hi []float64
}

func expJSON(t *testing.T, page string) expPageData {
	t.Helper()
	return embeddedJSON[expPageData](t, page, report.ExperimentDataID)
}

// median is the conventional sample median, computed here to check the
// page's.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	return (s[(n-1)/2] + s[n/2]) / 2
}

// curveOf is one curve of a result, by its name in the page's JSON.
func curveOf(c experiment.Curves, name string) []float64 {
	switch name {
	case "vms":
		return c.VMs
	case "backlog":
		return c.Backlog
	}
	return c.Requeues
}

// variantResults are the results of a variant's replicas (no sweep point).
func variantResults(rs []experiment.Result, name string) []experiment.Result {
	var out []experiment.Result
	for _, r := range rs {
		if !r.Swept() && !r.Control && r.Variant == name {
			out = append(out, r)
		}
	}
	return out
}

func TestExperimentPageNamesEveryVariantOnEveryPart(t *testing.T) {
	r := runTiny(t)
	page := r.page(t)
	for _, v := range r.e.Variants {
		name := html.EscapeString(v.Name)
		assert.Contains(t, page, `</span>`+name+` <span class="n">(10 replicas)</span>`, "the legend")
		// Each measure's table and the metastability table.
		assert.Equal(t, len(r.e.Measures)+1, strings.Count(page, "<td>"+name+"</td>"), "variant %q", v.Name)
	}
	assert.Contains(t, page, "<h1>vmstorm experiment: tiny-what-if</h1>")
	assert.Contains(t, page, "base tiny")
	assert.Contains(t, page, html.EscapeString("a what-if for the <b>report's</b> tests"))
	for _, id := range []string{"chart-exp-vms", "chart-exp-backlog", "chart-exp-requeues"} {
		assert.Contains(t, page, `<figure id="`+id+`">`)
	}
	// The base has an epoch: the charts' time axis is the calendar's.
	assert.Equal(t, 3, strings.Count(page, ">time (UTC), 2015-08-04</text>"))
	// Self-contained: nothing to load.
	for _, ref := range []string{"src=", "href=", "url(", "@import"} {
		assert.NotContains(t, page, ref)
	}
}

var (
	tableBlock = regexp.MustCompile(`(?s)<table id="([^"]+)">(.*?)</table>`)
	rowBlock   = regexp.MustCompile(`(?s)<tr>(.*?)</tr>`)
	cellBlock  = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	noteSpan   = regexp.MustCompile(`<span class="note">[^<]*</span>`)
	anyTag     = regexp.MustCompile(`<[^>]*>`)
)

// pageTables are the page's tables by id, each row's cells as text (the
// header row left out); a cell's note is in notes, by the same place.
func pageTables(page string) (cells, notes map[string][][]string) {
	cells, notes = map[string][][]string{}, map[string][][]string{}
	for _, tb := range tableBlock.FindAllStringSubmatch(page, -1) {
		for _, row := range rowBlock.FindAllStringSubmatch(tb[2], -1) {
			var cs, ns []string
			for _, c := range cellBlock.FindAllStringSubmatch(row[1], -1) {
				note := noteSpan.FindString(c[1])
				ns = append(ns, html.UnescapeString(anyTag.ReplaceAllString(note, "")))
				cs = append(cs, html.UnescapeString(anyTag.ReplaceAllString(noteSpan.ReplaceAllString(c[1], ""), "")))
			}
			if cs != nil {
				cells[tb[1]] = append(cells[tb[1]], cs)
				notes[tb[1]] = append(notes[tb[1]], ns)
			}
		}
	}
	return cells, notes
}

// noted says whether a median's interval should carry a note: it is not
// a 95 % one.
func noted(iv compare.Interval) bool { return iv.Method == compare.SampleRange }

// diffNoted says whether a difference should carry a note: its interval
// is not the exact one of exact differences.
func diffNoted(c *experiment.Comparison) bool {
	return c != nil && c.NoVerdict == "" && (c.Diff.Method != compare.SignedRankExact || c.Diff.Bounded > 0)
}

func TestExperimentPageTablesHoldTheTablesNumbers(t *testing.T) {
	r := runTiny(t)
	cells, notes := pageTables(r.page(t))
	for k, m := range r.table.Measures {
		t.Run(m.Name, func(t *testing.T) {
			id := "measure-" + m.Name
			require.Len(t, cells[id], len(r.table.Variants))
			for i, v := range r.table.Variants {
				c := v.Cells[k]
				want := []string{v.Name, "none", "", v.Missing(), strconv.Itoa(c.N)}
				wantNotes := []bool{false, false, false, false, false}
				if m.Censored() {
					want, wantNotes = append(want, strconv.Itoa(c.Censored)), append(wantNotes, false)
				}
				if c.N > 0 {
					want[1], wantNotes[1] = experiment.MedianText(c.Median), noted(c.Median)
				}
				if c.Comparison != nil {
					want[2], want[3], wantNotes[2] = experiment.DiffText(c.Comparison), c.Comparison.Text(), diffNoted(c.Comparison)
				}
				assert.Equal(t, want, cells[id][i], "variant %q", v.Name)
				for j, n := range wantNotes {
					assert.Equal(t, n, notes[id][i][j] != "", "variant %q, column %d: a note iff the interval is not the plain one", v.Name, j)
				}
			}
		})
	}
	t.Run("recovery", func(t *testing.T) {
		require.Len(t, cells["recovery"], len(r.table.Variants))
		for i, v := range r.table.Variants {
			want := append([]string{v.Name}, experiment.RecoveryColumns(v.Recovery)...)
			assert.Equal(t, want, cells["recovery"][i], "variant %q", v.Name)
			// The five counts, each with its share, in the outcomes' order.
			for j, o := range experiment.ReplicaOutcomes {
				assert.Equal(t, experiment.CountText(v.Recovery.Count(o), v.Recovery.Share(o)), cells["recovery"][i][2+j], "variant %q, %s", v.Name, o)
			}
		}
	})
	// The table must show what the tests say it does: the variants differ,
	// and one never has its trigger removed.
	var verdicts []string
	for _, v := range r.table.Variants[1:] {
		for _, c := range v.Cells {
			verdicts = append(verdicts, c.Comparison.Verdict.Word)
		}
	}
	assert.Contains(t, verdicts, compare.Worse)
	assert.Equal(t, experiment.NotRemoved, r.table.Variants[1].Recovery.Outcome(), "never fixed: its trigger is never removed")
}

func TestExperimentPageHeatMapOnlyForASweep(t *testing.T) {
	r := runTiny(t)
	heat := regexp.MustCompile(`(?s)<figure id="heatmap">(.*?)</figure>`)
	tests := []struct {
		name string
		run  experimentRun
	}{
		{"with a sweep", r},
		{"with a sweep of one axis", r.oneAxis(t)},
		{"without", r.withoutSweep(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			page := tt.run.page(t)
			m := heat.FindAllStringSubmatch(page, -1)
			if tt.run.e.Sweep == nil {
				assert.Empty(t, m)
				assert.NotContains(t, page, `id="sweep"`)
				assert.Nil(t, expJSON(t, page).Sweep)
				return
			}
			require.Len(t, m, 1)
			svg := m[0][1]
			s := tt.run.table.Sweep
			for _, v := range append(slices.Clone(s.X.Values), s.Y.Values...) {
				assert.Contains(t, svg, ">"+v+"</text>", "an axis value")
			}
			assert.Contains(t, svg, ">"+s.X.Key+"</text>")
			if s.Y.Key != "" {
				assert.Contains(t, svg, ">"+s.Y.Key+"</text>")
			}
			// Every cell prints its outcome with its count, and its
			// share's interval and the other outcomes' counts: the
			// table's counts.
			mains, details := map[string]int{}, map[string]int{}
			outcomes := map[experiment.Outcome]bool{}
			for _, col := range s.Cells {
				for _, c := range col {
					o := c.Outcome()
					require.True(t, o.Judged(), "every point of this sweep ran")
					outcomes[o] = true
					iv := c.Share(o)
					mains[fmt.Sprintf("%s %d/%d", experiment.OutcomeName(o), c.Count(o), c.Replicas)]++
					details[fmt.Sprintf("[%s, %s]", format.Figure(iv.Lo), format.Figure(iv.Hi))]++
					var others []string
					for _, other := range experiment.ReplicaOutcomes {
						if other != o && c.Count(other) > 0 {
							others = append(others, fmt.Sprintf("%s %d", experiment.OutcomeName(other), c.Count(other)))
						}
					}
					if len(others) > 0 {
						details[strings.Join(others, ", ")]++
					}
					assert.True(t, strings.HasPrefix(experiment.RecoveryText(c), fmt.Sprintf("%s %d/%d [", experiment.OutcomeName(o), c.Count(o), c.Replicas)), "the text table's cell")
				}
			}
			for text, n := range mains {
				assert.Equal(t, n, strings.Count(svg, ">"+text+"</text>"), "cells with %s", text)
			}
			for text, n := range details {
				assert.Equal(t, n, strings.Count(svg, ">"+text+"</text>"), "cells with %s", text)
			}
			if s.Y.Key != "" {
				assert.Greater(t, len(outcomes), 1, "the sweep should find points of more than one outcome")
			}
			// The legend names every outcome once, and the page prints the
			// sweep's verdict line.
			for _, o := range experiment.Outcomes {
				assert.Equal(t, 1, strings.Count(svg, ">"+experiment.OutcomeName(o.Outcome)+"</text>"), "the legend's %q", o.Outcome)
			}
			assert.Contains(t, page, `<p id="sweep-verdict">`+html.EscapeString(s.Verdict())+`</p>`)
			// And the JSON has the same grid.
			d := expJSON(t, page)
			require.NotNil(t, d.Sweep)
			assert.Equal(t, s.Verdict(), d.Sweep.Verdict)
			require.Len(t, d.Sweep.Cells, len(s.Cells))
			for x, col := range s.Cells {
				for y, c := range col {
					got := d.Sweep.Cells[x][y]
					assert.Equal(t, string(c.Outcome()), got.Outcome)
					for o, rec := range map[experiment.Outcome]expOutcome{experiment.Recovered: got.Outcomes.Recovered, experiment.Draining: got.Outcomes.Draining,
						experiment.Stuck: got.Outcomes.Stuck, experiment.Overloaded: got.Outcomes.Overloaded, experiment.NotRemoved: got.Outcomes.NotRemoved} {
						assert.Equal(t, c.Count(o), rec.Count, "point %v, %s", []int{x, y}, o)
						assert.Equal(t, c.Share(o).Estimate, *rec.Share.Estimate)
					}
				}
			}
		})
	}
}

func TestExperimentPageEscapesTheFileAndTheNames(t *testing.T) {
	r := runTiny(t)
	page := r.page(t)
	assert.Contains(t, string(r.e.Source), "<script>alert(1)</script>", "the file should hold markup to escape")
	assert.NotContains(t, page, "<script>alert")
	assert.NotContains(t, page, "<b>report")
	assert.Equal(t, 1, strings.Count(page, "<script"), "the one script element is the data's")
	src := regexp.MustCompile(`(?s)<pre id="source">(.*?)</pre>`).FindStringSubmatch(page)
	require.NotNil(t, src)
	assert.Equal(t, string(r.e.Source), html.UnescapeString(src[1]), "the file's text, whole")
}

func TestExperimentPageJSONMediansAreTheResults(t *testing.T) {
	r := runTiny(t)
	page := r.page(t)
	d := expJSON(t, page)
	assert.Equal(t, "tiny-what-if", d.Experiment)
	assert.Contains(t, page, fmt.Sprintf(`"seed":"%d"`, r.e.Seed), "the seed as a string, which every JSON reader keeps exactly")
	assert.Equal(t, "2015-08-04T12:00:00Z", d.Epoch)
	assert.Equal(t, 0.1, d.Band.Lo)
	assert.Equal(t, 0.9, d.Band.Hi)
	require.Len(t, d.Variants, len(r.e.Variants))
	for i, v := range d.Variants {
		require.Equal(t, r.e.Variants[i].Name, v.Name)
		rs := variantResults(r.results, v.Name)
		require.Len(t, rs, r.e.Replicas)
		assert.Equal(t, len(rs), v.Replicas)
		for k, m := range d.Measures {
			// A figure, or for a censored measure a censoring time: the
			// cell counts both, and its median is the Kaplan-Meier median,
			// the sample median when none is censored.
			var xs []float64
			var times []compare.Censorable
			for _, x := range rs {
				if p := x.Measures[m.Name]; p != nil {
					xs = append(xs, *p)
					times = append(times, compare.Censorable{At: *p})
				} else if c, ok := x.Censored[m.Name]; ok {
					require.True(t, m.Censored, "%s: a censoring time for a measure that is never censored", m.Name)
					times = append(times, compare.Censorable{At: c, Censored: true})
				}
			}
			c := v.Cells[k]
			assert.Equal(t, m.Name, c.Measure)
			assert.Equal(t, len(times), c.N, "%s, %s", v.Name, m.Name)
			if len(times) == 0 {
				assert.Nil(t, c.Median)
				continue
			}
			require.NotNil(t, c.Median)
			if m.Censored {
				km, err := compare.SurvivalMedian(times)
				require.NoError(t, err)
				if math.IsInf(km.Estimate, 1) {
					assert.Nil(t, c.Median.Estimate, "%s, %s: not reached, null", v.Name, m.Name)
				} else {
					require.NotNil(t, c.Median.Estimate)
					assert.Equal(t, km.Estimate, *c.Median.Estimate, "%s, %s", v.Name, m.Name)
				}
				if len(xs) == len(times) {
					assert.Equal(t, median(xs), km.Estimate, "%s, %s: with none censored, the sample median", v.Name, m.Name)
				}
				continue
			}
			require.NotNil(t, c.Median.Estimate)
			assert.Equal(t, median(xs), *c.Median.Estimate, "%s, %s", v.Name, m.Name)
		}
		require.NotNil(t, v.Curves)
		assert.Equal(t, len(rs), v.Curves.Replicas)
		require.Len(t, v.Curves.ModelS, experiment.CurvePoints)
		assert.InDelta(t, r.e.Variants[i].Config.Duration.Seconds(), v.Curves.ModelS[len(v.Curves.ModelS)-1], 1e-6, "the curves end with the run")
		for name, c := range map[string]expCurve{"vms": v.Curves.VMs, "backlog": v.Curves.Backlog, "requeues": v.Curves.Requeues} {
			require.Len(t, c.Median, experiment.CurvePoints)
			for k := range c.Median {
				xs := make([]float64, len(rs))
				for j, x := range rs {
					xs[j] = curveOf(x.Curves, name)[k]
				}
				require.Equal(t, median(xs), c.Median[k], "%s, %s, point %d", v.Name, name, k)
			}
		}
	}
}

func TestExperimentPageBandsHoldTheirMedians(t *testing.T) {
	r := runTiny(t)
	d := expJSON(t, r.page(t))
	wide := 0
	for _, v := range d.Variants {
		rs := variantResults(r.results, v.Name)
		for name, c := range map[string]expCurve{"vms": v.Curves.VMs, "backlog": v.Curves.Backlog, "requeues": v.Curves.Requeues} {
			require.Len(t, c.Lo, len(c.Median))
			require.Len(t, c.Hi, len(c.Median))
			for k, m := range c.Median {
				xs := make([]float64, len(rs))
				for j, x := range rs {
					xs[j] = curveOf(x.Curves, name)[k]
				}
				assert.True(t, c.Lo[k] <= m && m <= c.Hi[k], "%s, %s, point %d: median %v outside the band [%v, %v]", v.Name, name, k, m, c.Lo[k], c.Hi[k])
				assert.True(t, slices.Min(xs) <= c.Lo[k] && c.Hi[k] <= slices.Max(xs), "%s, %s, point %d: the band is within the replicas", v.Name, name, k)
				if c.Lo[k] < c.Hi[k] {
					wide++
				}
			}
		}
	}
	assert.Positive(t, wide, "replicas differ somewhere: some band must have a width")
	// And the page says which band it draws.
	page := r.page(t)
	assert.Contains(t, page, "its shaded band, the 10th to 90th percentile across the replicas")
	assert.Equal(t, 3, strings.Count(page, "medians, 10th–90th percentile bands</text>"), "each chart's title")
}

func TestExperimentPageIsTheSameForResultsInAnyOrder(t *testing.T) {
	r := runTiny(t)
	want := r.page(t)
	shuffled := func(seed uint64) []experiment.Result {
		rs := slices.Clone(r.results)
		rand.New(rand.NewPCG(seed, 0)).Shuffle(len(rs), func(i, j int) { rs[i], rs[j] = rs[j], rs[i] })
		return rs
	}
	reversed := slices.Clone(r.results)
	slices.Reverse(reversed)
	tests := []struct {
		name    string
		results []experiment.Result
	}{
		{"reversed", reversed},
		{"shuffled 1", shuffled(1)},
		{"shuffled 2", shuffled(2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.NotEqual(t, r.results, tt.results)
			// The table is summarized from the same results in their order.
			tb, err := experiment.Summarize(r.e, tt.results)
			require.NoError(t, err)
			got := experimentRun{r.e, tb, tt.results}.page(t)
			assert.True(t, want == got, "the page differs for results in another order")
		})
	}
}

// TestExperimentPageWithoutResults draws the page of an experiment before
// any replica has run (a shard that got none of a variant's): every
// variant is there, with no curves.
func TestExperimentPageWithoutResults(t *testing.T) {
	e := parseExperiment(t, tinyExperiment)
	tb, err := experiment.Summarize(e, nil)
	require.NoError(t, err)
	page := experimentRun{e, tb, nil}.page(t)
	d := expJSON(t, page)
	require.Len(t, d.Variants, len(e.Variants))
	for _, v := range d.Variants {
		assert.Nil(t, v.Curves, v.Name)
		assert.Contains(t, page, html.EscapeString(v.Name)+` <span class="n">(no results)</span>`)
	}
}

func TestWriteExperimentFile(t *testing.T) {
	e := parseExperiment(t, tinyExperiment)
	tb, err := experiment.Summarize(e, nil)
	require.NoError(t, err)

	t.Run("writes the page", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "what-if.html")
		require.NoError(t, report.WriteExperimentFile(path, pageOf(t, e, tb, nil)))
		got, err := os.ReadFile(path)
		require.NoError(t, err)
		var want bytes.Buffer
		require.NoError(t, report.WriteExperimentHTML(&want, pageOf(t, e, tb, nil)))
		assert.Equal(t, want.String(), string(got))
		info, err := os.Stat(path)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o644), info.Mode().Perm())
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, entries, 1, "the page, and no temporary")
	})

	for _, name := range []string{"what-if.png", "what-if.svg", "what-if.htm", "what-if.txt", "what-if"} {
		t.Run("refuses "+name, func(t *testing.T) {
			dir := t.TempDir()
			err := report.WriteExperimentFile(filepath.Join(dir, name), pageOf(t, e, tb, nil))
			require.ErrorIs(t, err, report.ErrUnknownFormat)
			assert.Contains(t, err.Error(), "want .html")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing written")
		})
	}

	t.Run("leaves nothing behind on an error", func(t *testing.T) {
		dir := t.TempDir()
		path := filepath.Join(dir, "what-if.html")
		foreign := []experiment.Result{{Experiment: "another", Variant: "fix", Measures: map[string]*float64{}}}
		_, err := experiment.NewPage(e, tb, foreign)
		require.ErrorContains(t, err, `a result of experiment "another"`)
		err = report.WriteExperimentFile(path, nil) // no page to draw
		require.ErrorContains(t, err, "an experiment's page needs the experiment and its table")
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Empty(t, entries, "no page and no temporary")
	})
}
