package experiment

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"

	"vmstorm/compare"
	"vmstorm/internal/format"
	"vmstorm/scenario"
)

// WriteTable writes the table for a person: per measure, each variant's
// median [interval], and against the baseline its paired difference
// [interval] and verdict, or why it has none; under them the method and
// the family; then the metastability verdicts, and the sweep's grid.
func WriteTable(w io.Writer, e *scenario.Experiment, t *Table) error {
	fmt.Fprintf(w, "experiment %s\n", t.Experiment)
	if e.Description != "" {
		fmt.Fprintf(w, "  %s\n", e.Description)
	}
	fmt.Fprintf(w, "  base %s, %d replicas per variant, seed %d\n", e.Base.Name, e.Replicas, e.Seed)
	fmt.Fprintf(w, "  medians with 95%% intervals (Kaplan-Meier where a run's end can cut a time short)\n")
	fmt.Fprintf(w, "  %s\n", MethodText(t))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(f string, a ...any) { fmt.Fprintf(tw, f+"\n", a...) }
	for k, m := range t.Measures {
		head := strings.ToUpper(m.Name)
		if m.Unit != "" {
			head += " (" + m.Unit + ")"
		}
		head += ", margin ±" + format.Figure(t.Margins[k].Value)
		median, extra := "median", ""
		if m.Censored() {
			median, extra = "KM median", "\tcensored"
		}
		p("\t")
		p("%s\t%s [95%% CI]\t%s\tverdict\tn%s", head, median, DiffHeader(t), extra)
		for _, v := range t.Variants {
			c := v.Cells[k]
			med, diff, verdict := "none", "", v.Missing()
			if c.N > 0 {
				med = MedianText(c.Median)
			}
			if cmp := c.Comparison; cmp != nil {
				diff, verdict = DiffText(cmp), cmp.Text()
			}
			censored := ""
			if m.Censored() {
				censored = fmt.Sprintf("\t%d", c.Censored)
			}
			p("  %s\t%s\t%s\t%s\t%d%s", v.Name, med, diff, verdict, c.N, censored)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, para := range []string{FamilyText(t), VerdictRule(t)} {
		for i, line := range wrap(para, tableWidth) {
			fmt.Fprintf(w, "  %s%s\n", strings.Repeat("  ", min(i, 1)), line)
		}
	}
	if len(e.Recovery.RemovedBy) > 0 {
		p("\t")
		p("RECOVERS BY ITSELF\tshare [95%% CI]\ttime to healthy, h [95%% CI]\tof")
		for _, v := range t.Variants {
			share, took := RecoveryText(v.Recovery)
			p("  %s\t%s\t%s\t%d", v.Name, share, took, v.Recovery.Removed)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "  (healthy again within %s after %s, with no other action; overloaded: stormed before the first fault,\n"+
			"  so that not recovering is overload, not a state that sustains itself)\n",
			format.Duration(e.Recovery.Within), strings.Join(e.Recovery.RemovedBy, " or "))
	}
	if s := t.Sweep; s != nil {
		fmt.Fprintf(tw, "\nSWEEP of %s: the share that recovers by itself, %d replicas a point\n", s.Variant, e.Sweep.Replicas)
		head := "  " + s.X.Key + " \\ " + s.Y.Key
		if s.Y.Key == "" {
			head = "  " + s.X.Key
		}
		ys := s.Y.Values
		if len(ys) == 0 {
			ys = []string{"share"}
		}
		p("%s\t%s", head, strings.Join(ys, "\t"))
		for x, row := range s.Cells {
			var cells []string
			for _, c := range row {
				share, _ := RecoveryText(c)
				cells = append(cells, share)
			}
			p("  %s\t%s", s.X.Values[x], strings.Join(cells, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintf(w, "  %s\n", s.Verdict())
	}
	return tw.Flush()
}

// MethodText names the comparisons' method, for the table's head.
func MethodText(t *Table) string {
	return fmt.Sprintf("differences paired by replica with %s (the same seed): Hodges-Lehmann estimate, Wilcoxon signed-rank interval", t.Baseline)
}

// DiffHeader is the difference column's head, with the family's level.
func DiffHeader(t *Table) string {
	if t.Family.Size == 0 {
		return "paired difference"
	}
	return fmt.Sprintf("paired difference [%s CI]", LevelText(t.Family.Level))
}

// FamilyText says, under the table, what its family is and how it is kept
// right together.
func FamilyText(t *Table) string {
	family := "family: no comparison has a verdict"
	if t.Family.Size > 0 {
		family = fmt.Sprintf("family: %d comparisons (each variant against %s on each measure), %s: each interval at %s, all %d together at %s",
			t.Family.Size, t.Baseline, FamilyMethod, LevelText(t.Family.Level), t.Family.Size, LevelText(compare.TargetLevel))
	}
	if n := t.Family.WithoutVerdict; n > 0 {
		family += fmt.Sprintf("; %d without a verdict (not run, incomplete, or no figure)", n)
	}
	return family
}

// VerdictRule says how a verdict is read from its interval and margin.
func VerdictRule(t *Table) string {
	return fmt.Sprintf("verdict: better or worse when the interval lies wholly on one side of 0 (within margin: inside ±margin too), "+
		"equivalent when it holds 0 inside ±margin, inconclusive otherwise; margin: %s %% of %s's median, at least a floor per unit, unless the file sets it",
		format.Figure(100*RelativeMargin), t.Baseline)
}

// tableWidth is where the lines under the table wrap.
const tableWidth = 110

// wrap breaks s into lines of at most width runes, at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case len([]rune(line))+1+len([]rune(word)) > width:
			lines = append(lines, line)
			line = word
		default:
			line += " " + word
		}
	}
	return append(lines, line)
}

// LevelText writes a confidence level as a percentage, never rounded up:
// 0.999 is "99.9%", 1 - 0.05/7 is "99.28%".
func LevelText(level float64) string {
	pct := math.Floor(level*10000+1e-6) / 100
	return strconv.FormatFloat(pct, 'f', -1, 64) + "%"
}

// MedianText writes a median with its interval: 412.5 [281, 529]; a
// Kaplan-Meier median not reached as "not reached [52, ∞]".
func MedianText(iv compare.Interval) string {
	if math.IsInf(iv.Estimate, 1) {
		return fmt.Sprintf("not reached [%s, %s]", format.Figure(iv.Lo), format.Figure(iv.Hi))
	}
	return IntervalText(iv)
}

// IntervalText writes an estimate with its interval: 412.5 [281, 529].
func IntervalText(iv compare.Interval) string {
	return fmt.Sprintf("%s [%s, %s]", format.Figure(iv.Estimate), format.Figure(iv.Lo), format.Figure(iv.Hi))
}

// DiffText writes a comparison's difference with its interval and signs:
// -45 [-60, -38]; "" with no verdict. When censored pairs leave the
// estimate known only to one side, it says so: ≥+48.3 [+47.6, +∞]; "?"
// when both.
func DiffText(c *Comparison) string {
	if c == nil || c.NoVerdict != "" {
		return ""
	}
	d := c.Diff
	est, ok := d.Estimate()
	var e string
	switch {
	case ok:
		e = signed(est)
	case !math.IsInf(d.EstimateLo, 0) && !math.IsInf(d.EstimateHi, 0):
		e = signed(d.EstimateLo) + " to " + signed(d.EstimateHi)
	case !math.IsInf(d.EstimateLo, 0):
		e = "≥" + signed(d.EstimateLo)
	case !math.IsInf(d.EstimateHi, 0):
		e = "≤" + signed(d.EstimateHi)
	default:
		e = "?"
	}
	return fmt.Sprintf("%s [%s, %s]", e, signed(d.Lo), signed(d.Hi))
}

// SignedText writes an estimate with its interval and their signs:
// +65.5 [-132.5, +263].
func SignedText(iv compare.Interval) string {
	return fmt.Sprintf("%s [%s, %s]", signed(iv.Estimate), signed(iv.Lo), signed(iv.Hi))
}

func signed(x float64) string {
	if x > 0 {
		return "+" + format.Figure(x)
	}
	return format.Figure(x)
}

// RecoveryText writes a metastability verdict for people: the share that
// recovered [its interval], and the time it took [its interval]; or why
// the cell has none.
func RecoveryText(c RecoveryCell) (share, took string) {
	switch o := c.Outcome(); o {
	case NotRun, NotRemoved:
		return string(o), ""
	case Incomplete:
		return missing(c.Replicas, c.Asked), ""
	}
	share, took = IntervalText(*c.Share), "none recovered"
	if c.Time != nil {
		took = IntervalText(*c.Time)
	}
	if c.Overloaded > 0 {
		share += fmt.Sprintf(", %d overloaded", c.Overloaded)
	}
	return share, took
}

// Verdict says where the sweep's variant does not return to healthy by
// itself, overload apart, among the points that ran every replica: the
// points where a replica that was not overloaded stayed unhealthy; or that
// there is none. It names the points it could not judge by their number.
func (s *SweepTable) Verdict() string {
	var stuck []string
	judged, notRun, incomplete, all := 0, 0, 0, 0
	for x, row := range s.Cells {
		for y, c := range row {
			all++
			switch o := c.Outcome(); {
			case o == NotRun:
				notRun++
			case o == Incomplete:
				incomplete++
			default:
				judged++
				if o == DoesNotRecover {
					stuck = append(stuck, s.pointName(x, y))
				}
			}
		}
	}
	var line string
	switch {
	case judged == 0:
		line = "metastable: not judged; no point of the grid ran all its replicas"
	case len(stuck) > 0:
		line = "metastable (stayed unhealthy by itself, not overloaded) at: " + strings.Join(stuck, "; ")
	case judged == all:
		line = "metastable: nowhere in this grid; every replica that was not overloaded recovered by itself"
	default:
		line = fmt.Sprintf("metastable: nowhere among the %d of %d points that ran; there, every replica that was not overloaded recovered by itself", judged, all)
	}
	if notRun+incomplete > 0 && judged > 0 {
		var parts []string
		if notRun > 0 {
			parts = append(parts, fmt.Sprintf("%d not run", notRun))
		}
		if incomplete > 0 {
			parts = append(parts, fmt.Sprintf("%d incomplete", incomplete))
		}
		line += fmt.Sprintf(" (%s: not judged)", strings.Join(parts, ", "))
	} else if judged == 0 {
		line += fmt.Sprintf(" (%d not run, %d incomplete)", notRun, incomplete)
	}
	return line
}

// pointName names a point of the grid by its values.
func (s *SweepTable) pointName(x, y int) string {
	p := s.X.Key + " " + s.X.Values[x]
	if s.Y.Key != "" {
		p += ", " + s.Y.Key + " " + s.Y.Values[y]
	}
	return p
}
