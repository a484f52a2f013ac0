package report_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/experiment"
	"vmstorm/internal/format"
)

// TestVerdictsRenderedThreeWays: one experiment's verdicts, rendered as the
// text table, as the verdicts file's JSON lines and as the HTML page, say
// the same thing in each: every comparison's verdict (or why it has none)
// and difference, the family, every metastability share, and the sweep's
// line; and the page's data holds the verdicts file's records.
func TestVerdictsRenderedThreeWays(t *testing.T) {
	r := runTiny(t)
	var text, lines bytes.Buffer
	require.NoError(t, experiment.WriteTable(&text, r.e, r.table))
	require.NoError(t, experiment.WriteVerdicts(&lines, r.table))
	page := r.page(t)
	cells, _ := pageTables(page)

	var records []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(lines.String(), "\n"), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		records = append(records, rec)
	}
	assert.Equal(t, records, expJSON(t, page).Verdicts, "the page's data holds the verdicts file's records")

	// The text table's blocks, by measure, each a row per variant.
	blocks := map[string][]string{}
	measure := ""
	for _, line := range strings.Split(text.String(), "\n") {
		if m := regexp.MustCompile(`^([A-Z_0-9]+)[ ,(]`).FindStringSubmatch(line); m != nil {
			measure = strings.ToLower(m[1])
		}
		if strings.HasPrefix(line, "  ") && measure != "" {
			blocks[measure] = append(blocks[measure], line)
		}
	}
	row := func(block []string, variant string) string {
		for _, line := range block {
			if strings.HasPrefix(line, "  "+variant+"  ") {
				return line
			}
		}
		t.Fatalf("no row of %q in %q", variant, block)
		return ""
	}
	kinds := map[string]int{}
	words := map[string]int{}
	for _, rec := range records {
		kind := rec["kind"].(string)
		kinds[kind]++
		switch kind {
		case experiment.KindComparison:
			m, v, say := rec["measure"].(string), rec["variant"].(string), rec["text"].(string)
			words[say]++
			diff := ""
			if d, ok := rec["difference"].(map[string]any); ok {
				diff = d["text"].(string)
			}
			line := row(blocks[m], v)
			assert.Contains(t, line, "  "+say+"  ", "the text's %s, %s", m, v)
			if diff != "" {
				assert.Contains(t, line, "  "+diff+"  ", "the text's %s, %s", m, v)
			}
			i := variantIndex(t, r, v)
			assert.Equal(t, diff, cells["measure-"+m][i][2], "the page's %s, %s", m, v)
			assert.Equal(t, say, cells["measure-"+m][i][3], "the page's %s, %s", m, v)
		case experiment.KindFamily:
			assert.Contains(t, strings.Join(strings.Fields(text.String()), " "), rec["text"].(string), "the text's family line")
			assert.Contains(t, page, `<p class="family" id="family">`+html.EscapeString(rec["text"].(string))+`</p>`)
			assert.Equal(t, float64(r.table.Family.Size), rec["size"])
		case experiment.KindRecovery:
			if _, point := rec["point"]; point {
				continue // the sweep's cells: the heat map's test
			}
			// The outcome and the five counts, each with its share: the
			// same in the text's row and in the page's.
			v := rec["variant"].(string)
			i := variantIndex(t, r, v)
			line, pageRow := row(blocks["recovers"], v), cells["recovery"][i]
			assert.Equal(t, experiment.OutcomeName(experiment.Outcome(rec["outcome"].(string))), pageRow[1], "the page's outcome of %s", v)
			assert.Contains(t, line, "  "+pageRow[1]+"  ", "the text's outcome of %s", v)
			outcomes := rec["outcomes"].(map[string]any)
			for j, o := range experiment.ReplicaOutcomes {
				got := outcomes[string(o)].(map[string]any)
				k := int(got["count"].(float64))
				share := got["share"].(map[string]any)
				want := fmt.Sprintf("%d (%s [%s, %s])", k, format.Figure(share["estimate"].(float64)), format.Figure(share["lo"].(float64)), format.Figure(share["hi"].(float64)))
				assert.Equal(t, want, pageRow[2+j], "the page's %s of %s", o, v)
				assert.Contains(t, line, "  "+want, "the text's %s of %s", o, v)
			}
		case experiment.KindSweep:
			assert.Equal(t, r.table.Sweep.Verdict(), rec["text"])
			assert.Contains(t, text.String(), "  "+r.table.Sweep.StuckText()+"\n")
			assert.Contains(t, page, `<p id="sweep-verdict">`+html.EscapeString(rec["text"].(string))+`</p>`)
		case experiment.KindTipping:
			assert.Contains(t, text.String(), "  "+rec["text"].(string)+"\n", "the text's tipping line")
			assert.Contains(t, rec["text"], "tipping point along workload.arrival_rate")
		}
	}
	assert.Equal(t, map[string]int{experiment.KindComparison: 2 * len(r.table.Measures), experiment.KindFamily: 1,
		experiment.KindRecovery: len(r.table.Variants) + 6, experiment.KindSweep: 1, experiment.KindTipping: 2}, kinds)
	t.Logf("verdicts: %v", words)
	assert.Greater(t, len(words), 2, "the experiment's verdicts should not all be one word")
}

func variantIndex(t *testing.T, r experimentRun, name string) int {
	t.Helper()
	for i, v := range r.e.Variants {
		if v.Name == name {
			return i
		}
	}
	t.Fatalf("no variant %q", name)
	return -1
}
