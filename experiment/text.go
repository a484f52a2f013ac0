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
)

// WriteTable writes the table for a person: per measure, each variant's
// median [interval], and against the baseline its paired difference
// [interval] and verdict, or why it has none; under them the method and
// the family; then the metastability verdicts, and the sweep's grid.
func WriteTable(w io.Writer, e *Experiment, t *Table) error {
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
		for i, line := range format.Wrap(para, 0, 0, tableWidth) {
			fmt.Fprintf(w, "  %s%s\n", strings.Repeat("  ", min(i, 1)), line)
		}
	}
	if e.Recovery.Asked() {
		p("\t")
		head := "RECOVERS BY ITSELF?\toutcome"
		for _, o := range ReplicaOutcomes {
			head += "\t" + OutcomeName(o) + " [95% CI]"
		}
		p("%s\tof\ttime to healthy, h [95%% CI]\tprojected clear, h [95%% CI]", head)
		for _, v := range t.Variants {
			cols := RecoveryColumns(v.Recovery)
			for len(cols) > 0 && cols[len(cols)-1] == "" {
				cols = cols[:len(cols)-1] // no trailing blanks
			}
			p("  %s\t%s", v.Name, strings.Join(cols, "\t"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		for i, line := range format.Wrap(QuestionText(e), 0, 0, tableWidth) {
			fmt.Fprintf(w, "  %s%s\n", strings.Repeat("  ", min(i, 1)), line)
		}
	}
	if s := t.Sweep; s != nil {
		if err := tw.Flush(); err != nil {
			return err
		}
		grid := sweepGrid(s)
		if width := widest(grid); width <= maxGridWidth {
			fmt.Fprintf(w, "\nSWEEP of %s: each point's outcome (most of its replicas), with its share [95%% CI], and the others seen; %d replicas a point\n%s", s.Variant, e.Sweep.Replicas, grid)
		} else {
			fmt.Fprintf(w, "\nSWEEP of %s: each point's outcome (most of its replicas); %d replicas a point\n", s.Variant, e.Sweep.Replicas)
			for _, line := range compactSweep(s, width) {
				fmt.Fprintf(w, "  %s\n", line)
			}
		}
		for _, l := range s.Tipping {
			var refined []string
			for _, pt := range l.Points {
				if pt.Round > 0 {
					refined = append(refined, fmt.Sprintf("%s (round %d): %s", pt.X, pt.Round, RecoveryText(pt.Cell)))
				}
			}
			if len(refined) > 0 {
				head := "  refined"
				if l.Y != "" {
					head += " at " + s.Y.Key + " " + l.Y
				}
				for _, r := range refined {
					fmt.Fprintf(w, "%s: %s\n", head, r)
				}
			}
		}
		fmt.Fprintf(w, "  %s\n", s.StuckText())
		for _, l := range s.Tipping {
			fmt.Fprintf(w, "  %s\n", l.Text(s))
		}
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

func signed(x float64) string {
	if x > 0 {
		return "+" + format.Figure(x)
	}
	return format.Figure(x)
}

// OutcomeName is an outcome as a table's head writes it: "not removed"
// for not_removed.
func OutcomeName(o Outcome) string { return strings.ReplaceAll(string(o), "_", " ") }

// CountText writes a count of replicas with its share's interval:
// "28 (0.93 [0.78, 0.99])"; the count alone when the cell is not judged.
func CountText(k int, share *compare.Interval) string {
	if share == nil {
		return strconv.Itoa(k)
	}
	return fmt.Sprintf("%d (%s)", k, IntervalText(*share))
}

// RecoveryColumns are a variant's columns of the metastability block: its
// outcome, each outcome's count with its share, the replicas judged, the
// time to healthy of those healthy by the window's end and the projected
// time to clear of the draining still unhealthy there (or that there is
// none).
func RecoveryColumns(c RecoveryCell) []string {
	o := c.Outcome()
	cols := []string{OutcomeName(o)}
	if o == Incomplete {
		cols[0] = missing(c.Replicas, c.Asked)
	}
	for i, k := range c.Counts {
		cols = append(cols, CountText(k, c.Shares[i]))
	}
	cols = append(cols, strconv.Itoa(c.Replicas), timeText(c.Time, "none healthy"), timeText(c.Clear, "none projected"))
	if !o.Judged() {
		cols[len(cols)-2], cols[len(cols)-1] = "", ""
	}
	return cols
}

func timeText(iv *compare.Interval, none string) string {
	if iv == nil {
		return none
	}
	return IntervalText(*iv)
}

// RecoveryText writes a cell's verdict in a few words: its outcome, the
// count and share of its replicas that had it [its interval], and the
// others seen; or why it has none.
func RecoveryText(c RecoveryCell) string {
	o := c.Outcome()
	switch o {
	case NotRun:
		return string(o)
	case Incomplete:
		return missing(c.Replicas, c.Asked)
	}
	out := fmt.Sprintf("%s %d/%d [%s, %s]", OutcomeName(o), c.Count(o), c.Replicas, format.Figure(c.Share(o).Lo), format.Figure(c.Share(o).Hi))
	for _, other := range OthersSeen(c) {
		out += ", " + other
	}
	return out
}

// OthersSeen is the counts of the outcomes a judged cell's replicas had
// besides its own, in the order of ReplicaOutcomes: "recovered 1".
func OthersSeen(c RecoveryCell) []string {
	o := c.Outcome()
	var out []string
	for _, other := range ReplicaOutcomes {
		if other != o && c.Count(other) > 0 {
			out = append(out, fmt.Sprintf("%s %d", OutcomeName(other), c.Count(other)))
		}
	}
	return out
}

// maxGridWidth is the widest a sweep's grid is written out, each point's
// outcome with its share and the others seen; a wider one is written as a
// map of letters (compactSweep).
const maxGridWidth = 160

// sweepGrid is the sweep's grid written out, as the table writes its
// columns: a head of the y values, then each x value's row of cells.
func sweepGrid(s *SweepTable) string {
	head := "  " + s.X.Key + " \\ " + s.Y.Key
	if s.Y.Key == "" {
		head = "  " + s.X.Key
	}
	ys := s.Y.Values
	if len(ys) == 0 {
		ys = []string{"outcome"}
	}
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "%s\t%s\n", head, strings.Join(ys, "\t"))
	for x, col := range s.Cells {
		var row []string
		for _, c := range col {
			row = append(row, RecoveryText(c))
		}
		fmt.Fprintf(tw, "  %s\t%s\n", s.X.Values[x], strings.Join(row, "\t"))
	}
	tw.Flush() // a strings.Builder takes every write
	return b.String()
}

// widest is the length of the longest line of text.
func widest(text string) int {
	n := 0
	for line := range strings.Lines(text) {
		n = max(n, len(strings.TrimSuffix(line, "\n")))
	}
	return n
}

// mapLetters is each outcome's letter in a sweep's map of letters: upper
// case where every replica of the point had it, lower case where most did.
var mapLetters = map[Outcome]string{Recovered: "R", Draining: "D", Stuck: "S", Overloaded: "O", NotRemoved: "N", Incomplete: "?", NotRun: "."}

// compactSweep writes a grid too wide to write out (width columns) as a
// map of letters, a letter a point (mapLetters), the x values down the
// side and the y values' numbers across, each number's value listed
// under it. Each point's counts and intervals are in the results file,
// the verdicts file and the report's page.
func compactSweep(s *SweepTable, width int) []string {
	ny := len(s.Cells[0])
	legend := "one letter a point: "
	for i, o := range Outcomes {
		if i > 0 {
			legend += ", "
		}
		legend += mapLetters[o.Outcome] + " " + OutcomeName(o.Outcome)
	}
	legend += fmt.Sprintf("; in lower case where some of the point's replicas had another outcome (the grid written out would be %d columns wide: -results, -verdicts and the page of -report give each point's counts and intervals)", width)
	lines := format.Wrap(legend, 0, 0, tableWidth)
	xw := len(s.X.Key)
	for _, v := range s.X.Values {
		xw = max(xw, len(v))
	}
	colW := len(strconv.Itoa(ny)) + 1
	head := fmt.Sprintf("%-*s", xw, s.X.Key)
	if s.Y.Key != "" {
		lines = append(lines, fmt.Sprintf("%s down, %s across (numbered)", s.X.Key, s.Y.Key))
		head = fmt.Sprintf("%-*s", xw, "")
		for j := range ny {
			head += fmt.Sprintf("%*d", colW, j+1)
		}
	}
	lines = append(lines, head)
	for x, col := range s.Cells {
		row := fmt.Sprintf("%-*s", xw, s.X.Values[x])
		for _, c := range col {
			o := c.Outcome()
			letter := mapLetters[o]
			if o.Judged() && c.Count(o) < c.Replicas {
				letter = strings.ToLower(letter)
			}
			row += fmt.Sprintf("%*s", colW, letter)
		}
		lines = append(lines, row)
	}
	if s.Y.Key != "" {
		var key []string
		for j, v := range s.Y.Values {
			key = append(key, fmt.Sprintf("%d %s", j+1, v))
		}
		lines = append(lines, format.Wrap(s.Y.Key+": "+strings.Join(key, ", "), 0, 0, tableWidth)...)
	}
	return lines
}

// QuestionText says what the metastability block asks, under it.
func QuestionText(e *Experiment) string {
	r := e.Recovery
	window := "to the run's end"
	if r.Horizon > 0 {
		window = "to " + format.Duration(r.Horizon) + " after it (or the run's end)"
	}
	trend := fmt.Sprintf("the Theil-Sen slope over the last %s of the window", format.Duration(r.Trend))
	cycle := e.Base.Config.Traffic != nil && e.Base.Config.Traffic.Night < 1 && !r.Load.Constant
	if cycle {
		trend += ", of each level's mean over the day before (the daily cycle averaged out)"
	}
	return fmt.Sprintf("the trigger removed by %s; the window from the run's start %s, with arrivals %s after the removal; "+
		"each replica runs again with the same seed and no fault (its control): overloaded if the control is unhealthy in the window; "+
		"recovered if healthy again within %s of the removal and for good; draining if healthy only later, or if its backlog and leak "+
		"are each back to its control's or falling (%s: its 95%% interval wholly below 0, or a rate that clears it within the window again); "+
		"stuck otherwise; no other action after the removal (the file is refused if one may come); shares with Clopper-Pearson 95%% intervals",
		r.RemovedByText(), window, r.Load, format.Duration(r.Within), trend)
}

// Verdict is the sweep's summary: where its variant is stuck (StuckText),
// and where along x the share of stuck replicas crosses one half, at each
// y (TippingLine.Text), in one line.
func (s *SweepTable) Verdict() string {
	line := s.StuckText()
	for _, l := range s.Tipping {
		line += "; " + l.Text(s)
	}
	return line
}

// StuckText says where the sweep's variant is stuck (metastable: most of a
// point's replicas stuck), among the points that ran every replica with
// its control, or that it is nowhere. It names the points it could not
// judge by their number.
func (s *SweepTable) StuckText() string {
	var stuck []string
	judgedPoints, notRun, incomplete, all := 0, 0, 0, 0
	for x, row := range s.Cells {
		for y, c := range row {
			all++
			switch o := c.Outcome(); {
			case o == NotRun:
				notRun++
			case o == Incomplete:
				incomplete++
			default:
				judgedPoints++
				if o == Stuck {
					stuck = append(stuck, s.pointName(x, y))
				}
			}
		}
	}
	var line string
	switch {
	case judgedPoints == 0:
		line = "stuck: not judged; no point of the grid ran all its replicas"
	case len(stuck) > 0:
		line = "stuck (metastable: most replicas stuck, their controls healthy) at: " + strings.Join(stuck, "; ")
	case judgedPoints == all:
		line = "stuck (metastable): nowhere in this grid"
	default:
		line = fmt.Sprintf("stuck (metastable): nowhere among the %d of %d points that ran", judgedPoints, all)
	}
	if notRun+incomplete > 0 && judgedPoints > 0 {
		var parts []string
		if notRun > 0 {
			parts = append(parts, fmt.Sprintf("%d not run", notRun))
		}
		if incomplete > 0 {
			parts = append(parts, fmt.Sprintf("%d incomplete", incomplete))
		}
		line += fmt.Sprintf(" (%s: not judged)", strings.Join(parts, ", "))
	} else if judgedPoints == 0 {
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
