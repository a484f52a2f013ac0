package policy

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestThousandths: a budget's settings count in whole thousandths of a
// token, and a value with a fourth decimal is not one.
func TestThousandths(t *testing.T) {
	for _, tt := range []struct {
		v     float64
		want  int64
		whole bool
	}{
		{0.1, 100, true},
		{10, 10000, true},
		{0.001, 1, true},
		{1000, 1000000, true},
		{0.3, 300, true}, // 0.3 * 1000 is 300.00000000000006 in floating point
		{0.0005, 1, false},
		{1.2345, 1235, false},
	} {
		got, whole := Thousandths(tt.v)
		assert.Equal(t, tt.want, got, "%v", tt.v)
		assert.Equal(t, tt.whole, whole, "%v", tt.v)
	}
}

// TestSettingErrorNamesTheSetting: the error names the policy, the setting,
// its value and what is wanted, in one line.
func TestSettingErrorNamesTheSetting(t *testing.T) {
	err := RetryBudgetSettings{MaxTokens: 10, TokenRatio: 0.0005}.Validate()
	assert.EqualError(t, err, "retry budget TokenRatio 0.0005: want a number of tokens from 0.001 to 1000 with at most 3 decimals (e.g. 10, 0.1)")
}
