package compare

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"
)

// TestTheilSenExact: the slope of a line is its slope, with an interval of
// no width; a small sample's estimate is the median of its pairs' slopes,
// worked out by hand; one wild point moves it little.
func TestTheilSenExact(t *testing.T) {
	ts := []float64{0, 1, 2, 3, 4, 5, 6, 7}
	line := make([]float64, len(ts))
	for i, x := range ts {
		line[i] = 5 - 2*x
	}
	tr, err := TheilSen(ts, line, 0.95)
	require.NoError(t, err)
	assert.Equal(t, Trend{Slope: -2, Lo: -2, Hi: -2, Level: 0.95, N: 8, Inflation: 1, Method: TheilSenSen}, tr)

	// Slopes of the 10 pairs of (1,1) (2,3) (3,2) (4,5) (5,4): -1, -1,
	// 1/3, 1/2, 3/4, 1, 1, 4/3, 2, 3; their median is (3/4 + 1)/2.
	tr, err = TheilSen([]float64{1, 2, 3, 4, 5}, []float64{1, 3, 2, 5, 4}, 0.95)
	require.NoError(t, err)
	assert.InDelta(t, 0.875, tr.Slope, 1e-12)
	assert.True(t, tr.Lo <= tr.Slope && tr.Slope <= tr.Hi)

	wild := append([]float64(nil), line...)
	wild[3] = 1000
	tr, err = TheilSen(ts, wild, 0.95)
	require.NoError(t, err)
	assert.InDelta(t, -2, tr.Slope, 0.5, "one wild point of eight")
}

func TestTheilSenBadInput(t *testing.T) {
	tests := []struct {
		name   string
		ts, ys []float64
		level  float64
		want   string
	}{
		{"too few", []float64{1, 2}, []float64{1, 2}, 0.95, "want at least 3"},
		{"unequal", []float64{1, 2, 3}, []float64{1, 2}, 0.95, "as many of each"},
		{"not increasing", []float64{1, 1, 3}, []float64{1, 2, 3}, 0.95, "increasing times"},
		{"not finite", []float64{1, 2, 3}, []float64{1, math.NaN(), 3}, 0.95, "finite"},
		{"a bad level", []float64{1, 2, 3}, []float64{1, 2, 3}, 1, "between 0 and 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := TheilSen(tt.ts, tt.ys, tt.level)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

// ar1 is a series of n points at times 0..n-1: slope*t plus AR(1) noise
// of coefficient phi and innovations of sd 1 (phi 0: independent).
func ar1(r *rand.Rand, n int, slope, phi float64) (ts, ys []float64) {
	d := distuv.Normal{Mu: 0, Sigma: 1, Src: r}
	e := d.Rand() / math.Sqrt(1-phi*phi)
	for i := range n {
		ts = append(ts, float64(i))
		ys = append(ys, slope*float64(i)+e)
		e = phi*e + d.Rand()
	}
	return ts, ys
}

// TestTheilSenCoverage: Sen's interval covers the true slope as often as
// its level says with independent noise; with serially correlated noise
// (the backlog at one sample is most of the next one's), Kendall's
// variance for independent points makes it far too narrow, and the AR(1)
// inflation brings it back to near its level.
func TestTheilSenCoverage(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 1))
	n := reps(1000)
	tests := []struct {
		name        string
		points      int
		phi         float64
		correct     bool
		least, most float64
	}{
		{"independent, corrected", 40, 0, true, 0.95 - tolerance(0.95, n), 1},
		{"independent, uncorrected", 40, 0, false, 0.95 - tolerance(0.95, n), 0.95 + tolerance(0.95, n)},
		{"AR(1) 0.7, uncorrected", 60, 0.7, false, 0, 0.80},
		{"AR(1) 0.7, corrected", 60, 0.7, true, 0.90, 1},
		{"AR(1) 0.9, 120 points, corrected", 120, 0.9, true, 0.88, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			covered := 0
			for range n {
				ts, ys := ar1(r, tt.points, 0.3, tt.phi)
				tr, err := theilSen(ts, ys, 0.95, tt.correct)
				require.NoError(t, err)
				if tr.Lo <= 0.3 && 0.3 <= tr.Hi {
					covered++
				}
			}
			rate := float64(covered) / float64(n)
			t.Logf("%s: %d points, covered in %d of %d (%.1f %%)", tt.name, tt.points, covered, n, 100*rate)
			assert.GreaterOrEqual(t, rate, tt.least)
			assert.LessOrEqual(t, rate, tt.most)
		})
	}
}
