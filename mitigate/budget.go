package mitigate

import (
	"fmt"
	"math"
	"sync"
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

// The bucket counts thousandths of a token, as gRPC core does: A6 supports
// three decimal places, and whole numbers of them add up exactly, so the
// threshold is met at exactly the success the arithmetic says (ten additions
// of 0.1 in floating point make 0.9999999999999999, not 1).
const milli = 1000

// tokenRange is the range gRPC's Go client accepts for maxTokens, (0, 1000].
const tokenRange = 1000

// thousandths converts v to whole thousandths, and reports whether v had at
// most three decimal places.
func thousandths(v float64) (int64, bool) {
	m := math.Round(v * milli)
	return int64(m), math.Abs(v*milli-m) < 1e-6
}

// Validate returns a *SettingError for the first setting that is wrong.
func (s RetryBudgetSettings) Validate() error {
	check := func(name string, v float64) error {
		if _, whole := thousandths(v); !(v >= 1.0/milli && v <= tokenRange) || !whole {
			return &SettingError{"retry budget", name, fmt.Sprint(v), fmt.Sprintf("a number of tokens from 0.001 to %d with at most 3 decimals (e.g. 10, 0.1)", tokenRange)}
		}
		return nil
	}
	if err := check("MaxTokens", s.MaxTokens); err != nil {
		return err
	}
	return check("TokenRatio", s.TokenRatio)
}

// RetryBudget is gRPC's retry throttling as a state machine: a token bucket
// that starts full and holds between 0 and MaxTokens. Each failed attempt
// costs one token (OnFailure), each success adds TokenRatio (OnSuccess), and
// a failed job may be retried only while the bucket holds more than half of
// MaxTokens (AllowRetry). A first attempt is never refused: the budget limits
// retries, not work.
//
// The model keeps one per client (the Build pool shares one, as a gRPC
// channel does per server) and, after a failed start, calls OnFailure and
// then asks AllowRetry: the failure's own token counts against its retry,
// as in gRPC. Time plays no part: the bucket refills only by successes, so
// while nothing succeeds it stays empty. Its methods may be called from
// several goroutines.
type RetryBudget struct {
	mu     sync.Mutex
	max    int64 // thousandths of a token, like tokens and ratio
	ratio  int64
	tokens int64
}

// NewRetryBudget returns a full bucket, or the settings' *SettingError.
func NewRetryBudget(s RetryBudgetSettings) (*RetryBudget, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	maxTokens, _ := thousandths(s.MaxTokens)
	ratio, _ := thousandths(s.TokenRatio)
	return &RetryBudget{max: maxTokens, ratio: ratio, tokens: maxTokens}, nil
}

// OnFailure takes one token for a failed attempt; the bucket stops at 0.
func (b *RetryBudget) OnFailure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = max(b.tokens-milli, 0)
}

// OnSuccess puts TokenRatio back for a successful attempt; the bucket stops
// at MaxTokens.
func (b *RetryBudget) OnSuccess() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = min(b.tokens+b.ratio, b.max)
}

// AllowRetry reports whether a failed job may be tried again: whether the
// bucket holds more than MaxTokens/2. At exactly half it may not (A6: "less
// than or equal to the threshold" throttles).
func (b *RetryBudget) AllowRetry() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return 2*b.tokens > b.max
}

// Tokens is the bucket's level, for the metrics and the series.
func (b *RetryBudget) Tokens() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return float64(b.tokens) / milli
}
