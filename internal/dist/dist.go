// Package dist draws the model's random numbers: Poisson arrivals and
// positive latencies with a given mean and spread, from streams that a seed
// and an identity fix, so that a draw does not depend on which goroutine
// happens to make it first.
package dist

import (
	"math"
	"math/rand/v2"
	"time"
)

// Stream returns the random stream of one identity, a list of ids, fixed by
// a seed. The model does not call it: it draws through its Purposes, each
// of which names its own identity (Purpose.Stream). Stream is for draws
// outside the model (an experiment's seeds for its replicas) and for tests.
func Stream(seed uint64, id ...uint64) *rand.Rand {
	// Small enough to inline, so that a caller that keeps the stream to
	// itself holds it on its stack.
	return rand.New(rand.NewPCG(seed, key(seed, id)))
}

// key is the second half of the PCG seed of the stream of id.
//
//go:noinline
func key(seed uint64, id []uint64) uint64 {
	h := mix(seed)
	for _, v := range id {
		h = mix(h ^ v)
	}
	return h
}

// mix is SplitMix64's finaliser: neighbouring ids get unrelated streams.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// Latency is a positive duration with a mean and a spread (standard
// deviation). A zero spread gives the mean every time; otherwise draws are
// log-normal, the usual shape of service times: never negative, with a long
// right tail.
type Latency struct {
	Mean   time.Duration
	Spread time.Duration
}

// Draw returns one latency.
func (l Latency) Draw(r *rand.Rand) time.Duration { return l.Sampler().Draw(r) }

// Sampler is a Latency made ready to draw from, its log-normal's
// parameters worked out once: for a caller that draws from one Latency
// again and again (the cluster, three draws a VM). Its draws are a
// Latency's, bit for bit.
type Sampler struct {
	fixed     time.Duration // every draw, unless logNormal
	logNormal bool
	mu, sigma float64
}

// Sampler returns l's Sampler.
func (l Latency) Sampler() Sampler {
	if l.Mean <= 0 {
		return Sampler{}
	}
	if l.Spread <= 0 {
		return Sampler{fixed: min(l.Mean, MaxDraw)}
	}
	m, s := float64(l.Mean), float64(l.Spread)
	sigma2 := math.Log1p(s * s / (m * m))
	return Sampler{logNormal: true, mu: math.Log(m) - sigma2/2, sigma: math.Sqrt(sigma2)}
}

// Draw returns one latency.
func (s Sampler) Draw(r *rand.Rand) time.Duration {
	if !s.logNormal {
		return s.fixed
	}
	return clamp(math.Exp(s.mu + s.sigma*r.NormFloat64()))
}

// MaxDraw is the longest duration a draw returns: a century, far past any
// run (a run lasts at most ten years of model time), and far from the
// largest time.Duration, so that model time plus a draw cannot wrap.
const MaxDraw = 100 * 365 * 24 * time.Hour

// clamp converts ns to a duration from 0 to MaxDraw. A float64 past the
// range of int64 has no defined conversion: it would wrap negative and
// finish at once.
func clamp(ns float64) time.Duration {
	if !(ns < float64(MaxDraw)) { // NaN too
		return MaxDraw
	}
	return time.Duration(max(ns, 0))
}

// Interarrival returns the time to the next arrival of a Poisson process
// with the given rate in arrivals per minute.
func Interarrival(r *rand.Rand, perMinute float64) time.Duration {
	return clamp(r.ExpFloat64() / perMinute * float64(time.Minute))
}
