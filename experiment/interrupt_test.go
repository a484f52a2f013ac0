package experiment

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/internal/racedetect"
)

// TestInterruptedExperimentsNeverJudgeTheIncomplete interrupts the cheap
// experiment (52 tasks, replicas and controls) at random moments, its context cancelled once k
// results are in (k drawn from a seeded stream, from 0 to all of them;
// the tasks in the plan's order, shuffled, or the baseline's last),
// and reads what it would print: no verdict, in the table or the verdicts
// file, for a variant with fewer results than asked, or for any variant
// while the baseline has fewer; no share for such a variant or sweep
// point; and a sweep line that names, and counts, only points that ran all
// their replicas.
func TestInterruptedExperimentsNeverJudgeTheIncomplete(t *testing.T) {
	e := fixture(t, "cheap")
	plan := Plan(e)
	rng := rand.New(rand.NewPCG(16, 2015))
	moments := 24
	if racedetect.On {
		moments = 3 // one of each order: the race detector sees Run's goroutines in any of them
	}
	sawIncomplete, sawVerdict, sawBaselineShort := false, false, false
	for i := range moments {
		k := rng.IntN(len(plan) + 1)
		ctx, cancel := context.WithCancel(t.Context())
		if k == 0 {
			cancel()
		}
		// The tasks in the plan's order; or shuffled; or the baseline's
		// last, as a slow baseline can leave them, short while other
		// variants have finished.
		tasks := slices.Clone(plan)
		switch i % 3 {
		case 1:
			rng.Shuffle(len(tasks), func(a, b int) { tasks[a], tasks[b] = tasks[b], tasks[a] })
		case 2:
			slices.SortStableFunc(tasks, func(a, b Task) int {
				return cmp.Compare(boolInt(a.Variant == e.Variants[0].Name && a.Point == nil), boolInt(b.Variant == e.Variants[0].Name && b.Point == nil))
			})
		}
		var got []Result
		err := Run(ctx, e, tasks, 2, func(r Result) {
			got = append(got, r)
			if len(got) >= k {
				cancel()
			}
		})
		cancel()
		if len(got) < len(plan) {
			require.ErrorIs(t, err, ErrInterrupted, "k=%d", k)
		}
		table, err := Summarize(e, got)
		require.NoError(t, err)
		var text, verdicts bytes.Buffer
		require.NoError(t, WriteTable(&text, e, table))
		require.NoError(t, WriteVerdicts(&verdicts, table))

		finished := map[string]int{}
		for _, r := range got {
			if !r.Swept() && !r.Control {
				finished[r.Variant]++
			}
		}
		baseComplete := finished[table.Baseline] == e.Replicas
		for name, n := range finished {
			if name != table.Baseline && n == e.Replicas && !baseComplete {
				sawBaselineShort = true
			}
		}
		judged := map[string]bool{} // variants that may have a verdict
		for _, row := range table.Variants {
			require.Equal(t, finished[row.Name], row.Replicas)
			require.LessOrEqual(t, row.Recovery.Replicas, row.Replicas, "a replica is judged once its control has run too")
			complete := row.Replicas == e.Replicas
			judged[row.Name] = complete && baseComplete
			if !complete {
				sawIncomplete = true
				assert.Nil(t, row.Recovery.Share(Recovered), "k=%d, %s: a share of an incomplete variant", k, row.Name)
				share := RecoveryText(row.Recovery)
				assert.Contains(t, []string{"not run", missing(row.Recovery.Replicas, row.Asked)}, share)
			}
			for m, c := range row.Cells {
				if c.Comparison == nil {
					continue
				}
				if !judged[row.Name] {
					assert.NotEmpty(t, c.Comparison.NoVerdict, "k=%d, %s, %s: a verdict with %d of %d replicas (baseline %d)",
						k, row.Name, table.Measures[m].Name, row.Replicas, e.Replicas, finished[table.Baseline])
				} else if c.Comparison.NoVerdict == "" {
					sawVerdict = true
				}
			}
		}
		// The text: a row of a variant that may not be judged holds no
		// verdict word.
		for _, line := range strings.Split(text.String(), "\n") {
			for _, row := range table.Variants[1:] {
				if strings.HasPrefix(line, "  "+row.Name+" ") && !judged[row.Name] {
					assert.NotRegexp(t, `\b(better|worse|equivalent|inconclusive)\b`, line, "k=%d", k)
				}
			}
		}
		// The verdicts file: the same.
		for _, line := range strings.Split(strings.TrimSpace(verdicts.String()), "\n") {
			var rec struct {
				Kind, Variant, Verdict, Text string
				NoVerdict                    string `json:"no_verdict"`
			}
			require.NoError(t, json.Unmarshal([]byte(line), &rec))
			if rec.Kind == KindComparison && !judged[rec.Variant] {
				assert.Empty(t, rec.Verdict, "k=%d: %s", k, line)
				assert.NotEmpty(t, rec.NoVerdict)
			}
		}
		// The sweep's line speaks of the complete points alone.
		complete, all := map[string]bool{}, 0
		for x, col := range table.Sweep.Cells {
			for y, c := range col {
				all++
				if c.Replicas == c.Asked {
					complete[table.Sweep.pointName(x, y)] = true
				} else {
					assert.Nil(t, c.Share(Stuck), "k=%d: a share of point %v with %d of %d", k, []int{x, y}, c.Replicas, c.Asked)
				}
			}
		}
		line := table.Sweep.StuckText()
		assert.Contains(t, text.String(), "  "+line+"\n")
		assert.True(t, strings.HasPrefix(table.Sweep.Verdict(), line))
		for _, l := range table.Sweep.Tipping {
			assert.Contains(t, text.String(), "  "+l.Text(table.Sweep)+"\n")
			if l.Crossing != nil {
				assert.Zero(t, l.Incomplete, "k=%d: a tipping point from incomplete points", k)
			}
		}
		switch {
		case strings.HasPrefix(line, "stuck (metastable: most"):
			named := strings.TrimPrefix(line, "stuck (metastable: most replicas stuck, their controls healthy) at: ")
			named, _, _ = strings.Cut(named, " (")
			for _, p := range strings.Split(named, "; ") {
				assert.True(t, complete[p], "k=%d: %q names %q, which did not run all its replicas", k, line, p)
			}
		case strings.HasPrefix(line, "stuck (metastable): nowhere in this grid"):
			assert.Len(t, complete, all, "k=%d: %q", k, line)
		case strings.HasPrefix(line, "stuck (metastable): nowhere among"):
			m := regexp.MustCompile(`among the (\d+) of (\d+) points`).FindStringSubmatch(line)
			require.NotNil(t, m, line)
			assert.Equal(t, strconv.Itoa(len(complete)), m[1], "k=%d: %q", k, line)
			assert.Equal(t, strconv.Itoa(all), m[2])
		default:
			const none = "stuck: not judged; no point of the grid ran all its replicas"
			assert.Equal(t, none, line[:len(none)])
			assert.Empty(t, complete, "k=%d", k)
		}
	}
	if !racedetect.On { // the moments cover every case
		assert.True(t, sawIncomplete, "some moment left a variant incomplete")
		assert.True(t, sawBaselineShort, "some moment left the baseline short of a variant that finished")
		assert.True(t, sawVerdict, "and some moment came after a variant and the baseline had finished")
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
