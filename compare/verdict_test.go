package compare

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestVerdict(t *testing.T) {
	above := Interval{Estimate: 2, Lo: 1, Hi: 3}
	below := Interval{Estimate: -2, Lo: -3, Hi: -1}
	tests := []struct {
		name   string
		diff   Interval
		better Direction
		want   string
	}{
		{"variant higher, lower is better", above, LowerIsBetter, Worse},
		{"variant higher, higher is better", above, HigherIsBetter, Better},
		{"variant lower, lower is better", below, LowerIsBetter, Better},
		{"variant lower, higher is better", below, HigherIsBetter, Worse},
		{"straddles 0", Interval{Estimate: 0.5, Lo: -1, Hi: 2}, LowerIsBetter, NoClearDifference},
		{"straddles 0, higher is better", Interval{Estimate: 0.5, Lo: -1, Hi: 2}, HigherIsBetter, NoClearDifference},
		{"Lo exactly 0", Interval{Estimate: 1, Lo: 0, Hi: 2}, LowerIsBetter, NoClearDifference},
		{"Hi exactly 0", Interval{Estimate: -1, Lo: -2, Hi: 0}, HigherIsBetter, NoClearDifference},
		{"constant, no difference", Interval{}, LowerIsBetter, NoClearDifference},
		{"constant, tiny difference", Interval{Estimate: 1e-9, Lo: 1e-9, Hi: 1e-9}, LowerIsBetter, Worse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Verdict(tt.diff, tt.better))
		})
	}
}

func TestVerdictUnknownDirection(t *testing.T) {
	assert.PanicsWithValue(t,
		"compare: Verdict: direction 0 is neither LowerIsBetter nor HigherIsBetter",
		func() { Verdict(Interval{Lo: 1, Hi: 2}, Direction(0)) })
}
