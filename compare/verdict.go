package compare

import "fmt"

// Direction says which way a measure improves.
type Direction int

const (
	// LowerIsBetter: waits, backlog, leaked VMs, time to recover.
	LowerIsBetter Direction = iota + 1
	// HigherIsBetter: completions, the share that recovers by itself.
	HigherIsBetter
)

// The verdicts Verdict returns.
const (
	Better            = "better"
	Worse             = "worse"
	NoClearDifference = "no clear difference"
)

// Verdict reads a difference interval (variant - base, as Diff returns it)
// as one word: Better or Worse when the interval excludes 0, on the side
// that better says is an improvement, and NoClearDifference when it
// contains 0. It panics on a Direction other than LowerIsBetter and
// HigherIsBetter, a programming error.
func Verdict(diff Interval, better Direction) string {
	if better != LowerIsBetter && better != HigherIsBetter {
		panic(fmt.Sprintf("compare: Verdict: direction %d is neither LowerIsBetter nor HigherIsBetter", better))
	}
	switch {
	case diff.Hi < 0:
		if better == LowerIsBetter {
			return Better
		}
		return Worse
	case diff.Lo > 0:
		if better == HigherIsBetter {
			return Better
		}
		return Worse
	default:
		return NoClearDifference
	}
}
