package compare

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestJudge(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name   string
		lo, hi float64
		better Direction
		margin float64
		want   Verdict
	}{
		{"higher, lower is better", 1, 3, LowerIsBetter, 0.5, Verdict{Worse, false}},
		{"higher, higher is better", 1, 3, HigherIsBetter, 0.5, Verdict{Better, false}},
		{"lower, lower is better", -3, -1, LowerIsBetter, 0.5, Verdict{Better, false}},
		{"lower, higher is better", -3, -1, HigherIsBetter, 0.5, Verdict{Worse, false}},
		{"lower, inside the margin", -3, -1, LowerIsBetter, 5, Verdict{Better, true}},
		{"higher, inside the margin, higher is better", 1, 3, HigherIsBetter, 5, Verdict{Better, true}},
		{"lower, reaching the margin", -5, -1, LowerIsBetter, 5, Verdict{Better, false}},
		{"holds 0, inside the margin", -1, 2, LowerIsBetter, 5, Verdict{Word: Equivalent}},
		{"holds 0, past the margin", -1, 6, LowerIsBetter, 5, Verdict{Word: Inconclusive}},
		{"holds 0, reaching the margin", -5, 1, HigherIsBetter, 5, Verdict{Word: Inconclusive}},
		{"zero width at 0", 0, 0, LowerIsBetter, 1, Verdict{Word: Equivalent}},
		{"zero width at 0, no margin", 0, 0, LowerIsBetter, 0, Verdict{Word: Inconclusive}},
		{"Lo exactly 0", 0, 2, LowerIsBetter, 5, Verdict{Word: Equivalent}},
		{"Hi exactly 0", -2, 0, HigherIsBetter, 1, Verdict{Word: Inconclusive}},
		{"unbounded above, from above 0", 1, inf, LowerIsBetter, 5, Verdict{Worse, false}},
		{"unbounded both ways", -inf, inf, LowerIsBetter, 5, Verdict{Word: Inconclusive}},
		{"a tiny difference, constant", 1e-9, 1e-9, LowerIsBetter, 1, Verdict{Worse, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Judge(tt.lo, tt.hi, tt.better, tt.margin))
		})
	}
}

func TestVerdictString(t *testing.T) {
	assert.Equal(t, "better", Verdict{Better, false}.String())
	assert.Equal(t, "worse, within margin", Verdict{Worse, true}.String())
	assert.Equal(t, "equivalent", Verdict{Word: Equivalent}.String())
}

func TestJudgeUnknownDirection(t *testing.T) {
	assert.PanicsWithValue(t,
		"compare: Judge: direction 0 is neither LowerIsBetter nor HigherIsBetter",
		func() { Judge(1, 2, Direction(0), 1) })
}

func TestBonferroni(t *testing.T) {
	for _, tt := range []struct {
		m    int
		want float64
	}{{1, 0.95}, {2, 0.975}, {10, 0.995}, {50, 0.999}} {
		t.Run(fmt.Sprint(tt.m), func(t *testing.T) {
			assert.InDelta(t, tt.want, Bonferroni(tt.m), 1e-12)
		})
	}
	assert.Panics(t, func() { Bonferroni(0) })
}
