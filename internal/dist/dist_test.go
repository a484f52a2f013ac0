package dist

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func draws(r *rand.Rand, n int) []uint64 {
	out := make([]uint64, n)
	for i := range out {
		out[i] = r.Uint64()
	}
	return out
}

func TestStreamSameSeedAndIDsRepeat(t *testing.T) {
	tests := []struct {
		name string
		seed uint64
		ids  []uint64
	}{
		{"no ids", 1, nil},
		{"one id", 42, []uint64{7}},
		{"job and attempt", 42, []uint64{1234, 3}},
		{"zero seed and ids", 0, []uint64{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := draws(Stream(tt.seed, tt.ids...), 100)
			b := draws(Stream(tt.seed, tt.ids...), 100)
			assert.Equal(t, a, b)
		})
	}
}

func TestStreamDifferentIdentitiesDiffer(t *testing.T) {
	tests := []struct {
		name         string
		seedA, seedB uint64
		idsA, idsB   []uint64
	}{
		{"neighbouring ids", 42, 42, []uint64{1}, []uint64{2}},
		{"neighbouring attempts", 42, 42, []uint64{9, 0}, []uint64{9, 1}},
		{"ids swapped", 42, 42, []uint64{1, 2}, []uint64{2, 1}},
		{"extra id", 42, 42, []uint64{5}, []uint64{5, 0}},
		{"no id and zero id", 42, 42, nil, []uint64{0}},
		{"different seeds", 1, 2, []uint64{5}, []uint64{5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := draws(Stream(tt.seedA, tt.idsA...), 100)
			b := draws(Stream(tt.seedB, tt.idsB...), 100)
			assert.NotEqual(t, a, b)
		})
	}
}

func TestStreamNeighbouringIDsAreUnrelated(t *testing.T) {
	// The first draws of 10k neighbouring jobs' streams are all distinct: a
	// collision of 64-bit values by chance is vanishingly unlikely, so any
	// would mean streams that overlap.
	seen := make(map[uint64]uint64, 10_000)
	for job := range uint64(10_000) {
		v := Stream(7, job, 0).Uint64()
		if prev, dup := seen[v]; dup {
			t.Fatalf("jobs %d and %d start with the same draw", prev, job)
		}
		seen[v] = job
	}
}

func TestLatencyDrawDegenerate(t *testing.T) {
	tests := []struct {
		name string
		l    Latency
		want time.Duration
	}{
		{"zero", Latency{}, 0},
		{"zero mean with spread", Latency{Spread: time.Minute}, 0},
		{"negative mean", Latency{Mean: -time.Second, Spread: time.Second}, 0},
		{"no spread", Latency{Mean: 90 * time.Second}, 90 * time.Second},
		{"negative spread", Latency{Mean: 90 * time.Second, Spread: -time.Second}, 90 * time.Second},
		{"one nanosecond", Latency{Mean: 1}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Stream(1, 2, 3)
			for range 100 {
				require.Equal(t, tt.want, tt.l.Draw(r))
			}
		})
	}
}

// moments returns the sample mean and standard deviation of xs.
func moments(xs []float64) (mean, sd float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1))
}

func TestLatencyDrawMeanAndSpread(t *testing.T) {
	// Tolerances: with 100k draws the standard error of the sample mean is
	// CV/316 (0.32% of the mean at a spread equal to the mean), so 2% is six
	// standard errors or more. The sample standard deviation converges more
	// slowly on a long tail: its standard error is under 0.5% for a spread
	// of at most half the mean (log-normal kurtosis included), so it is
	// checked, to 5%, only there.
	const n = 100_000
	tests := []struct {
		name        string
		l           Latency
		checkSpread bool
	}{
		{"narrow", Latency{Mean: 30 * time.Second, Spread: 3 * time.Second}, true},
		{"clone", Latency{Mean: 30 * time.Second, Spread: 10 * time.Second}, true},
		{"boot", Latency{Mean: 2 * time.Minute, Spread: time.Minute}, true},
		{"short", Latency{Mean: 200 * time.Millisecond, Spread: 100 * time.Millisecond}, true},
		{"wide", Latency{Mean: time.Minute, Spread: time.Minute}, false},
		{"very wide", Latency{Mean: time.Minute, Spread: 90 * time.Second}, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Stream(2015, uint64(i))
			xs := make([]float64, n)
			for j := range xs {
				d := tt.l.Draw(r)
				if d <= 0 {
					t.Fatalf("draw %d is %v, want positive", j, d)
				}
				xs[j] = float64(d)
			}
			mean, sd := moments(xs)
			assert.InEpsilon(t, float64(tt.l.Mean), mean, 0.02, "mean")
			if tt.checkSpread {
				assert.InEpsilon(t, float64(tt.l.Spread), sd, 0.05, "standard deviation")
			}
		})
	}
}

func TestLatencyDrawIsSkewedRight(t *testing.T) {
	// Log-normal: the median is below the mean (long right tail).
	l := Latency{Mean: time.Minute, Spread: 30 * time.Second}
	r := Stream(3)
	below := 0
	const n = 100_000
	for range n {
		if l.Draw(r) < l.Mean {
			below++
		}
	}
	assert.Greater(t, below, n/2)
}

func TestInterarrivalMean(t *testing.T) {
	// Exponential: the standard error of the mean of 100k draws is 0.32% of
	// the mean, so 2% is over six standard errors.
	const n = 100_000
	for i, perMinute := range []float64{0.5, 6, 120, 3000} {
		t.Run(fmt.Sprintf("%g per minute", perMinute), func(t *testing.T) {
			r := Stream(99, uint64(i))
			var sum float64
			for range n {
				d := Interarrival(r, perMinute)
				if d < 0 {
					t.Fatalf("negative interarrival %v", d)
				}
				sum += float64(d)
			}
			want := float64(time.Minute) / perMinute
			assert.InEpsilon(t, want, sum/n, 0.02, "%v per minute", perMinute)
		})
	}
}

func TestDrawsRepeatWithStream(t *testing.T) {
	l := Latency{Mean: 2 * time.Minute, Spread: time.Minute}
	a, b := Stream(5, 10, 1), Stream(5, 10, 1)
	for range 1000 {
		require.Equal(t, l.Draw(a), l.Draw(b))
		require.Equal(t, Interarrival(a, 3), Interarrival(b, 3))
	}
}

// Draws never wrap: however long the mean and spread, and however small the
// arrival rate, a draw is from 0 to MaxDraw (the audit's -build-time
// 1000000h -build-spread 1000000h finished builds at once).
func TestDrawsStayInRange(t *testing.T) {
	huge := time.Duration(math.MaxInt64)
	latencies := []Latency{
		{Mean: 1000000 * time.Hour, Spread: 1000000 * time.Hour},
		{Mean: huge, Spread: huge},
		{Mean: huge},
		{Mean: time.Hour, Spread: huge},
	}
	r := Stream(7)
	for _, l := range latencies {
		for range 10000 {
			d := l.Draw(r)
			require.GreaterOrEqual(t, d, time.Duration(0), "%+v", l)
			require.LessOrEqual(t, d, MaxDraw, "%+v", l)
		}
	}
	for _, perMinute := range []float64{1e-300, 5e-324, 1e-9} {
		for range 1000 {
			d := Interarrival(r, perMinute)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.LessOrEqual(t, d, MaxDraw)
		}
	}
}

// TestSamplerDrawsTheLogNormal: a Sampler's draws, which Latency.Draw
// makes too, are bit for bit those of the log-normal worked out afresh at
// each draw (as Latency.Draw did before Sampler), from the same stream:
// degenerate latencies, a tiny spread, the usual ones, and one past
// MaxDraw.
func TestSamplerDrawsTheLogNormal(t *testing.T) {
	fresh := func(l Latency, r *rand.Rand) time.Duration {
		if l.Mean <= 0 {
			return 0
		}
		if l.Spread <= 0 {
			return min(l.Mean, MaxDraw)
		}
		m, s := float64(l.Mean), float64(l.Spread)
		sigma2 := math.Log1p(s * s / (m * m))
		mu := math.Log(m) - sigma2/2
		return clamp(math.Exp(mu + math.Sqrt(sigma2)*r.NormFloat64()))
	}
	for _, l := range []Latency{
		{}, {Mean: -time.Second}, {Mean: time.Second}, {Mean: time.Second, Spread: -1},
		{Mean: time.Hour, Spread: 1}, {Mean: 90 * time.Second, Spread: 30 * time.Second},
		{Mean: time.Millisecond, Spread: time.Hour}, {Mean: MaxDraw * 2, Spread: time.Second},
	} {
		a, b := Stream(7, 1), Stream(7, 1)
		s := l.Sampler()
		for i := range 100 {
			require.Equal(t, fresh(l, a), s.Draw(b), "%+v, draw %d", l, i)
		}
	}
}
