package compare

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// TheilSenSen names the trend's method: the Theil-Sen slope with Sen's
// interval, its variance inflated for serial correlation.
const TheilSenSen Method = "Theil-Sen, Sen's interval, variance inflated for AR(1) serial correlation"

// Trend is the slope of a series over time with its interval.
type Trend struct {
	// Slope is the Theil-Sen estimate: the median of the slopes between
	// every pair of points. Lo and Hi bound Sen's interval at Level; an
	// unbounded side is infinite.
	Slope, Lo, Hi float64
	Level         float64
	// N is the points, and Inflation the factor by which the serial
	// correlation of the series widened the variance of Kendall's S (1 for
	// points that are not correlated, or correlated negatively).
	N         int
	Inflation float64
	Method    Method
}

// TheilSen is the trend of ys over ts (ts increasing, ys finite, at least
// 3 points) with Sen's interval at level, two-sided.
//
// The estimate (Theil 1950, Sen 1968) is the median of the n(n-1)/2 slopes
// (y_j - y_i)/(t_j - t_i), i < j: robust to a few wild points, and
// unbiased for a linear trend under any symmetric noise. Sen's interval
// takes two of those slopes, ranked, from the distribution of Kendall's S
// under no trend (its normal approximation, with the variance reduced for
// ties in ys). Kendall's S assumes independent points, and a model's
// series are not: the backlog at one sample is most of the backlog at the
// next. So the variance is multiplied by the effective-sample-size factor
// of an AR(1) series, (1+r)/(1-r) (Bayley and Hammersley 1946), with r the
// lag-1 autocorrelation of the series less its Theil-Sen trend, corrected
// for its small-sample bias (r + (1+4r)/n, Marriott and Pope 1954) and
// capped at 0.98; a negative r is taken as 0, so that the interval is
// never narrower than the independent one. Hamed and Rao's (1998) factor,
// from every significant lag of the ranks, was tried and left out: on
// AR(1) noise of coefficient 0.7 and 60 points its 95 % interval covered
// in 81 % of 600 repetitions (a trial while this was written), this one's
// in 93.9 % of 1,000 (TestTheilSenCoverage).
func TheilSen(ts, ys []float64, level float64) (Trend, error) {
	return theilSen(ts, ys, level, true)
}

// theilSen is TheilSen; without correct, the variance is Kendall's for
// independent points (for the test that shows what the correction does).
func theilSen(ts, ys []float64, level float64, correct bool) (Trend, error) {
	n := len(ts)
	switch {
	case n != len(ys):
		return Trend{}, fmt.Errorf("compare: trend of %d times and %d values: want as many of each", n, len(ys))
	case n < 3:
		return Trend{}, fmt.Errorf("compare: trend of %d points: %w: want at least 3", n, ErrEmpty)
	case !(level > 0 && level < 1):
		return Trend{}, fmt.Errorf("compare: trend at level %v: want a level between 0 and 1", level)
	}
	if err := check("times", ts); err != nil {
		return Trend{}, err
	}
	if err := check("values", ys); err != nil {
		return Trend{}, err
	}
	for i := 1; i < n; i++ {
		if !(ts[i] > ts[i-1]) {
			return Trend{}, fmt.Errorf("compare: trend: times[%d] = %v after %v: want increasing times", i, ts[i], ts[i-1])
		}
	}
	slopes := make([]float64, 0, n*(n-1)/2)
	for i := range n {
		for j := i + 1; j < n; j++ {
			slopes = append(slopes, (ys[j]-ys[i])/(ts[j]-ts[i]))
		}
	}
	slices.Sort(slopes)
	tr := Trend{Slope: middle(slopes), Level: level, N: n, Method: TheilSenSen}

	// Kendall's S's variance under no trend, ties in ys taken out.
	v := float64(n) * float64(n-1) * float64(2*n+5)
	sorted := slices.Clone(ys)
	slices.Sort(sorted)
	for i := 0; i < n; {
		j := i
		for j < n && sorted[j] == sorted[i] {
			j++
		}
		t := float64(j - i)
		v -= t * (t - 1) * (2*t + 5)
		i = j
	}
	v /= 18
	tr.Inflation = 1
	if correct {
		tr.Inflation = ar1Inflation(ts, ys, tr.Slope)
	}
	v *= tr.Inflation

	N := float64(len(slopes))
	c := distuv.UnitNormal.Quantile(1-(1-level)/2) * math.Sqrt(v)
	lo, hi := (N-c)/2, (N+c)/2+1 // 1-based ranks of the bounds (Sen 1968)
	tr.Lo, tr.Hi = math.Inf(-1), math.Inf(1)
	if k := int(math.Floor(lo)); k >= 1 {
		tr.Lo = slopes[k-1]
	}
	if k := int(math.Ceil(hi)); k <= len(slopes) {
		tr.Hi = slopes[k-1]
	}
	return tr, nil
}

// ar1Inflation is the factor (1+r)/(1-r) by which AR(1) serial
// correlation r multiplies the variance of a statistic of n points, with r
// the lag-1 autocorrelation of ys less the trend slope*ts, bias-corrected
// and capped (TheilSen); at least 1.
func ar1Inflation(ts, ys []float64, slope float64) float64 {
	n := len(ys)
	d := make([]float64, n)
	mean := 0.0
	for i := range ys {
		d[i] = ys[i] - slope*ts[i]
		mean += d[i]
	}
	mean /= float64(n)
	var num, den float64
	for i := range d {
		den += (d[i] - mean) * (d[i] - mean)
		if i+1 < n {
			num += (d[i] - mean) * (d[i+1] - mean)
		}
	}
	if den == 0 {
		return 1
	}
	r := num / den
	r = min(r+(1+4*r)/float64(n), 0.98)
	if r <= 0 {
		return 1
	}
	return (1 + r) / (1 - r)
}
