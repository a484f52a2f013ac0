package compare

import (
	"math"
	"math/rand/v2"
	"testing"

	"go.uber.org/goleak"
	"gonum.org/v1/gonum/stat/distuv"

	"vmstorm/internal/racedetect"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// reps is the number of repetitions of a property test: the full count in
// a plain `go test`, a fifth of it under the race detector, which slows the
// bootstrap about tenfold and has nothing to find in a package without
// goroutines. Each test derives its tolerance from the count it ran.
func reps(full int) int {
	if racedetect.On {
		return full / 5
	}
	return full
}

// tolerance is three binomial standard deviations of a rate p estimated
// from r repetitions: a correct interval falls outside it for about one
// seed in 370.
func tolerance(p float64, r int) float64 {
	return 3 * math.Sqrt(p*(1-p)/float64(r))
}

// sampler draws test samples from a distribution seeded by (seed, stream).
type sampler func(seed, stream uint64, n int) []float64

// logNormal draws waits' shape: log-normal with mu = 0, sigma = 1 (median 1,
// standard deviation sqrt((e-1)e) ~ 2.16), times scale, plus shift.
func logNormal(scale, shift float64) sampler {
	return func(seed, stream uint64, n int) []float64 {
		d := distuv.LogNormal{Mu: 0, Sigma: 1, Src: rand.NewPCG(seed, stream)}
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = d.Rand()*scale + shift
		}
		return xs
	}
}

// normal draws from a normal distribution with the given mean and sd 1.
func normal(mean float64) sampler {
	return func(seed, stream uint64, n int) []float64 {
		d := distuv.Normal{Mu: mean, Sigma: 1, Src: rand.NewPCG(seed, stream)}
		xs := make([]float64, n)
		for i := range xs {
			xs[i] = d.Rand()
		}
		return xs
	}
}

// logNormalSD is the standard deviation of the log-normal(0, 1).
var logNormalSD = math.Sqrt((math.E - 1) * math.E)
