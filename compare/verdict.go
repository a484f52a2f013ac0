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

// The words of a Verdict.
const (
	Better       = "better"
	Worse        = "worse"
	Equivalent   = "equivalent"
	Inconclusive = "inconclusive"
)

// Verdict is what a difference's interval says: its Word, and, for Better
// or Worse, whether the interval also lies wholly inside the margin (a
// real difference, too small to matter).
type Verdict struct {
	Word         string
	WithinMargin bool
}

// String is the verdict as the table writes it: "better", "worse, within
// margin", "equivalent", "inconclusive".
func (v Verdict) String() string {
	if v.WithinMargin {
		return v.Word + ", within margin"
	}
	return v.Word
}

// Judge reads a difference's interval [lo, hi] (variant - base) with the
// practical margin (> 0: the smallest difference that matters): Better or
// Worse when the interval lies wholly on one side of 0, on the side that
// better says is an improvement, WithinMargin when it also lies wholly
// inside (-margin, +margin); Equivalent when it holds 0 and lies wholly
// inside the margin; Inconclusive otherwise. Equivalence is a claim as
// the others are: it needs the interval, not only an estimate near 0. A
// margin of 0 makes nothing equivalent. It panics on a Direction other
// than LowerIsBetter and HigherIsBetter, a programming error.
func Judge(lo, hi float64, better Direction, margin float64) Verdict {
	if better != LowerIsBetter && better != HigherIsBetter {
		panic(fmt.Sprintf("compare: Judge: direction %d is neither LowerIsBetter nor HigherIsBetter", better))
	}
	inside := -margin < lo && hi < margin
	switch {
	case hi < 0:
		if better == LowerIsBetter {
			return Verdict{Better, inside}
		}
		return Verdict{Worse, inside}
	case lo > 0:
		if better == HigherIsBetter {
			return Verdict{Better, inside}
		}
		return Verdict{Worse, inside}
	case inside:
		return Verdict{Word: Equivalent}
	}
	return Verdict{Word: Inconclusive}
}

// Bonferroni is the level of each of m intervals that hold together, all
// at once, with probability at least TargetLevel: 1 - (1-TargetLevel)/m.
// It panics for m < 1.
func Bonferroni(m int) float64 {
	if m < 1 {
		panic(fmt.Sprintf("compare: Bonferroni: a family of %d", m))
	}
	return 1 - (1-TargetLevel)/float64(m)
}
