package compare

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func seeded(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

func TestDiffExact(t *testing.T) {
	tests := []struct {
		name          string
		base, variant []float64
		want          Interval
	}{
		{
			"all values equal",
			[]float64{5, 5, 5}, []float64{5, 5, 5, 5},
			Interval{Estimate: 0, Lo: 0, Hi: 0, Level: TargetLevel, N: 3, Method: Constant},
		},
		{
			"each sample constant, different values",
			[]float64{2}, []float64{3.5, 3.5},
			Interval{Estimate: 1.5, Lo: 1.5, Hi: 1.5, Level: TargetLevel, N: 1, Method: Constant},
		},
		{
			// Resample medians of the variant are 0, 5 or 10; P(0) =
			// P(10) = P(Binomial(6, 1/2) >= 4) = 22/64, far beyond 2.5 %, so
			// the percentile bounds are 0 - 2 and 10 - 2.
			"two-valued variant",
			[]float64{2, 2, 2, 2, 2, 2}, []float64{0, 10, 0, 10, 0, 10},
			Interval{Estimate: 3, Lo: -2, Hi: 8, Level: TargetLevel, N: 6, Method: Bootstrap},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			iv, err := Diff(tt.base, tt.variant, seeded(1))
			require.NoError(t, err)
			assert.Equal(t, tt.want, iv)
		})
	}
}

// TestDiffSmallSample: the bootstrap interval is flagged when the smaller
// sample has fewer than 6 values, the size below which Median falls back
// to the sample range.
func TestDiffSmallSample(t *testing.T) {
	tests := []struct {
		nBase, nVariant int
		want            Method
	}{
		{1, 30, SmallBootstrap},
		{30, 2, SmallBootstrap},
		{5, 5, SmallBootstrap},
		{5, 30, SmallBootstrap},
		{6, 6, Bootstrap},
		{30, 6, Bootstrap},
	}
	draw := normal(0)
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d vs %d", tt.nBase, tt.nVariant), func(t *testing.T) {
			iv, err := Diff(draw(1, 1, tt.nBase), draw(1, 2, tt.nVariant), seeded(1))
			require.NoError(t, err)
			assert.Equal(t, tt.want, iv.Method)
			assert.Equal(t, min(tt.nBase, tt.nVariant), iv.N)
		})
	}
}

func TestDiffBadInput(t *testing.T) {
	ok := []float64{1, 2, 3}
	tests := []struct {
		name          string
		base, variant []float64
		want          error
		says          string
	}{
		{"empty base", nil, ok, ErrEmpty, "base"},
		{"empty variant", ok, []float64{}, ErrEmpty, "variant"},
		{"NaN in variant", ok, []float64{1, math.NaN()}, ErrNotFinite, "variant[1]"},
		{"Inf in base", []float64{math.Inf(1)}, ok, ErrNotFinite, "base[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Diff(tt.base, tt.variant, seeded(1))
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), tt.says)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
}

func TestDiffSeed(t *testing.T) {
	draw := logNormal(1, 0)
	base, variant := draw(1, 1, 30), draw(2, 1, 30)
	keepBase, keepVariant := append([]float64(nil), base...), append([]float64(nil), variant...)

	a, err := Diff(base, variant, seeded(42))
	require.NoError(t, err)
	b, err := Diff(base, variant, seeded(42))
	require.NoError(t, err)
	c, err := Diff(base, variant, seeded(43))
	require.NoError(t, err)

	assert.Equal(t, a, b, "same seed, same interval")
	assert.NotEqual(t, [2]float64{a.Lo, a.Hi}, [2]float64{c.Lo, c.Hi}, "the bounds come from r")
	assert.Equal(t, a.Estimate, c.Estimate, "the estimate does not depend on r")
	assert.Equal(t, keepBase, base, "Diff must not reorder its input")
	assert.Equal(t, keepVariant, variant, "Diff must not reorder its input")

	mb, err := Median(base)
	require.NoError(t, err)
	mv, err := Median(variant)
	require.NoError(t, err)
	assert.Equal(t, mv.Estimate-mb.Estimate, a.Estimate)
}

// TestDiffSelfComparison compares a variant with itself: base and variant
// are drawn from the same log-normal with independent seeds, so every
// interval that excludes 0 is a false alarm. A 95 % interval holds 0 in at
// least 95 % of repetitions; the test allows three binomial standard
// deviations of that rate below it.
func TestDiffSelfComparison(t *testing.T) {
	for _, n := range []int{10, 30} {
		t.Run(fmt.Sprintf("n=%d", n), func(t *testing.T) {
			t.Parallel()
			draw := logNormal(1, 0)
			r := reps(1000)
			same := 0
			for i := range r {
				seed := uint64(i)
				iv, err := Diff(draw(seed, 1, n), draw(seed, 2, n), seeded(seed))
				require.NoError(t, err)
				require.Equal(t, Bootstrap, iv.Method)
				if !iv.Excludes(0) {
					same++
				}
			}
			rate := float64(same) / float64(r)
			tol := tolerance(TargetLevel, r)
			t.Logf("n=%d: the interval holds 0 in %d/%d = %.4f (need >= %.2f - %.4f)", n, same, r, rate, TargetLevel, tol)
			assert.GreaterOrEqual(t, rate, TargetLevel-tol)
		})
	}
}

// TestDiffPower gives the variant a known effect of 1.5 standard deviations
// of the distribution with 30 replicas each, and requires the right verdict
// in at least 90 % of repetitions and the opposite verdict in none. (For
// the normal, the sample median's sd is sqrt(pi/2)/sqrt(30) ~ 0.229, so the
// difference of medians is about 4.6 of its sd from 0: the expected power
// is about 99.6 %.)
func TestDiffPower(t *testing.T) {
	tests := []struct {
		name          string
		base, variant sampler
		better        Direction
		want, wrong   string
	}{
		{"normal, variant 1.5 sd higher, lower is better", normal(0), normal(1.5), LowerIsBetter, Worse, Better},
		{"normal, variant 1.5 sd lower, lower is better", normal(0), normal(-1.5), LowerIsBetter, Better, Worse},
		{"log-normal waits, variant 1.5 sd higher, higher is better", logNormal(1, 0), logNormal(1, 1.5*logNormalSD), HigherIsBetter, Better, Worse},
	}
	const n = 30
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := reps(200)
			right, wrong := 0, 0
			for i := range r {
				seed := uint64(i)
				iv, err := Diff(tt.base(seed, 1, n), tt.variant(seed, 2, n), seeded(seed))
				require.NoError(t, err)
				switch Judge(iv.Lo, iv.Hi, tt.better, 0).Word {
				case tt.want:
					right++
				case tt.wrong:
					wrong++
				}
			}
			power := float64(right) / float64(r)
			t.Logf("%s: %q in %d/%d = %.3f, %q in %d", tt.name, tt.want, right, r, power, tt.wrong, wrong)
			assert.GreaterOrEqual(t, power, 0.90)
			assert.Zero(t, wrong)
		})
	}
}
