package compare

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gonum.org/v1/gonum/stat/distuv"
)

func TestIsotonic(t *testing.T) {
	tests := []struct {
		name   string
		ys, ws []float64
		want   []float64
	}{
		{"already monotone", []float64{0, 0.2, 0.8}, []float64{1, 1, 1}, []float64{0, 0.2, 0.8}},
		{"one violation pooled", []float64{1, 3, 2, 4}, []float64{1, 1, 1, 1}, []float64{1, 2.5, 2.5, 4}},
		{"weighted", []float64{0.6, 0.2}, []float64{3, 1}, []float64{0.5, 0.5}},
		{"a cascade", []float64{0.9, 0.5, 0.1}, []float64{1, 1, 1}, []float64{0.5, 0.5, 0.5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Isotonic(tt.ys, tt.ws)
			require.Len(t, got, len(tt.want))
			for i := range got {
				assert.InDelta(t, tt.want[i], got[i], 1e-12)
			}
		})
	}
}

// TestCrossHalfExact: the estimate interpolates the fit where it crosses
// one half; the interval is bounded by the last point below one half with
// confidence and the first above it, at each point's Bonferroni level.
func TestCrossHalfExact(t *testing.T) {
	c, err := CrossHalf([]Count{{X: 3, K: 8, N: 10}, {X: 1, K: 0, N: 10}, {X: 4, K: 10, N: 10}, {X: 2, K: 2, N: 10}}, 4)
	require.NoError(t, err)
	assert.True(t, c.Found)
	assert.InDelta(t, 2.5, c.Estimate, 1e-12, "0.2 at 2, 0.8 at 3")
	assert.Equal(t, 1.0, c.Lo, "0 of 10: below one half with confidence; 2 of 10 not at 98.75 %")
	assert.Equal(t, 4.0, c.Hi, "10 of 10: above; 8 of 10 not")
	assert.InDelta(t, 1-0.1/4, c.PointLevel, 1e-12)
	assert.Equal(t, []float64{1, 2, 3, 4}, []float64{c.Points[0].X, c.Points[1].X, c.Points[2].X, c.Points[3].X}, "in order of x")

	below, err := CrossHalf([]Count{{X: 1, K: 9, N: 10}, {X: 2, K: 10, N: 10}}, 2)
	require.NoError(t, err)
	assert.True(t, below.Below)
	assert.False(t, below.Found)
	assert.True(t, math.IsInf(below.Lo, -1))

	none, err := CrossHalf([]Count{{X: 1, K: 0, N: 20}, {X: 2, K: 1, N: 20}}, 2)
	require.NoError(t, err)
	assert.False(t, none.Found || none.Below)
	assert.Equal(t, 2.0, none.Lo, "below one half with confidence at both")
	assert.True(t, math.IsInf(none.Hi, 1))
	assert.True(t, none.Monotone())

	wrong, err := CrossHalf([]Count{{X: 1, K: 20, N: 20}, {X: 2, K: 0, N: 20}}, 2)
	require.NoError(t, err)
	assert.False(t, wrong.Monotone(), "stuck with confidence left of a point that is not")

	for _, bad := range [][]Count{nil, {{X: 1, K: 3, N: 2}}, {{X: 1, K: 1, N: 2}, {X: 1, K: 1, N: 2}}, {{X: math.NaN(), K: 1, N: 2}}} {
		_, err := CrossHalf(bad, 4)
		assert.Error(t, err, "%v", bad)
	}
	_, err = CrossHalf([]Count{{X: 1, K: 1, N: 2}, {X: 2, K: 1, N: 2}}, 1)
	assert.Error(t, err, "a design of fewer points than given")
}

// TestCrossHalfCoverage: over a grid refined round by round, as an
// experiment's tipping rounds do (each round's point midway across the
// crossing, with trials of its own), the interval covers the true
// crossing of a logistic share at least as often as its level. With each
// point's bounds at 95 % instead of Bonferroni's level over the design,
// it covers less often.
func TestCrossHalfCoverage(t *testing.T) {
	const (
		truth  = 4.37
		scale  = 0.25
		rounds = 4
		n      = 12
	)
	grid := []float64{3, 3.5, 4, 4.5, 5, 5.5, 6}
	share := func(x float64) float64 { return 1 / (1 + math.Exp(-(x-truth)/scale)) }
	r := rand.New(rand.NewPCG(5, 9))
	count := func(x float64) Count {
		return Count{X: x, K: int(distuv.Binomial{N: n, P: share(x), Src: r}.Rand()), N: n}
	}
	design := len(grid) + rounds
	reps := reps(1000)
	covered, coveredLoose := 0, 0
	for range reps {
		var cs []Count
		for _, x := range grid {
			cs = append(cs, count(x))
		}
		for range rounds {
			c, err := CrossHalf(cs, design)
			require.NoError(t, err)
			if !c.Found {
				break
			}
			i := slices.IndexFunc(c.Fit, func(p float64) bool { return p >= 0.5 })
			cs = append(cs, count((c.Points[i-1].X+c.Points[i].X)/2))
		}
		c, err := CrossHalf(cs, design)
		require.NoError(t, err)
		if c.Lo < truth && truth <= c.Hi {
			covered++
		}
		// Each point at 95 %: the bounds recomputed at that level.
		lo, hi := math.Inf(-1), math.Inf(1)
		for _, p := range cs {
			iv, err := ShareAt(p.K, p.N, 0.90) // a tail of 5 % each side
			require.NoError(t, err)
			if iv.Hi < 0.5 {
				lo = max(lo, p.X)
			}
			if iv.Lo > 0.5 {
				hi = min(hi, p.X)
			}
		}
		if lo < truth && truth <= hi {
			coveredLoose++
		}
	}
	rate, loose := float64(covered)/float64(reps), float64(coveredLoose)/float64(reps)
	t.Logf("covered in %d of %d (%.1f %%); with each point's bounds at 95 %%, %d (%.1f %%)", covered, reps, 100*rate, coveredLoose, 100*loose)
	assert.GreaterOrEqual(t, rate, TargetLevel-tolerance(TargetLevel, reps))
	assert.Less(t, loose, rate, "Bonferroni over the design is what holds the level")
}
