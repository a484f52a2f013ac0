package policy

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/internal/dist"
)

func TestBackoffCeiling(t *testing.T) {
	doubling := Backoff{Base: time.Second, Cap: time.Minute, Multiplier: 2}
	tests := []struct {
		name    string
		b       Backoff
		attempt int
		want    time.Duration
	}{
		{"first retry waits under the base", doubling, 0, time.Second},
		{"doubles", doubling, 1, 2 * time.Second},
		{"doubles again", doubling, 5, 32 * time.Second},
		{"capped once base·2^n passes the cap", doubling, 6, time.Minute},
		{"capped for attempt 1000 without overflow", doubling, 1000, time.Minute},
		{"capped for the largest attempt", doubling, math.MaxInt, time.Minute},
		{"a negative attempt counts as 0", doubling, -3, time.Second},
		{"multiplier 1.5", Backoff{Base: 100 * time.Millisecond, Cap: time.Hour, Multiplier: 1.5}, 2, 225 * time.Millisecond},
		{"multiplier 1 never grows", Backoff{Base: time.Second, Cap: time.Hour, Multiplier: 1}, 50, time.Second},
		{"cap equal to base", Backoff{Base: time.Second, Cap: time.Second, Multiplier: 2}, 3, time.Second},
		{"2^62 ns is below the largest duration", Backoff{Base: 1, Cap: math.MaxInt64, Multiplier: 2}, 62, 1 << 62},
		{"2^63 ns would overflow: the cap", Backoff{Base: 1, Cap: math.MaxInt64, Multiplier: 2}, 63, math.MaxInt64},
		{"default: 30s first", DefaultBackoff(), 0, 30 * time.Second},
		{"default: capped at 10m from the sixth retry", DefaultBackoff(), 5, 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.b.Ceiling(tt.attempt))
		})
	}
}

func TestBackoffDelayWithinBounds(t *testing.T) {
	tests := []struct {
		name string
		b    Backoff
	}{
		{"default", DefaultBackoff()},
		{"tiny base", Backoff{Base: time.Nanosecond, Cap: time.Microsecond, Multiplier: 2}},
		{"largest cap", Backoff{Base: time.Second, Cap: math.MaxInt64, Multiplier: 3}},
	}
	attempts := []int{0, 1, 2, 5, 10, 40, 1000, math.MaxInt}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dist.Stream(1, 2, 0)
			for _, n := range attempts {
				ceiling := tt.b.Ceiling(n)
				require.LessOrEqual(t, ceiling, tt.b.Cap)
				for range 2000 {
					d := tt.b.Delay(n, r)
					require.GreaterOrEqual(t, d, time.Duration(0), "attempt %d", n)
					require.Less(t, d, ceiling, "attempt %d: the delay stays under min(cap, base·m^n) = %v", n, ceiling)
				}
			}
		})
	}
}

// fullJitter reports how a sample of delays, as fractions of their ceiling,
// departs from full jitter (uniform on [0, 1)): its mean, the share in each
// tenth of the range, and its extremes. The tolerances are about ten
// standard errors for n = 100 000 draws (mean: 1/sqrt(12n) ≈ 0.0009; a
// tenth's share: sqrt(0.09/n) ≈ 0.00095), so a fixed seed passes by a wide
// margin while any other shape of jitter fails.
func fullJitter(fractions []float64) error {
	const tolerance = 0.01
	var sum float64
	var bins [10]int
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, f := range fractions {
		if f < 0 || f >= 1 {
			return fmt.Errorf("fraction %v outside [0, 1)", f)
		}
		sum += f
		bins[int(f*10)]++
		lo, hi = min(lo, f), max(hi, f)
	}
	n := float64(len(fractions))
	var errs []error
	if mean := sum / n; math.Abs(mean-0.5) > tolerance {
		errs = append(errs, fmt.Errorf("mean %.4f of the ceiling, want 0.5 ± %v", mean, tolerance))
	}
	for i, c := range bins {
		if share := float64(c) / n; math.Abs(share-0.1) > tolerance {
			errs = append(errs, fmt.Errorf("tenth %d holds %.4f of the draws, want 0.1 ± %v", i, share, tolerance))
		}
	}
	if lo > 0.001 || hi < 0.999 {
		errs = append(errs, fmt.Errorf("draws span [%.4f, %.4f] of the ceiling, want them to reach both ends", lo, hi))
	}
	return errors.Join(errs...)
}

func TestBackoffJitterIsFull(t *testing.T) {
	const n = 100_000
	b := Backoff{Base: 250 * time.Millisecond, Cap: 2 * time.Minute, Multiplier: 2}
	// Each sampler returns one delay as a fraction of its ceiling. The last
	// three are other shapes of jitter that the check must reject, so that
	// it is seen to fail when the draw is not full jitter.
	tests := []struct {
		name    string
		attempt int
		draw    func(r *rand.Rand, ceiling time.Duration) time.Duration
		full    bool
	}{
		{"Delay, first retry", 0, func(r *rand.Rand, _ time.Duration) time.Duration { return b.Delay(0, r) }, true},
		{"Delay, fourth retry", 3, func(r *rand.Rand, _ time.Duration) time.Duration { return b.Delay(3, r) }, true},
		{"Delay, capped", 1000, func(r *rand.Rand, _ time.Duration) time.Duration { return b.Delay(1000, r) }, true},
		{"equal jitter is not full", 3, func(r *rand.Rand, c time.Duration) time.Duration {
			return c/2 + time.Duration(r.Float64()*float64(c/2))
		}, false},
		{"no jitter is not full", 3, func(_ *rand.Rand, c time.Duration) time.Duration { return c - 1 }, false},
		{"jitter over half the range is not full", 3, func(r *rand.Rand, c time.Duration) time.Duration {
			return time.Duration(r.Float64() * float64(c) / 2)
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := dist.Stream(20150804, 7, 0)
			ceiling := b.Ceiling(tt.attempt)
			fractions := make([]float64, n)
			for i := range fractions {
				fractions[i] = float64(tt.draw(r, ceiling)) / float64(ceiling)
			}
			if err := fullJitter(fractions); tt.full {
				assert.NoError(t, err)
			} else {
				assert.Error(t, err)
			}
		})
	}
}

func TestBackoffSameStreamSameDelays(t *testing.T) {
	b := DefaultBackoff()
	delays := func(seed uint64, job uint64) []time.Duration {
		r := dist.Stream(seed, job, 0)
		out := make([]time.Duration, 30)
		for i := range out {
			out[i] = b.Delay(i, r)
		}
		return out
	}
	tests := []struct {
		name           string
		seedA, jobA    uint64
		seedB, jobB    uint64
		wantSameDelays bool
	}{
		{"same seed and job", 42, 9, 42, 9, true},
		{"another job", 42, 9, 42, 10, false},
		{"another seed", 42, 9, 43, 9, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := delays(tt.seedA, tt.jobA), delays(tt.seedB, tt.jobB)
			if tt.wantSameDelays {
				assert.Equal(t, a, b)
			} else {
				assert.NotEqual(t, a, b)
			}
		})
	}
}

func TestBackoffDelayTakesOneDraw(t *testing.T) {
	for _, attempt := range []int{0, 4, 1000} {
		t.Run(fmt.Sprint("attempt ", attempt), func(t *testing.T) {
			used, fresh := dist.Stream(5, 1, 0), dist.Stream(5, 1, 0)
			DefaultBackoff().Delay(attempt, used)
			fresh.Uint64()
			assert.Equal(t, fresh.Uint64(), used.Uint64(), "after one Delay the stream is one draw on")
		})
	}
}

func TestBackoffValidate(t *testing.T) {
	tests := []struct {
		name    string
		b       Backoff
		setting string // "" when valid
	}{
		{"default", DefaultBackoff(), ""},
		{"cap equal to base", Backoff{Base: time.Second, Cap: time.Second, Multiplier: 1}, ""},
		{"zero base", Backoff{Base: 0, Cap: time.Minute, Multiplier: 2}, "Base"},
		{"negative base", Backoff{Base: -time.Second, Cap: time.Minute, Multiplier: 2}, "Base"},
		{"cap below base", Backoff{Base: time.Minute, Cap: time.Second, Multiplier: 2}, "Cap"},
		{"zero multiplier is not the default", Backoff{Base: time.Second, Cap: time.Minute}, "Multiplier"},
		{"shrinking multiplier", Backoff{Base: time.Second, Cap: time.Minute, Multiplier: 0.5}, "Multiplier"},
		{"NaN multiplier", Backoff{Base: time.Second, Cap: time.Minute, Multiplier: math.NaN()}, "Multiplier"},
		{"infinite multiplier", Backoff{Base: time.Second, Cap: time.Minute, Multiplier: math.Inf(1)}, "Multiplier"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.b.Validate()
			if tt.setting == "" {
				assert.NoError(t, err)
				return
			}
			var se *SettingError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, "backoff", se.Policy)
			assert.Equal(t, tt.setting, se.Setting)
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}
