package report

import (
	"fmt"
	"image/color"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot/vg"

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
		switch o.Outcome {
		case experiment.Incomplete, experiment.NotRun:
			named++ // and the cell, which has no count to print
		case experiment.NotRemoved:
			named++ // and the cell, too narrow for "not removed 2/2": the count goes under the name
		}
		assert.Equal(t, named, strings.Count(doc, ">"+experiment.OutcomeName(o.Outcome)+"</text>"), "%q", o.Outcome)
	}
	for _, text := range []string{">recovered 2/2</text>", ">draining 1/2</text>", ">[0.013, 0.99]</text>", ">recovered 1</text>", ">stuck 1/2</text>",
		">overloaded 2/2</text>", ">2/2</text>", ">[0.16, 1]</text>", ">1 of 2 replicas</text>"} {
		assert.Contains(t, doc, text)
	}
	// The hatched outcomes' strokes: lines of the hatching's ink.
	assert.Regexp(t, regexp.MustCompile(`stroke:#555555`), doc)
}

// TestCellLabelFitsItsCell: whatever the cell's size, no line of its label
// is wider than the cell, and no more lines than its height holds; the
// label shrinks in steps (the count under the name, the count alone,
// nothing) rather than spill onto its neighbours.
func TestCellLabelFitsItsCell(t *testing.T) {
	draining := experiment.CellOf(2, experiment.Draining, experiment.Recovered)
	notRemoved := experiment.CellOf(2, experiment.NotRemoved, experiment.NotRemoved)
	for _, tt := range []struct {
		name          string
		cell          experiment.RecoveryCell
		width, height vg.Length
		want          []string
	}{
		{"room for all", draining, 200, 57, []string{"draining 1/2", "[0.013, 0.99]", "recovered 1"}},
		{"one line high", draining, 200, 16, []string{"draining 1/2"}},
		{"the count under the name", notRemoved, 70, 57, []string{"not removed", "2/2", "[0.16, 1]"}},
		{"the count alone", notRemoved, 30, 57, []string{"2/2"}},
		{"nothing fits", notRemoved, 12, 57, nil},
		{"no height", draining, 200, 10, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, lines := cellLabel(tt.cell, tt.width, tt.height, color.Black)
			assert.Equal(t, tt.want, lines)
		})
	}
	for _, cell := range []experiment.RecoveryCell{draining, notRemoved, experiment.CellOf(3, experiment.Recovered), experiment.CellOf(2)} {
		for w := vg.Length(2); w < 240; w += 3 {
			for h := vg.Length(2); h < 70; h += 5 {
				styles, lines := cellLabel(cell, w, h, color.Black)
				require.Len(t, styles, len(lines))
				assert.LessOrEqual(t, vg.Length(len(lines))*cellLineH, h, "%d lines in a cell %v high", len(lines), h)
				for i, l := range lines {
					assert.LessOrEqual(t, styles[i].Width(l), w, "%q in a cell %v wide", l, w)
				}
			}
		}
	}
}

// TestHeatMapOfManyPoints: a 20 x 20 grid stays about a page high, and its
// cells, too narrow for any label, are painted without one.
func TestHeatMapOfManyPoints(t *testing.T) {
	const n = 20
	values := make([]string, n)
	for i := range values {
		values[i] = fmt.Sprint(i)
	}
	grid := make([][]experiment.RecoveryCell, n)
	for x := range grid {
		grid[x] = slices.Repeat([]experiment.RecoveryCell{experiment.CellOf(10, slices.Repeat([]experiment.Outcome{experiment.Recovered}, 10)...)}, n)
	}
	svg, err := renderHeatMap(&experiment.SweepTable{Variant: "v", X: experiment.Axis{Key: "x", Values: values}, Y: experiment.Axis{Key: "y", Values: values}, Cells: grid}, 10)
	require.NoError(t, err)
	doc := string(svg)
	m := regexp.MustCompile(`height="([0-9.]+)pt"`).FindStringSubmatch(doc)
	require.NotNil(t, m)
	height, err := strconv.ParseFloat(m[1], 64)
	require.NoError(t, err)
	assert.LessOrEqual(t, height, 11*72.0, "at most about 11 inches high")
	assert.NotContains(t, doc, "recovered 10/10")
	assert.NotContains(t, doc, ">10/10</text>")
}
