package compare

import (
	"cmp"
	"fmt"
	"math"
	"slices"
)

// MonotoneBracket names the tipping point's method: an isotonic fit for
// the estimate, and Clopper-Pearson bounds at each point, Bonferroni over
// the design's points, for the interval.
const MonotoneBracket Method = "isotonic fit; monotone bracketing by Clopper-Pearson bounds, Bonferroni over the design's points"

// Count is how many of N trials at X had the property (K).
type Count struct {
	X    float64
	K, N int
}

// Crossing is where a share that rises with x crosses one half: its
// estimate and its interval.
type Crossing struct {
	// Found: the fitted share crosses one half between two points. Below:
	// it is at least one half already at the first point; neither: it
	// stays below one half at every point (the estimate is then NaN).
	Found, Below bool
	Estimate     float64
	// Lo and Hi bound the crossing: Lo is the largest x whose share is
	// below one half with confidence, Hi the smallest whose share is above
	// it; -Inf or +Inf when no point is.
	Lo, Hi float64
	// Level is the interval's (all the points' bounds right together), and
	// PointLevel each point's two-sided Clopper-Pearson level.
	Level, PointLevel float64
	// Fit is the isotonic fit at each point, in the order of x.
	Fit    []float64
	Points []Count // the counts, in the order of x
	Method Method
}

// Monotone reports whether the interval is consistent with a share that
// rises with x: a point below one half with confidence lies left of every
// point above it with confidence.
func (c Crossing) Monotone() bool { return c.Lo < c.Hi }

// CrossHalf finds where a share that does not fall as x grows crosses one
// half, from counts at several x (each X once, N >= 1), with an interval
// that holds at TargetLevel over a design that may test up to m points
// (m >= len(counts); the points of an adaptive design chosen from earlier
// results must each have trials of their own, independent of that choice).
//
// The estimate interpolates linearly, between the last point whose fitted
// share is below one half and the next, the isotonic (pool adjacent
// violators) fit of the shares weighted by N: the maximum-likelihood
// estimate of a non-decreasing share.
//
// The interval needs only that the share does not fall as x grows. Each
// point's share gets a Clopper-Pearson interval with a tail of
// (1-TargetLevel)/m on each side. If the upper bound of the share at x is
// below one half, the crossing x* lies above x; if the lower bound is
// above one half, it lies at or below x. A point lies on one side of x*
// only, so only one of its two bounds can mislead: with probability at
// least TargetLevel no point's does (Bonferroni over the m points), and
// then x* lies in [Lo, Hi].
func CrossHalf(counts []Count, m int) (Crossing, error) {
	if len(counts) == 0 {
		return Crossing{}, fmt.Errorf("compare: crossing of no points: %w", ErrEmpty)
	}
	if m < len(counts) {
		return Crossing{}, fmt.Errorf("compare: crossing of %d points in a design of %d: want m at least the points", len(counts), m)
	}
	cs := slices.Clone(counts)
	slices.SortFunc(cs, func(a, b Count) int { return cmp.Compare(a.X, b.X) })
	for i, c := range cs {
		switch {
		case c.N < 1 || c.K < 0 || c.K > c.N:
			return Crossing{}, fmt.Errorf("compare: crossing: %d of %d at %v: %w", c.K, c.N, c.X, ErrCount)
		case math.IsNaN(c.X) || math.IsInf(c.X, 0):
			return Crossing{}, fmt.Errorf("compare: crossing at %v: %w", c.X, ErrNotFinite)
		case i > 0 && c.X == cs[i-1].X:
			return Crossing{}, fmt.Errorf("compare: crossing: two counts at %v: want each x once", c.X)
		}
	}
	shares, weights := make([]float64, len(cs)), make([]float64, len(cs))
	for i, c := range cs {
		shares[i], weights[i] = float64(c.K)/float64(c.N), float64(c.N)
	}
	out := Crossing{Fit: Isotonic(shares, weights), Points: cs, Lo: math.Inf(-1), Hi: math.Inf(1),
		Level: TargetLevel, PointLevel: 1 - 2*(1-TargetLevel)/float64(m), Method: MonotoneBracket}
	i := slices.IndexFunc(out.Fit, func(p float64) bool { return p >= 0.5 })
	switch {
	case i == 0:
		out.Below = true
	case i > 0:
		out.Found = true
		x0, x1, p0, p1 := cs[i-1].X, cs[i].X, out.Fit[i-1], out.Fit[i]
		out.Estimate = x0 + (0.5-p0)/(p1-p0)*(x1-x0)
	}
	for _, c := range cs {
		iv, err := ShareAt(c.K, c.N, out.PointLevel)
		if err != nil {
			return Crossing{}, err
		}
		if iv.Hi < 0.5 {
			out.Lo = max(out.Lo, c.X)
		}
		if iv.Lo > 0.5 {
			out.Hi = min(out.Hi, c.X)
		}
	}
	return out, nil
}

// Isotonic is the non-decreasing sequence nearest ys in weighted least
// squares (weights above 0), by pooling adjacent violators.
func Isotonic(ys, ws []float64) []float64 {
	type block struct {
		mean, w float64
		n       int
	}
	var bs []block
	for i, y := range ys {
		bs = append(bs, block{y, ws[i], 1})
		for len(bs) > 1 && bs[len(bs)-2].mean > bs[len(bs)-1].mean {
			a, b := bs[len(bs)-2], bs[len(bs)-1]
			w := a.w + b.w
			bs = append(bs[:len(bs)-2], block{(a.mean*a.w + b.mean*b.w) / w, w, a.n + b.n})
		}
	}
	out := make([]float64, 0, len(ys))
	for _, b := range bs {
		for range b.n {
			out = append(out, b.mean)
		}
	}
	return out
}
