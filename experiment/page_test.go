package experiment

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNewPage: the page holds the results in order whatever order they
// come in, each variant's drawn results (Drawn) and no other, and refuses
// a result of another experiment and a table of another.
func TestNewPage(t *testing.T) {
	e, results := cheapResults(t)
	tb, err := Summarize(e, results)
	require.NoError(t, err)

	reversed := slices.Clone(results)
	slices.Reverse(reversed)
	pg, err := NewPage(e, tb, reversed)
	require.NoError(t, err)
	want := slices.Clone(results)
	Sort(want, e.VariantNames())
	assert.Equal(t, want, pg.Results)
	drawn := 0
	for _, r := range want {
		if Drawn(e, r) {
			drawn++
			assert.Contains(t, pg.Drawn[r.Variant], r)
		}
	}
	require.Positive(t, drawn, "the cheap experiment draws some replicas")
	total := 0
	for v, rs := range pg.Drawn {
		for _, r := range rs {
			assert.True(t, Drawn(e, r) && r.Variant == v, "variant %s, replica %d: not drawn, or another variant's", v, r.Replica)
		}
		total += len(rs)
	}
	assert.Equal(t, drawn, total)

	foreign := append(slices.Clone(results), Result{Experiment: "another", Variant: e.Variants[0].Name})
	_, err = NewPage(e, tb, foreign)
	require.ErrorContains(t, err, `a result of experiment "another"`)

	other := *tb
	other.Experiment = "another"
	_, err = NewPage(e, &other, results)
	require.ErrorContains(t, err, `the table of experiment "another" is not the table of experiment`)
	_, err = NewPage(e, nil, results)
	require.ErrorContains(t, err, "needs the experiment and its table")
}
