// Package compare holds the statistics that vmstorm's experiments use to
// compare variants of a model over many replicas: the median of a measure
// with a distribution-free 95 % confidence interval; the Kaplan-Meier
// median of times that a run's end may censor; the paired comparison of
// two variants whose replicas share their seeds (the Hodges-Lehmann
// estimate with its Wilcoxon signed-rank interval, censored pairs
// bounded); a verdict read from an interval and a practical margin; the
// level that keeps a family of intervals at 95 % together (Bonferroni);
// the share of replicas with some property (for example, that recovered
// by themselves) with an exact binomial interval; and the unpaired
// bootstrap difference of medians, kept to measure what pairing gains.
//
// Every function is pure: no goroutines, no I/O, and no global random
// source (the signed-rank test keeps a small cache of its exact null
// distributions, which changes no result). The bootstrap draws only from
// the *rand.Rand it is given, so the same seed gives the same interval.
package compare

import (
	"errors"
	"fmt"
	"math"
)

// TargetLevel is the confidence every interval in this package aims for.
const TargetLevel = 0.95

// Method names how an Interval was computed.
type Method string

const (
	// OrderStatistic is the distribution-free interval for a median between
	// two order statistics chosen from the binomial distribution.
	OrderStatistic Method = "order statistic"
	// SampleRange is the interval for a median when the sample is too small
	// (n < 6) for any pair of order statistics to reach TargetLevel: the
	// whole sample range, whose Level is then below TargetLevel.
	SampleRange Method = "sample range"
	// Bootstrap is the percentile bootstrap interval of a difference of
	// medians.
	Bootstrap Method = "bootstrap percentile"
	// SmallBootstrap is a Bootstrap interval from a sample too small
	// (n < 6) for its nominal Level: it is narrower than it should be.
	SmallBootstrap Method = "bootstrap percentile, small sample"
	// Constant marks a difference of medians between two samples that are
	// each constant: every resample gives the same difference, so
	// Lo = Hi = Estimate and no resampling is done.
	Constant Method = "constant samples"
	// ClopperPearson is the exact binomial interval of a share.
	ClopperPearson Method = "Clopper-Pearson"
)

// Interval is an estimate with its confidence interval.
type Interval struct {
	// Estimate is the point estimate: a median, a difference of medians or
	// a share.
	Estimate float64
	// Lo and Hi bound the interval, Lo <= Hi. Estimate lies between them
	// except, rarely, for a lopsided bootstrap distribution.
	Lo, Hi float64
	// Level is the confidence the interval carries. For OrderStatistic and
	// SampleRange it is the exact distribution-free coverage (at least
	// TargetLevel for OrderStatistic, below it for SampleRange); for the
	// other methods it is the nominal TargetLevel.
	Level float64
	// N is the number of observations behind the interval; for a
	// difference, the size of the smaller sample.
	N int
	// Method says how the interval was computed.
	Method Method
}

// Excludes reports whether x lies outside the interval.
func (iv Interval) Excludes(x float64) bool { return x < iv.Lo || x > iv.Hi }

// Errors returned for bad input; the returned errors wrap these and say
// what was given.
var (
	// ErrEmpty: a sample with no values.
	ErrEmpty = errors.New("empty sample")
	// ErrNotFinite: a sample holding NaN or an infinity.
	ErrNotFinite = errors.New("non-finite value")
	// ErrCount: a share whose counts are not 0 <= successes <= n, n >= 1.
	ErrCount = errors.New("invalid count")
)

// check rejects an empty sample or one with a non-finite value, naming the
// sample and saying what is valid.
func check(name string, xs []float64) error {
	if len(xs) == 0 {
		return fmt.Errorf("compare: %s: %w: need at least one finite value", name, ErrEmpty)
	}
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("compare: %s[%d] = %v: %w: values must be finite numbers", name, i, x, ErrNotFinite)
		}
	}
	return nil
}

// middle is the conventional sample median of sorted xs: the middle value,
// or the mean of the two middle values when len(xs) is even. (gonum's
// stat.Quantile at p = 0.5 gives the lower middle value for even n with
// Empirical and interpolates off the middle for odd n with LinInterp, so
// neither is the conventional median.)
func middle(sorted []float64) float64 {
	n := len(sorted)
	return (sorted[(n-1)/2] + sorted[n/2]) / 2
}
