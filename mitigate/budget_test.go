package mitigate

import (
	"math"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// step is one event on a retry budget, repeated times (1 if 0), and what the
// bucket must hold after it.
type step struct {
	op     byte // 'F' failure, 'S' success
	times  int
	tokens float64
	allow  bool
}

func TestRetryBudgetArithmetic(t *testing.T) {
	a6 := DefaultRetryBudgetSettings() // maxTokens 10, tokenRatio 0.1
	tests := []struct {
		name  string
		s     RetryBudgetSettings
		steps []step
	}{
		{"failures drain it; retries stop at exactly half", a6, []step{
			{'F', 1, 9, true}, {'F', 3, 6, true}, {'F', 1, 5, false}, {'F', 1, 4, false},
		}},
		{"a success above half refills by the ratio", a6, []step{
			{'F', 2, 8, true}, {'S', 1, 8.1, true}, {'S', 9, 9, true},
		}},
		{"one success lifts it from half to above", a6, []step{
			{'F', 5, 5, false}, {'S', 1, 5.1, true}, {'F', 1, 4.1, false},
		}},
		{"never above max", a6, []step{
			{'S', 1, 10, true}, {'F', 1, 9, true}, {'S', 20, 10, true},
		}},
		{"never below 0", a6, []step{
			{'F', 12, 0, false}, {'S', 1, 0.1, false},
		}},
		{"an empty bucket needs 51 successes at ratio 0.1, not 50", a6, []step{
			{'F', 10, 0, false}, {'S', 50, 5, false}, {'S', 1, 5.1, true},
		}},
		{"an odd max: the threshold is 2.5", RetryBudgetSettings{MaxTokens: 5, TokenRatio: 1}, []step{
			{'F', 2, 3, true}, {'F', 1, 2, false}, {'S', 1, 3, true},
		}},
		// gRPC core's own test (test/core/client_channel/retry_throttle_test.cc,
		// ServerRetryThrottleData.Basic), step by step.
		{"gRPC core's sequence: max 4, ratio 1.6", RetryBudgetSettings{MaxTokens: 4, TokenRatio: 1.6}, []step{
			{'F', 1, 3, true}, {'S', 1, 4, true}, {'F', 1, 3, true}, {'F', 1, 2, false},
			{'F', 1, 1, false}, {'F', 1, 0, false}, {'F', 1, 0, false},
			{'S', 1, 1.6, false}, {'S', 1, 3.2, true}, {'F', 1, 2.2, true}, {'F', 1, 1.2, false},
			{'S', 1, 2.8, true}, {'F', 1, 1.8, false}, {'S', 1, 3.4, true}, {'F', 1, 2.4, true},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewRetryBudget(tt.s)
			require.NoError(t, err)
			require.Equal(t, tt.s.MaxTokens, b.Tokens(), "starts full")
			require.True(t, b.AllowRetry(), "a full bucket allows retries")
			for i, st := range tt.steps {
				for range max(st.times, 1) {
					switch st.op {
					case 'F':
						b.OnFailure()
					case 'S':
						b.OnSuccess()
					default:
						t.Fatalf("step %d: unknown op %q", i, st.op)
					}
				}
				assert.Equal(t, st.tokens, b.Tokens(), "step %d (%dx %c): tokens", i, max(st.times, 1), st.op)
				assert.Equal(t, st.allow, b.AllowRetry(), "step %d (%dx %c): retry allowed", i, max(st.times, 1), st.op)
			}
		})
	}
}

func TestRetryBudgetValidate(t *testing.T) {
	tests := []struct {
		name    string
		s       RetryBudgetSettings
		setting string // "" when valid
	}{
		{"default (gRFC A6's example)", DefaultRetryBudgetSettings(), ""},
		{"smallest", RetryBudgetSettings{MaxTokens: 0.001, TokenRatio: 0.001}, ""},
		{"largest", RetryBudgetSettings{MaxTokens: 1000, TokenRatio: 1000}, ""},
		{"zero tokens", RetryBudgetSettings{MaxTokens: 0, TokenRatio: 0.1}, "MaxTokens"},
		{"negative tokens", RetryBudgetSettings{MaxTokens: -1, TokenRatio: 0.1}, "MaxTokens"},
		{"over gRPC's 1000", RetryBudgetSettings{MaxTokens: 1001, TokenRatio: 0.1}, "MaxTokens"},
		{"NaN tokens", RetryBudgetSettings{MaxTokens: math.NaN(), TokenRatio: 0.1}, "MaxTokens"},
		{"four decimals", RetryBudgetSettings{MaxTokens: 10, TokenRatio: 0.0005}, "TokenRatio"},
		{"zero ratio", RetryBudgetSettings{MaxTokens: 10, TokenRatio: 0}, "TokenRatio"},
		{"infinite ratio", RetryBudgetSettings{MaxTokens: 10, TokenRatio: math.Inf(1)}, "TokenRatio"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewRetryBudget(tt.s)
			if tt.setting == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.s.MaxTokens, b.Tokens())
				return
			}
			assert.Nil(t, b)
			var se *SettingError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, "retry budget", se.Policy)
			assert.Equal(t, tt.setting, se.Setting)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

func TestRetryBudgetSharedByGoroutines(t *testing.T) {
	// The Build pool's workers share one budget: no update may be lost.
	b, err := NewRetryBudget(RetryBudgetSettings{MaxTokens: 1000, TokenRatio: 0.5})
	require.NoError(t, err)
	run := func(n int, f func()) {
		var wg sync.WaitGroup
		for range n {
			wg.Go(f)
		}
		wg.Wait()
	}
	run(300, b.OnFailure)
	assert.Equal(t, 700.0, b.Tokens())
	run(300, b.OnSuccess)
	assert.Equal(t, 850.0, b.Tokens())
	run(300, func() { b.AllowRetry() })
	assert.Equal(t, 850.0, b.Tokens(), "asking costs nothing")
}
