package compare

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"

	"gonum.org/v1/gonum/stat/distuv"
)

// Difference is one pair's difference, variant minus baseline: known
// exactly (Lo == Hi), or only bounded, when the figure of one side or of
// both was censored (a run that ended before the event): then a bound is
// infinite. Lo <= Hi, neither NaN, Lo never +Inf and Hi never -Inf.
type Difference struct{ Lo, Hi float64 }

// Exact is a difference known exactly.
func Exact(d float64) Difference { return Difference{d, d} }

// The methods of a Paired comparison.
const (
	// SignedRankExact: the Hodges-Lehmann estimate, and the interval of
	// the Wilcoxon signed-rank test from its exact null distribution.
	SignedRankExact Method = "Hodges-Lehmann, Wilcoxon signed-rank, exact"
	// SignedRankNormal: the same, the null distribution approximated by
	// the normal (more than ExactPairs pairs).
	SignedRankNormal Method = "Hodges-Lehmann, Wilcoxon signed-rank, normal approximation"
	// TooFewPairs: no pair of Walsh averages reaches the level asked (5
	// pairs or fewer at 95 %): the interval is the whole line.
	TooFewPairs Method = "too few pairs"
)

// ExactPairs is the most pairs whose signed-rank null distribution is
// computed exactly (beyond, the normal approximation is within 3e-4 of it,
// 4e-5 in the tails below 0.001).
const ExactPairs = 300

// Paired is a paired comparison: the Hodges-Lehmann estimate of the pairs'
// differences, the median of their Walsh averages (d_i + d_j)/2, i <= j,
// with the distribution-free interval between two of those averages that
// the Wilcoxon signed-rank test gives, and the test's p-value.
type Paired struct {
	// EstimateLo and EstimateHi bound the estimate: equal, the estimate,
	// when every pair's difference is exact; with bounded pairs, the
	// estimates with every difference at its lowest and at its highest
	// (either may be infinite).
	EstimateLo, EstimateHi float64
	// Lo and Hi bound the interval, the lower from the differences at
	// their lowest, the upper from them at their highest, so that it holds
	// the interval the exact differences would have given; either may be
	// infinite.
	Lo, Hi float64
	// Level is the interval's coverage: for SignedRankExact the exact
	// distribution-free one (at least the level asked); for
	// SignedRankNormal the level asked; 1 for TooFewPairs.
	Level float64
	// P is the two-sided p-value of the test of no difference that is the
	// interval's dual: the interval at level 1-a excludes 0 if and only if
	// P <= a.
	P float64
	// N is the pairs, Bounded those whose difference is only bounded.
	N, Bounded int
	Method     Method
}

// Estimate is the Hodges-Lehmann estimate, and false when bounded pairs
// leave it known only between EstimateLo and EstimateHi.
func (p Paired) Estimate() (float64, bool) {
	return p.EstimateLo, p.EstimateLo == p.EstimateHi
}

// SignedRank compares paired data by the differences of its pairs: the
// Hodges-Lehmann estimate with its interval at level (from 0.5 to below 1)
// and the dual p-value.
//
// Of the M = n(n+1)/2 Walsh averages of n differences, the interval is
// [W(k), W(M+1-k)], k the largest rank with P(T <= k-1) <= (1-level)/2,
// T the signed-rank statistic under the null hypothesis (Binomial-like
// on 0..M: computed exactly up to ExactPairs pairs, by the normal
// approximation beyond). With no ties, T is the count of positive Walsh
// averages, and the interval is the set of shifts the test does not
// reject. Ties and zero differences (common with the common random numbers
// of paired replicas) are kept, and a Walsh average equal to 0 counts
// against rejecting: P = 2 min(P(T <= #{W <= 0}), P(T <= #{W >= 0})),
// capped at 1. Breaking such ties at random would give T its null
// distribution; counting them against can only make the interval wider
// and P larger, so that the interval covers with at least its level and
// the test is its exact dual (Pratt's and Wilcoxon's conventions for
// zeros each give a test that no Walsh interval is the dual of). Every
// difference the same gives that difference with a zero-width interval.
//
// A bounded difference (Lo < Hi) enters the lower bounds at Lo and the
// upper bounds at Hi: as each Walsh average grows with each difference,
// the interval holds the one the exact differences would have given, and
// covers at least as often; an infinite bound may make it unbounded.
//
// An empty sample, a level outside [0.5, 1), or a difference that is NaN
// or not Lo <= Hi is an error.
func SignedRank(diffs []Difference, level float64) (Paired, error) {
	n := len(diffs)
	if n == 0 {
		return Paired{}, fmt.Errorf("compare: differences: %w: need at least one pair", ErrEmpty)
	}
	if !(level >= 0.5 && level < 1) {
		return Paired{}, fmt.Errorf("compare: level %v: want from 0.5 to below 1", level)
	}
	lo, negHi := make([]float64, n), make([]float64, n)
	bounded := 0
	for i, d := range diffs {
		if math.IsNaN(d.Lo) || math.IsNaN(d.Hi) || d.Lo > d.Hi || math.IsInf(d.Lo, 1) || math.IsInf(d.Hi, -1) {
			return Paired{}, fmt.Errorf("compare: difference %d [%v, %v]: %w: want Lo <= Hi, Lo below +Inf, Hi above -Inf", i, d.Lo, d.Hi, ErrNotFinite)
		}
		if d.Lo != d.Hi {
			bounded++
		}
		lo[i], negHi[i] = d.Lo, -d.Hi
	}
	slices.Sort(lo)
	slices.Sort(negHi) // the upper bounds, negated: their k-th largest is -kth(negHi, k)
	m := n * (n + 1) / 2
	cdf := nullCDF(n)
	p := Paired{N: n, Bounded: bounded, Method: SignedRankExact}
	if n > ExactPairs {
		p.Method = SignedRankNormal
	}
	p.EstimateLo = walshMedian(lo)
	p.EstimateHi = -walshMedian(negHi)
	if bounded == 0 {
		p.EstimateHi = p.EstimateLo // the same average, whatever the rounding of a negation
	}
	tail := (1 - level) / 2
	// k-1 is the largest count c with cdf(c) <= tail: k is the first
	// count whose cdf is above it.
	k := sort.Search(m+1, func(c int) bool { return cdf(c) > tail })
	if k == 0 {
		p.Lo, p.Hi, p.Level, p.Method = math.Inf(-1), math.Inf(1), 1, TooFewPairs
	} else {
		p.Lo, p.Hi = walshKth(lo, k), -walshKth(negHi, k)
		p.Level = level
		if p.Method == SignedRankExact {
			p.Level = 1 - 2*cdf(k-1)
		}
	}
	below, above := walshCountLE(lo, 0), walshCountLE(negHi, 0) // #{W <= 0} of the lows, #{W >= 0} of the highs
	p.P = min(1, 2*min(cdf(below), cdf(above)))
	return p, nil
}

// walsh is the Walsh average (a+b)/2, computed so that it cannot overflow,
// is exactly a when a == b and exactly 0 when a == -b, and grows with each
// argument.
func walsh(a, b float64) float64 { return a/2 + b/2 }

// walshCountLE is how many Walsh averages of sorted xs are at most t: for
// each i, those with j >= i are a run from i, whose end only moves down as
// i grows.
func walshCountLE(xs []float64, t float64) int {
	n, count := len(xs), 0
	j := n - 1
	for i := range n {
		for j >= i && walsh(xs[i], xs[j]) > t {
			j--
		}
		if j < i {
			break
		}
		count += j - i + 1
	}
	return count
}

// walshKth is the k-th smallest (from 1) Walsh average of sorted xs,
// found without listing the n(n+1)/2 of them: a bisection over the
// float64s in their order, each step a count, at most 64 steps.
func walshKth(xs []float64, k int) float64 {
	if walshCountLE(xs, math.Inf(-1)) >= k {
		return math.Inf(-1)
	}
	// walshCountLE(at(lo)) < k <= walshCountLE(at(hi)); between the keys
	// of -Inf and +Inf every key is a number, none NaN.
	lo, hi := orderKey(math.Inf(-1)), orderKey(math.Inf(1))
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if walshCountLE(xs, fromOrderKey(mid)) >= k {
			hi = mid
		} else {
			lo = mid
		}
	}
	// No float64 lies between at(lo) and at(hi), and the k-th average is
	// above the one and at most the other: it is at(hi). (+0 for -0.)
	return fromOrderKey(hi) + 0
}

// walshMedian is the median of the Walsh averages of sorted xs: the
// Hodges-Lehmann estimate.
func walshMedian(xs []float64) float64 {
	n := len(xs)
	m := n * (n + 1) / 2
	if m%2 == 1 {
		return walshKth(xs, (m+1)/2)
	}
	return walsh(walshKth(xs, m/2), walshKth(xs, m/2+1)) + 0
}

// orderKey maps float64s to uint64s in the same order (-0 just below +0).
func orderKey(f float64) uint64 {
	b := math.Float64bits(f)
	if b>>63 == 1 {
		return ^b
	}
	return b | 1<<63
}

func fromOrderKey(k uint64) float64 {
	if k>>63 == 1 {
		return math.Float64frombits(k &^ (1 << 63))
	}
	return math.Float64frombits(^k)
}

// nullCDF is the null distribution function of the signed-rank statistic
// of n pairs, c -> P(T <= c) for c in 0..n(n+1)/2: exact up to ExactPairs
// pairs, the normal approximation with a continuity correction beyond.
func nullCDF(n int) func(c int) float64 {
	if n > ExactPairs {
		m := float64(n) * float64(n+1) / 2
		sd := math.Sqrt(float64(n) * float64(n+1) * float64(2*n+1) / 24)
		return func(c int) float64 { return distuv.UnitNormal.CDF((float64(c) + 0.5 - m/2) / sd) }
	}
	f := exactCDF(n)
	return func(c int) float64 { return f[c] }
}

// exactCDFs caches exact null distributions by n: an experiment's
// comparisons mostly share theirs. At most maxCached are kept.
var exactCDFs struct {
	sync.Mutex
	byN map[int][]float64
}

const maxCached = 8

// exactCDF is P(T <= c) for T = the sum of the ranks 1..n each taken with
// probability 1/2, by dynamic programming over the ranks (n^3/6 steps).
func exactCDF(n int) []float64 {
	exactCDFs.Lock()
	defer exactCDFs.Unlock()
	if f, ok := exactCDFs.byN[n]; ok {
		return f
	}
	m := n * (n + 1) / 2
	f := make([]float64, m+1)
	f[0] = 1
	top := 0
	for i := 1; i <= n; i++ {
		top += i
		for t := top; t >= 0; t-- { // downwards: f[t-i] is still the previous rank's
			v := f[t]
			if t >= i {
				v += f[t-i]
			}
			f[t] = v / 2
		}
	}
	for t := 1; t <= m; t++ {
		f[t] += f[t-1]
	}
	f[m] = 1 // the sum of the probabilities, without its rounding
	if exactCDFs.byN == nil || len(exactCDFs.byN) >= maxCached {
		exactCDFs.byN = map[int][]float64{}
	}
	exactCDFs.byN[n] = f
	return f
}
