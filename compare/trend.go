package compare

import (
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// TheilSenSen names the trend's method: the Theil-Sen slope with Sen's
// interval, its variance corrected for serial correlation after Hamed and
// Rao.
const TheilSenSen Method = "Theil-Sen, Sen's interval, Hamed-Rao correction"

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
// next. So the variance is multiplied by Hamed and Rao's (1998) factor
// n/n*, from the autocorrelations of the ranks of the series with its
// Theil-Sen trend removed, at the lags where they are significant at 5 %
// (Anderson's bounds); a factor below 1 (negative correlation) is taken
// as 1, so that the interval is never narrower than the independent one.
func TheilSen(ts, ys []float64, level float64) (Trend, error) {
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
	tr.Inflation = hamedRao(ts, ys, tr.Slope)
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

// hamedRao is Hamed and Rao's (1998) variance factor n/n* for Kendall's S
// of a serially correlated series: from the lag-k autocorrelations of the
// ranks of ys less the trend slope*ts, each kept only where it lies
// outside Anderson's 95 % bounds for no correlation; at least 1.
func hamedRao(ts, ys []float64, slope float64) float64 {
	n := len(ys)
	detrended := make([]float64, n)
	for i := range ys {
		detrended[i] = ys[i] - slope*ts[i]
	}
	r := ranks(detrended)
	mean := float64(n+1) / 2
	var den float64
	for _, x := range r {
		den += (x - mean) * (x - mean)
	}
	if den == 0 {
		return 1
	}
	sum := 0.0
	nf := float64(n)
	for k := 1; k < n-2; k++ {
		var num float64
		for i := 0; i+k < n; i++ {
			num += (r[i] - mean) * (r[i+k] - mean)
		}
		rho := num / den
		bound := 1.96 * math.Sqrt(nf-float64(k)-1) / (nf - float64(k))
		center := -1 / (nf - float64(k))
		if rho > center-bound && rho < center+bound {
			continue // not significant
		}
		m := nf - float64(k)
		sum += m * (m - 1) * (m - 2) * rho
	}
	f := 1 + 2*sum/(nf*(nf-1)*(nf-2))
	return max(f, 1)
}

// ranks are the ranks of xs, from 1, ties given their mean rank.
func ranks(xs []float64) []float64 {
	n := len(xs)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int {
		switch {
		case xs[a] < xs[b]:
			return -1
		case xs[a] > xs[b]:
			return 1
		}
		return 0
	})
	out := make([]float64, n)
	for i := 0; i < n; {
		j := i
		for j < n && xs[idx[j]] == xs[idx[i]] {
			j++
		}
		r := float64(i+j+1) / 2 // ranks i+1..j, their mean
		for k := i; k < j; k++ {
			out[idx[k]] = r
		}
		i = j
	}
	return out
}
