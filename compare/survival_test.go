package compare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func observed(xs ...float64) []Censorable {
	out := make([]Censorable, len(xs))
	for i, x := range xs {
		out[i] = Censorable{At: x}
	}
	return out
}

func censoredAt(xs ...float64) []Censorable {
	out := observed(xs...)
	for i := range out {
		out[i].Censored = true
	}
	return out
}

// TestSurvivalMedianWithoutCensoring: with every time observed, the
// Kaplan-Meier median is the sample median, odd or even.
func TestSurvivalMedianWithoutCensoring(t *testing.T) {
	for _, n := range []int{1, 2, 5, 6, 29, 30} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			xs := ranked(n)
			iv, err := SurvivalMedian(observed(xs...))
			require.NoError(t, err)
			m, err := Median(xs)
			require.NoError(t, err)
			assert.Equal(t, m.Estimate, iv.Estimate)
			assert.LessOrEqual(t, iv.Lo, iv.Estimate)
			assert.GreaterOrEqual(t, iv.Hi, iv.Estimate)
			assert.Equal(t, n, iv.N)
			assert.Equal(t, KaplanMeier, iv.Method)
		})
	}
}

// TestSurvivalMedianGehan: the textbook example, the remission times of
// Gehan's 6-MP group (21 patients, 12 censored), whose Kaplan-Meier median
// is 23 weeks; its 95 % interval, from the log-log band, runs from 13
// weeks and, as the curve never falls far below 1/2, has no upper bound.
func TestSurvivalMedianGehan(t *testing.T) {
	times := append(observed(6, 6, 6, 7, 10, 13, 16, 22, 23), censoredAt(6, 9, 10, 11, 17, 19, 20, 25, 32, 32, 34, 35)...)
	iv, err := SurvivalMedian(times)
	require.NoError(t, err)
	assert.Equal(t, 23.0, iv.Estimate)
	assert.Equal(t, 13.0, iv.Lo)
	assert.True(t, math.IsInf(iv.Hi, 1), "upper bound %v", iv.Hi)
	assert.Equal(t, 21, iv.N)
}

// TestSurvivalMedianNotReached: when more than half the times are censored
// before the curve reaches 1/2, the median is not reached, and the
// interval has no upper bound. Its lower bound is where the band's lower
// edge reaches 1/2 (after one event in five, at 3, it is at 0.21), or the
// last time seen if it never does: the median then lies beyond it.
func TestSurvivalMedianNotReached(t *testing.T) {
	tests := []struct {
		name  string
		times []Censorable
		lo    float64
	}{
		{"all censored at one time", censoredAt(52, 52, 52, 52), 52},
		{"one event, then censored", append(observed(3), censoredAt(10, 11, 12, 13)...), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv, err := SurvivalMedian(tt.times)
			require.NoError(t, err)
			assert.True(t, math.IsInf(iv.Estimate, 1), "not reached: %v", iv.Estimate)
			assert.Equal(t, tt.lo, iv.Lo)
			assert.True(t, math.IsInf(iv.Hi, 1))
		})
	}
}

func TestSurvivalMedianBadInput(t *testing.T) {
	for _, tt := range []struct {
		name  string
		times []Censorable
		want  error
	}{
		{"none", nil, ErrEmpty},
		{"NaN", observed(1, math.NaN()), ErrNotFinite},
		{"+Inf", censoredAt(math.Inf(1)), ErrNotFinite},
		{"negative", observed(-1, 2), ErrNotFinite},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := SurvivalMedian(tt.times)
			require.ErrorIs(t, err, tt.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

// TestSurvivalMedianCoverage is the calibration of the censored median:
// samples of exponential times whose true median is 1, censored by the
// end of a run at a fixed time or by a uniform follow-up, some heavily.
// The interval must cover the true median in at least 93 % of
// repetitions (a nominal 95 % interval; Brookmeyer-Crowley's is
// approximate) and the share censored must be what the design gives.
func TestSurvivalMedianCoverage(t *testing.T) {
	tests := []struct {
		name               string
		n                  int
		censor             func(r *rand.Rand) float64
		minShare, maxShare float64
	}{
		{"n=30, none censored", 30, func(*rand.Rand) float64 { return math.Inf(1) }, 0, 0},
		{"n=30, the run ends at 2 medians", 30, func(*rand.Rand) float64 { return 2 }, 0.2, 0.3},
		{"n=30, uniform follow-up to 4 medians", 30, func(r *rand.Rand) float64 { return 4 * r.Float64() }, 0.25, 0.35},
		{"n=10, the run ends at 1.5 medians", 10, func(*rand.Rand) float64 { return 1.5 }, 0.3, 0.4},
		{"n=100, the run ends at 1.2 medians", 100, func(*rand.Rand) float64 { return 1.2 }, 0.4, 0.47},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reps := reps(4000)
			r := rand.New(rand.NewPCG(17, uint64(tt.n)))
			covered, censored, total := 0, 0, 0
			for range reps {
				times := make([]Censorable, tt.n)
				for i := range times {
					x := r.ExpFloat64() / math.Ln2 // median 1
					if c := tt.censor(r); c < x {
						times[i] = Censorable{At: c, Censored: true}
						censored++
					} else {
						times[i] = Censorable{At: x}
					}
					total++
				}
				iv, err := SurvivalMedian(times)
				require.NoError(t, err)
				if iv.Lo <= 1 && 1 <= iv.Hi {
					covered++
				}
			}
			rate, share := float64(covered)/float64(reps), float64(censored)/float64(total)
			t.Logf("%s: %.1f %% censored; the interval covered the true median in %d/%d = %.4f", tt.name, 100*share, covered, reps, rate)
			assert.GreaterOrEqual(t, rate, 0.93)
			assert.LessOrEqual(t, rate, 0.99, "not so wide as to say nothing")
			assert.True(t, share >= tt.minShare && share <= tt.maxShare, "share censored %.3f", share)
		})
	}
}
