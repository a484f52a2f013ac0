package compare

import (
	"fmt"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"
)

// TestShareExact checks Clopper–Pearson bounds against closed forms (for
// 0 or n successes the bound solves (1-p)^n = 0.025 or p^n = 0.025) and
// against published values (R's binom.test).
func TestShareExact(t *testing.T) {
	tests := []struct {
		successes, n int
		lo, hi       float64
	}{
		{0, 30, 0, 1 - math.Pow(0.025, 1.0/30)},
		{30, 30, math.Pow(0.025, 1.0/30), 1},
		{0, 1, 0, 0.975},
		{1, 1, 0.025, 1},
		{5, 10, 0.1870860, 0.8129140},
		{1, 10, 0.002528579, 0.4450161},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d of %d", tt.successes, tt.n), func(t *testing.T) {
			iv, err := Share(tt.successes, tt.n)
			require.NoError(t, err)
			assert.Equal(t, float64(tt.successes)/float64(tt.n), iv.Estimate)
			assert.InDelta(t, tt.lo, iv.Lo, 1e-6)
			assert.InDelta(t, tt.hi, iv.Hi, 1e-6)
			assert.Equal(t, TargetLevel, iv.Level)
			assert.Equal(t, tt.n, iv.N)
			assert.Equal(t, ClopperPearson, iv.Method)
		})
	}
}

func TestShareBadInput(t *testing.T) {
	tests := []struct{ successes, n int }{{0, 0}, {1, 0}, {-1, 10}, {11, 10}, {0, -3}}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d of %d", tt.successes, tt.n), func(t *testing.T) {
			_, err := Share(tt.successes, tt.n)
			require.ErrorIs(t, err, ErrCount)
			assert.Contains(t, err.Error(), "0 <= successes <= n")
		})
	}
}

// TestShareCoverage computes, without simulation, the exact probability
// that the interval covers a true share p: the sum of Binomial(n, p)
// probabilities of the counts whose interval contains p. Clopper–Pearson
// guarantees at least 95 % for every p.
func TestShareCoverage(t *testing.T) {
	for _, n := range []int{1, 5, 10, 30, 100} {
		for _, p := range []float64{0.01, 0.05, 0.1, 0.25, 0.5, 0.7, 0.9, 0.99} {
			b := distuv.Binomial{N: float64(n), P: p}
			coverage := 0.0
			for s := 0; s <= n; s++ {
				iv, err := Share(s, n)
				require.NoError(t, err)
				if !iv.Excludes(p) {
					coverage += b.Prob(float64(s))
				}
			}
			assert.GreaterOrEqual(t, coverage, TargetLevel, "n=%d p=%v", n, p)
		}
	}
}
