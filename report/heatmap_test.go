package report

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/experiment"
)

// TestHeatMapStylesEveryOutcome: every outcome has a style, and no two
// outcomes look alike (colour and hatching together).
func TestHeatMapStylesEveryOutcome(t *testing.T) {
	seen := map[outcomeStyle]experiment.Outcome{}
	for _, o := range experiment.Outcomes {
		s, ok := outcomeStyles[o.Outcome]
		require.True(t, ok, "no style for %q", o.Outcome)
		if prev, dup := seen[s]; dup {
			t.Errorf("%q and %q look alike", prev, o.Outcome)
		}
		seen[s] = o.Outcome
	}
	assert.Len(t, outcomeStyles, len(experiment.Outcomes), "a style for an outcome that is not listed")
}

// TestHeatMapPaintsEachOutcome draws a grid with a cell of each outcome:
// each is painted in its own colour, hatched where its style says, says
// what it is, and the legend lists every outcome once.
func TestHeatMapPaintsEachOutcome(t *testing.T) {
	o := func(o experiment.Outcome, n int) []experiment.Outcome {
		return slices.Repeat([]experiment.Outcome{o}, n)
	}
	cells := map[experiment.Outcome]experiment.RecoveryCell{
		experiment.Recovered:  experiment.CellOf(2, o(experiment.Recovered, 2)...),
		experiment.Draining:   experiment.CellOf(2, experiment.Draining, experiment.Recovered),
		experiment.Stuck:      experiment.CellOf(2, experiment.Stuck, experiment.Recovered),
		experiment.Overloaded: experiment.CellOf(2, o(experiment.Overloaded, 2)...),
		experiment.NotRemoved: experiment.CellOf(2, o(experiment.NotRemoved, 2)...),
		experiment.Incomplete: experiment.CellOf(2, experiment.Recovered),
		experiment.NotRun:     experiment.CellOf(2),
	}
	var grid [][]experiment.RecoveryCell
	var xs []string
	for i, o := range experiment.Outcomes {
		c := cells[o.Outcome]
		require.Equal(t, o.Outcome, c.Outcome())
		grid = append(grid, []experiment.RecoveryCell{c})
		xs = append(xs, fmt.Sprint(i))
	}
	svg, err := renderHeatMap(&experiment.SweepTable{Variant: "v", X: experiment.Axis{Key: "x", Values: xs}, Cells: grid}, 2)
	require.NoError(t, err)
	doc := string(svg)
	for _, o := range experiment.Outcomes {
		s := outcomeStyles[o.Outcome]
		fill := fmt.Sprintf("fill:#%02X%02X%02X", s.fill.R, s.fill.G, s.fill.B)
		// A cell and a swatch of the legend, at least.
		assert.GreaterOrEqual(t, strings.Count(strings.ToUpper(doc), strings.ToUpper(fill)), 2, "%q is painted %s", o.Outcome, fill)
		named := 1 // the legend
		if o.Outcome == experiment.Incomplete || o.Outcome == experiment.NotRun {
			named++ // and the cell, which has no count to print
		}
		assert.Equal(t, named, strings.Count(doc, ">"+experiment.OutcomeName(o.Outcome)+"</text>"), "%q", o.Outcome)
	}
	for _, text := range []string{">recovered 2/2</text>", ">draining 1/2</text>", ">[0.013, 0.99]</text>", ">recovered 1</text>", ">stuck 1/2</text>",
		">overloaded 2/2</text>", ">not removed 2/2</text>", ">[0.16, 1]</text>", ">1 of 2 replicas</text>"} {
		assert.Contains(t, doc, text)
	}
	// The hatched outcomes' strokes: lines of the hatching's ink.
	assert.Regexp(t, regexp.MustCompile(`stroke:#555555`), doc)
}
