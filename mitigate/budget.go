package mitigate

import (
	"sync"

	"vmstorm/config/policy"
)

// RetryBudgetSettings are the two parameters of gRPC's retry throttling:
// policy.RetryBudgetSettings.
type RetryBudgetSettings = policy.RetryBudgetSettings

// DefaultRetryBudgetSettings is A6's example: policy.DefaultRetryBudgetSettings.
func DefaultRetryBudgetSettings() RetryBudgetSettings { return policy.DefaultRetryBudgetSettings() }

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
	maxTokens, _ := policy.Thousandths(s.MaxTokens)
	ratio, _ := policy.Thousandths(s.TokenRatio)
	return &RetryBudget{max: maxTokens, ratio: ratio, tokens: maxTokens}, nil
}

// OnFailure takes one token for a failed attempt; the bucket stops at 0.
func (b *RetryBudget) OnFailure() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.tokens = max(b.tokens-policy.Milli, 0)
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
	return float64(b.tokens) / policy.Milli
}
