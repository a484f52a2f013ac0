package policy

import (
	"fmt"
	"math"
)

// RetryBudgetSettings are the two parameters of gRPC's retry throttling
// (gRFC A6, "retryThrottling"): a bucket of MaxTokens that every failed
// attempt drains by one token and every success refills by TokenRatio.
type RetryBudgetSettings struct {
	// MaxTokens is the bucket's size and its starting level (A6's maxTokens).
	MaxTokens float64
	// TokenRatio is what one success puts back (A6's tokenRatio): about the
	// share of failures to successes the budget tolerates.
	TokenRatio float64
}

// DefaultRetryBudgetSettings is A6's example, maxTokens 10 and tokenRatio
// 0.1: retries stop once failures outrun a tenth of the successes, close to
// the 10% retry ratio of the SRE book's per-client retry budget ("Handling
// Overload").
func DefaultRetryBudgetSettings() RetryBudgetSettings {
	return RetryBudgetSettings{MaxTokens: 10, TokenRatio: 0.1}
}

// Milli is the parts of a token a retry budget's bucket counts in: it
// counts thousandths of a token, as gRPC core does. A6 supports three
// decimal places, and whole numbers of them add up exactly, so the
// threshold is met at exactly the success the arithmetic says (ten additions
// of 0.1 in floating point make 0.9999999999999999, not 1).
const Milli = 1000

// tokenRange is the range gRPC's Go client accepts for maxTokens, (0, 1000].
const tokenRange = 1000

// Thousandths converts v to whole thousandths, and reports whether v had at
// most three decimal places.
func Thousandths(v float64) (int64, bool) {
	m := math.Round(v * Milli)
	return int64(m), math.Abs(v*Milli-m) < 1e-6
}

// Validate returns a *SettingError for the first setting that is wrong.
func (s RetryBudgetSettings) Validate() error {
	check := func(name string, v float64) error {
		if _, whole := Thousandths(v); !(v >= 1.0/Milli && v <= tokenRange) || !whole {
			return &SettingError{"retry budget", name, fmt.Sprint(v), fmt.Sprintf("a number of tokens from 0.001 to %d with at most 3 decimals (e.g. 10, 0.1)", tokenRange)}
		}
		return nil
	}
	if err := check("MaxTokens", s.MaxTokens); err != nil {
		return err
	}
	return check("TokenRatio", s.TokenRatio)
}
