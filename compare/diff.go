package compare

import (
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Resamples is the number of bootstrap resamples behind a Diff interval.
const Resamples = 2000

// Diff returns the difference of medians, median(variant) - median(base),
// with a 95 % percentile bootstrap interval: Resamples times it resamples
// each sample with replacement (drawing from r only, base first), takes the
// difference of the resamples' medians, and bounds the interval by the
// 2.5 % and 97.5 % empirical quantiles of those differences. The same
// seeded r gives the same interval.
//
// When the smaller sample is too small for Median's order-statistic
// interval (n < 6) the interval is still computed but Method is
// SmallBootstrap: the bootstrap then undercovers (measured on log-normal
// samples compared with themselves, 4,000 repetitions: 66 % at n = 2,
// 90 % at n = 3, 96.5 % at n = 5).
//
// When both samples are each constant every resample gives the same
// difference, so Diff returns Lo = Hi = Estimate with Method Constant
// without drawing from r. An empty sample or a non-finite value is an
// error.
func Diff(base, variant []float64, r *rand.Rand) (Interval, error) {
	if err := check("base", base); err != nil {
		return Interval{}, err
	}
	if err := check("variant", variant); err != nil {
		return Interval{}, err
	}
	b := slices.Clone(base)
	v := slices.Clone(variant)
	slices.Sort(b)
	slices.Sort(v)
	iv := Interval{
		Estimate: middle(v) - middle(b),
		Level:    TargetLevel,
		N:        min(len(b), len(v)),
		Method:   Bootstrap,
	}
	if b[0] == b[len(b)-1] && v[0] == v[len(v)-1] {
		iv.Lo, iv.Hi, iv.Method = iv.Estimate, iv.Estimate, Constant
		return iv, nil
	}
	bs := newResampler(b)
	vs := newResampler(v)
	d := make([]float64, Resamples)
	for i := range d {
		mb := bs.median(r)
		d[i] = vs.median(r) - mb
	}
	slices.Sort(d)
	tail := (1 - TargetLevel) / 2
	iv.Lo = stat.Quantile(tail, stat.Empirical, d, nil)
	iv.Hi = stat.Quantile(1-tail, stat.Empirical, d, nil)
	if _, ok := rank(iv.N); !ok {
		iv.Method = SmallBootstrap
	}
	return iv, nil
}

// resampler draws bootstrap resamples of one sorted sample and returns
// their medians without sorting: a resample is a count of draws per
// original value, and its order statistics are the original values in
// order, each repeated by its count.
type resampler struct {
	sorted []float64
	counts []int
}

func newResampler(sorted []float64) *resampler {
	return &resampler{sorted: sorted, counts: make([]int, len(sorted))}
}

// median draws one resample of the same size from r and returns its median.
func (s *resampler) median(r *rand.Rand) float64 {
	n := len(s.sorted)
	clear(s.counts)
	for range n {
		s.counts[r.IntN(n)]++
	}
	lo, hi := (n-1)/2, n/2 // 0-based ranks of the middle values
	var mlo float64
	found, seen := false, 0
	for i, c := range s.counts {
		seen += c
		if !found && seen > lo {
			mlo, found = s.sorted[i], true
		}
		if seen > hi {
			return (mlo + s.sorted[i]) / 2
		}
	}
	panic("compare: resample shorter than its sample")
}
