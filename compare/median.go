package compare

import (
	"slices"
	"sort"

	"gonum.org/v1/gonum/stat/distuv"
)

// Median returns the sample median of xs with a distribution-free 95 %
// confidence interval between two order statistics.
//
// The number B of values below the true median of any continuous
// distribution is Binomial(n, 1/2), so [x(j), x(k)] (1-based order
// statistics) covers it with probability P(j <= B < k). Median takes the
// narrowest symmetric pair, j = c+1 and k = n-c with c the largest count
// such that P(B <= c) <= 0.025; Level is then 1 - 2 P(B <= c) >= 0.95 (for
// n = 10: x(2), x(9), 0.979; for n = 30: x(10), x(21), 0.957). For n < 6
// no pair reaches 0.95: the interval is then the sample range, Method is
// SampleRange and Level is its lower coverage 1 - 2^(1-n).
//
// An empty sample or a non-finite value is an error.
func Median(xs []float64) (Interval, error) {
	if err := check("sample", xs); err != nil {
		return Interval{}, err
	}
	sorted := slices.Clone(xs)
	slices.Sort(sorted)
	n := len(sorted)
	c, ok := rank(n)
	method := OrderStatistic
	if !ok {
		method = SampleRange
	}
	b := distuv.Binomial{N: float64(n), P: 0.5}
	return Interval{
		Estimate: middle(sorted),
		Lo:       sorted[c],
		Hi:       sorted[n-1-c],
		Level:    1 - 2*b.CDF(float64(c)),
		N:        n,
		Method:   method,
	}, nil
}

// rank returns c, the largest count with P(B <= c) <= (1-TargetLevel)/2 for
// B ~ Binomial(n, 1/2), so that x(c+1) and x(n-c) bound the median's
// interval; ok is false, and c is 0, when no count qualifies (n < 6).
func rank(n int) (c int, ok bool) {
	b := distuv.Binomial{N: float64(n), P: 0.5}
	tail := (1 - TargetLevel) / 2
	// P(B <= c) grows with c: find the first count past the tail.
	c = sort.Search(n, func(c int) bool { return b.CDF(float64(c)) > tail }) - 1
	if c < 0 {
		return 0, false
	}
	return c, true
}
