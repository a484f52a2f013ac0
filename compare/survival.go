package compare

import (
	"cmp"
	"fmt"
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// KaplanMeier is the method of a median of censored times.
const KaplanMeier Method = "Kaplan-Meier, Brookmeyer-Crowley"

// Censorable is one time: observed (the event came at At), or censored
// (the run ended at At before it came).
type Censorable struct {
	At       float64
	Censored bool
}

// SurvivalMedian returns the Kaplan-Meier median of times, some of them
// censored, with the Brookmeyer-Crowley 95 % interval: the times at which
// the hypothesis that half have had the event is not rejected, from the
// pointwise band of the survival curve with Greenwood's variance on the
// log-log scale (Kalbfleisch and Prentice's transform, which keeps the
// band within [0, 1] and covers better in small samples than the
// untransformed band Brookmeyer and Crowley used).
//
// The median is the first time at which the curve is at or below 1/2 (the
// midpoint to the next event when it is exactly 1/2, so that with no
// censoring it is the sample median); +Inf, "not reached", when more than
// half the times are censored before it. The interval's lower bound is the
// first time the band's lower edge reaches 1/2, or the last time seen if
// it never does (the median then lies beyond it); its upper bound is the
// first time the band's upper edge does, +Inf if it never does. Level is
// the nominal 0.95; N the times.
//
// An empty sample, or a time that is negative or not finite, is an error.
func SurvivalMedian(times []Censorable) (Interval, error) {
	if len(times) == 0 {
		return Interval{}, fmt.Errorf("compare: times: %w: need at least one", ErrEmpty)
	}
	for i, t := range times {
		if math.IsNaN(t.At) || math.IsInf(t.At, 0) || t.At < 0 {
			return Interval{}, fmt.Errorf("compare: times[%d] = %v: %w: times must be finite and not negative", i, t.At, ErrNotFinite)
		}
	}
	ts := slices.Clone(times)
	// At one time, events before censorings: a run censored at t was still
	// at risk at t.
	slices.SortFunc(ts, func(a, b Censorable) int {
		if c := cmp.Compare(a.At, b.At); c != 0 {
			return c
		}
		switch {
		case a.Censored == b.Censored:
			return 0
		case a.Censored:
			return 1
		}
		return -1
	})
	const half, eps = 0.5, 1e-9
	z := distuv.UnitNormal.Quantile(1 - (1-TargetLevel)/2)
	iv := Interval{Estimate: math.Inf(1), Lo: math.NaN(), Hi: math.Inf(1), Level: TargetLevel, N: len(ts), Method: KaplanMeier}
	s, greenwood := 1.0, 0.0
	atRisk := len(ts)
	for i := 0; i < len(ts); {
		t := ts[i].At
		events, leaving := 0, 0
		for ; i < len(ts) && ts[i].At == t; i++ {
			leaving++
			if !ts[i].Censored {
				events++
			}
		}
		if events > 0 {
			d, r := float64(events), float64(atRisk)
			s *= 1 - d/r
			if events < atRisk {
				greenwood += d / (r * (r - d))
			}
			lower, upper := band(s, greenwood, z)
			if math.IsInf(iv.Estimate, 1) && s <= half+eps {
				iv.Estimate = t
				if math.Abs(s-half) <= eps {
					iv.Estimate = (t + nextEvent(ts, i, t)) / 2
				}
			}
			if math.IsNaN(iv.Lo) && lower <= half+eps {
				iv.Lo = t
			}
			if math.IsInf(iv.Hi, 1) && upper < half-eps {
				iv.Hi = t
			}
		}
		atRisk -= leaving
	}
	if math.IsNaN(iv.Lo) {
		iv.Lo = ts[len(ts)-1].At // the median lies beyond what was seen
	}
	return iv, nil
}

// band is the pointwise 95 % band of a survival estimate s with Greenwood
// sum g, on the log-log scale: s^exp(±z se), se = sqrt(g)/|log s|.
func band(s, g, z float64) (lower, upper float64) {
	if s <= 0 || s >= 1 {
		return s, s
	}
	se := math.Sqrt(g) / math.Abs(math.Log(s))
	return math.Pow(s, math.Exp(z*se)), math.Pow(s, math.Exp(-z*se))
}

// nextEvent is the first event time after t among ts[i:], or the last
// time seen if there is none.
func nextEvent(ts []Censorable, i int, t float64) float64 {
	for ; i < len(ts); i++ {
		if !ts[i].Censored && ts[i].At > t {
			return ts[i].At
		}
	}
	return ts[len(ts)-1].At
}
