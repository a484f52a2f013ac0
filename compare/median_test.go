package compare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// ranked returns the values 1..n in a fixed shuffled order, so that the
// order statistic x(j) is j.
func ranked(n int) []float64 {
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i + 1)
	}
	rand.New(rand.NewPCG(uint64(n), 1)).Shuffle(n, func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	return xs
}

// TestMedianExact checks the ranks and coverage against values worked out
// by hand from Binomial(n, 1/2) (exact fractions; the ranks agree with the
// published tables for n = 20, 50, 100).
func TestMedianExact(t *testing.T) {
	tests := []struct {
		name     string
		xs       []float64
		estimate float64
		lo, hi   float64
		level    float64
		method   Method
	}{
		{"n=1 is its own range", []float64{7}, 7, 7, 7, 0, SampleRange},
		{"n=2 range covers half the time", []float64{3, 1}, 2, 1, 3, 0.5, SampleRange},
		{"n=5 range short of 95%", ranked(5), 3, 1, 5, 1 - 2.0/32, SampleRange},
		{"n=6 range reaches 95%", ranked(6), 3.5, 1, 6, 1 - 2.0/64, OrderStatistic},
		{"n=10 x(2) to x(9)", ranked(10), 5.5, 2, 9, 501.0 / 512, OrderStatistic},
		{"n=20 x(6) to x(15)", ranked(20), 10.5, 6, 15, 125647.0 / 131072, OrderStatistic},
		{"n=30 x(10) to x(21)", ranked(30), 15.5, 10, 21, 513906825.0 / 536870912, OrderStatistic},
		{"n=50 x(18) to x(33)", ranked(50), 25.5, 18, 33, 0.9671608624357315, OrderStatistic},
		{"n=100 x(40) to x(61)", ranked(100), 50.5, 40, 61, 0.9647997997822951, OrderStatistic},
		{"all equal", []float64{4, 4, 4, 4, 4, 4, 4}, 4, 4, 4, 1 - 2*1.0/128, OrderStatistic},
		{"negative and unsorted", []float64{-1, -9, 3, -4, 0, 2, -2}, -1, -9, 3, 1 - 2*1.0/128, OrderStatistic},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := append([]float64(nil), tt.xs...)
			iv, err := Median(tt.xs)
			require.NoError(t, err)
			assert.Equal(t, tt.estimate, iv.Estimate)
			assert.Equal(t, tt.lo, iv.Lo)
			assert.Equal(t, tt.hi, iv.Hi)
			assert.InDelta(t, tt.level, iv.Level, 1e-9)
			assert.Equal(t, len(tt.xs), iv.N)
			assert.Equal(t, tt.method, iv.Method)
			assert.Equal(t, in, tt.xs, "Median must not reorder its input")
		})
	}
}

func TestMedianBadInput(t *testing.T) {
	tests := []struct {
		name string
		xs   []float64
		want error
	}{
		{"nil", nil, ErrEmpty},
		{"empty", []float64{}, ErrEmpty},
		{"NaN", []float64{1, math.NaN(), 3}, ErrNotFinite},
		{"+Inf", []float64{1, math.Inf(1)}, ErrNotFinite},
		{"-Inf", []float64{math.Inf(-1)}, ErrNotFinite},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Median(tt.xs)
			require.ErrorIs(t, err, tt.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

// TestMedianCoverage draws many log-normal samples, whose true median is 1,
// and counts how often the interval covers it. For a continuous
// distribution the order-statistic interval's coverage is exactly its
// Level, so the observed rate must lie within three binomial standard
// deviations of Level, which must itself reach 95 % for an OrderStatistic
// interval. The test fails if the bounds are not the order statistics the
// Level was computed for (for example, at n = 30, x(11)..x(20) covers
// 90.1 % while x(10)..x(21) claims 95.7 %); TestMedianExact pins the ranks.
func TestMedianCoverage(t *testing.T) {
	tests := []struct {
		n      int
		method Method
	}{
		{5, SampleRange},
		{10, OrderStatistic},
		{30, OrderStatistic},
		{100, OrderStatistic},
	}
	draw := logNormal(1, 0)
	const trueMedian = 1.0
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d", tt.n), func(t *testing.T) {
			t.Parallel()
			const r = 4000 // cheap enough for the race detector too
			covered := 0
			var level float64
			for i := range r {
				iv, err := Median(draw(uint64(i), uint64(tt.n), tt.n))
				require.NoError(t, err)
				require.Equal(t, tt.method, iv.Method)
				level = iv.Level
				if !iv.Excludes(trueMedian) {
					covered++
				}
			}
			rate := float64(covered) / float64(r)
			tol := tolerance(level, r)
			t.Logf("n=%d: covered the true median in %d/%d = %.4f (Level %.4f ± %.4f)", tt.n, covered, r, rate, level, tol)
			assert.InDelta(t, level, rate, tol)
			if tt.method == OrderStatistic {
				assert.GreaterOrEqual(t, level, TargetLevel)
			}
		})
	}
}
