package compare

import (
	"fmt"

	"gonum.org/v1/gonum/stat/distuv"
)

// Share returns the share successes/n (for example, of replicas that
// recovered by themselves) with its exact Clopper–Pearson 95 % interval,
// whose bounds are Beta quantiles: Lo = Beta(s, n-s+1) at 2.5 % (0 when
// s = 0) and Hi = Beta(s+1, n-s) at 97.5 % (1 when s = n). Its coverage is at
// least 95 % for every true share. Counts other than 0 <= successes <= n,
// n >= 1, are an error.
func Share(successes, n int) (Interval, error) {
	return ShareAt(successes, n, TargetLevel)
}

// ShareAt is Share with the Clopper–Pearson interval at level (two-sided,
// each tail (1-level)/2), 0 < level < 1.
func ShareAt(successes, n int, level float64) (Interval, error) {
	if n < 1 || successes < 0 || successes > n {
		return Interval{}, fmt.Errorf("compare: share of %d in %d: %w: need n >= 1 and 0 <= successes <= n", successes, n, ErrCount)
	}
	if !(level > 0 && level < 1) {
		return Interval{}, fmt.Errorf("compare: share at level %v: want a level between 0 and 1", level)
	}
	s, m := float64(successes), float64(n)
	tail := (1 - level) / 2
	iv := Interval{Estimate: s / m, Lo: 0, Hi: 1, Level: level, N: n, Method: ClopperPearson}
	if successes > 0 {
		iv.Lo = distuv.Beta{Alpha: s, Beta: m - s + 1}.Quantile(tail)
	}
	if successes < n {
		iv.Hi = distuv.Beta{Alpha: s + 1, Beta: m - s}.Quantile(1 - tail)
	}
	return iv, nil
}
