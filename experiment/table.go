package experiment

import (
	"fmt"
	"math"
	"slices"

	"vmstorm/compare"
	"vmstorm/internal/format"
	"vmstorm/metastable"
)

// Table is what an experiment found: per variant, each measure's median
// with its interval and its paired comparison with the baseline (the first
// variant): the difference with its interval at the family's level, and
// the verdict; the metastability verdict; and the sweep's grid of
// metastability shares. Nothing is concluded from missing data: a variant
// or a sweep point with fewer results than the experiment asks has no
// verdict, and says so.
type Table struct {
	Experiment string
	Baseline   string
	Measures   []Measure
	// Margins are each measure's practical margin, in the order of
	// Measures.
	Margins  []Margin
	Variants []VariantRow
	// Family is the comparisons that have a verdict.
	Family Family
	Sweep  *SweepTable
}

// Margin is a measure's practical margin: the smallest difference from the
// baseline that matters.
type Margin struct {
	Value float64
	// Rule says where it comes from, for people.
	Rule string
}

// FamilyMethod is how the family's verdicts are kept right together.
const FamilyMethod = "Bonferroni"

// Family is the comparisons an experiment gives a verdict: every variant
// against the baseline on every measure, both complete and every pair
// with a figure. Each comparison's interval is at Level, Bonferroni's
// 1 - 0.05/Size, so that all of them cover their true differences
// together with probability at least 95 %: every verdict the table prints
// (better, worse, within margin, equivalent) is then right, all at once,
// with that probability.
type Family struct {
	Size int
	// Level is each interval's; 0 when Size is 0.
	Level float64
	// WithoutVerdict is the comparisons the table lists with no verdict.
	WithoutVerdict int
}

// VariantRow is one variant's line of the table.
type VariantRow struct {
	Name     string
	Asked    int // replicas the experiment asks of it
	Replicas int // results behind the row
	Cells    []Cell
	Recovery RecoveryCell
}

// Missing says why a variant's results cannot be judged: "not run" when
// it has none, "incomplete (n of N)" when it has fewer than asked; "" when
// it has them all.
func (v VariantRow) Missing() string { return missing(v.Replicas, v.Asked) }

func missing(got, asked int) string {
	switch {
	case got == 0:
		return "not run"
	case got < asked:
		return fmt.Sprintf("incomplete (%d of %d)", got, asked)
	}
	return ""
}

// Cell is one measure of one variant.
type Cell struct {
	// N is the replicas with a figure, or for a censored measure (see
	// Measure.Censored) with a figure or a censoring time; Censored is
	// those censored.
	N, Censored int
	// Median is the median of the figures with its distribution-free
	// interval (compare.Median), or for a censored measure the
	// Kaplan-Meier median (compare.SurvivalMedian: +Inf, not reached, when
	// more than half are censored before it); meaningful when N > 0.
	Median compare.Interval
	// Comparison is the variant's against the baseline; nil for the
	// baseline.
	Comparison *Comparison
}

// Comparison is a variant's paired comparison with the baseline on one
// measure.
type Comparison struct {
	// NoVerdict says why there is none: the variant or the baseline not run
	// or incomplete, or pairs with no figure on a side; "" when there is a
	// verdict.
	NoVerdict string
	// Diff is the paired difference (variant - baseline, replica by
	// replica) at the family's level, and Verdict what it says with the
	// measure's margin; both set only when there is a verdict.
	Diff    compare.Paired
	Verdict compare.Verdict
}

// Text is what the table's verdict column says: the verdict, or why there
// is none.
func (c *Comparison) Text() string {
	if c.NoVerdict != "" {
		return c.NoVerdict
	}
	return c.Verdict.String()
}

// Summarize makes e's table from results (in any order): the same results
// give the same table, byte for byte, however they were run or merged.
func Summarize(e *Experiment, results []Result) (*Table, error) {
	if err := Check(e, results); err != nil {
		return nil, err
	}
	return summarize(e, results), nil
}

// summarize is Summarize of results already checked: each task's at most
// once. A replica's outcome is judged here, from its trace and its
// control's, whatever its line says (Check holds the two the same).
func summarize(e *Experiment, results []Result) *Table {
	t := &Table{Experiment: e.Name, Baseline: e.Variants[0].Name}
	for _, name := range e.Measures {
		m, _ := LookupMeasure(name)
		t.Measures = append(t.Measures, m)
	}
	byVariant := map[string][]Result{}
	grid := map[string][]Result{}
	refined := map[refineKey][]Result{}
	for _, r := range results {
		switch {
		case r.Refine != nil:
			k := refineKey{r.Refine.Round, r.Refine.X, r.Refine.Y}
			refined[k] = append(refined[k], r)
		case r.Point != nil:
			k := fmt.Sprint(r.Point)
			grid[k] = append(grid[k], r)
		default:
			byVariant[r.Variant] = append(byVariant[r.Variant], r)
		}
	}
	judge := func(rs []Result) []Result {
		if !e.Recovery.Asked() {
			var out []Result
			for _, r := range rs {
				out = append(out, withVerdict(r, metastable.Verdict{Outcome: metastable.NotRemoved, Why: "the experiment asks no recovery question"}))
			}
			return out
		}
		out, err := judged(e, rs)
		if err != nil {
			// Checked results are vmstorm's: each replica whose trigger
			// was removed has its control's trace, or is left out.
			panic(fmt.Sprintf("experiment: judging %s: %v", e.Name, err))
		}
		return out
	}
	replicasOf := func(rs []Result) []Result {
		return slices.DeleteFunc(slices.Clone(rs), func(r Result) bool { return r.Control })
	}
	for _, v := range e.Variants {
		rs := byReplica(replicasOf(byVariant[v.Name]))
		row := VariantRow{Name: v.Name, Asked: e.Replicas, Replicas: len(rs), Recovery: recoveryCell(judge(byVariant[v.Name]), e.Replicas)}
		for _, m := range t.Measures {
			row.Cells = append(row.Cells, cellOf(rs, m))
		}
		t.Variants = append(t.Variants, row)
	}
	for k, m := range t.Measures {
		t.Margins = append(t.Margins, marginOf(m, t.Variants[0].Cells[k], e.Margins, t.Baseline))
	}
	baseline := map[string][]Result{}
	for name, rs := range byVariant {
		baseline[name] = replicasOf(rs)
	}
	t.compare(byReplica(baseline[t.Baseline]), baseline)
	if e.Sweep != nil {
		for k, rs := range grid {
			grid[k] = judge(rs)
		}
		for k, rs := range refined {
			refined[k] = judge(rs)
		}
		t.Sweep = sweepTable(e, grid, refined)
	}
	return t
}

// compare fills every variant's comparisons with the baseline: first which
// of them get a verdict, whose number is the family's size and sets its
// level, then each of those at that level.
func (t *Table) compare(base []Result, byVariant map[string][]Result) {
	type pending struct {
		c       *Comparison
		measure int
		diffs   []compare.Difference
	}
	var todo []pending
	baseRow := t.Variants[0]
	for i := 1; i < len(t.Variants); i++ {
		row := &t.Variants[i]
		rs := byReplica(byVariant[row.Name])
		for k, m := range t.Measures {
			c := &Comparison{}
			row.Cells[k].Comparison = c
			switch {
			case row.Missing() != "":
				c.NoVerdict = row.Missing()
			case baseRow.Missing() != "":
				c.NoVerdict = "baseline " + baseRow.Missing()
			}
			if c.NoVerdict != "" {
				continue
			}
			diffs, unpaired := differences(base, rs, m)
			if unpaired > 0 {
				c.NoVerdict = fmt.Sprintf("no figure in %d of %d pairs", unpaired, len(rs))
				continue
			}
			todo = append(todo, pending{c, k, diffs})
		}
	}
	t.Family.Size = len(todo)
	t.Family.WithoutVerdict = (len(t.Variants)-1)*len(t.Measures) - len(todo)
	if len(todo) == 0 {
		return
	}
	t.Family.Level = compare.Bonferroni(len(todo))
	for _, p := range todo {
		d, err := compare.SignedRank(p.diffs, t.Family.Level)
		if err != nil {
			// The differences are the checked results' own: finite, or
			// bounded by a finite censoring time. An error is a bug here.
			panic(fmt.Sprintf("experiment: comparing %s: %v", t.Measures[p.measure].Name, err))
		}
		p.c.Diff = d
		p.c.Verdict = compare.Judge(d.Lo, d.Hi, t.Measures[p.measure].Better, t.Margins[p.measure].Value)
	}
}

// byReplica sorts a variant's results by replica, each replica once (the
// results are checked).
func byReplica(rs []Result) []Result {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b Result) int { return a.Replica - b.Replica })
	return rs
}

// figureKind is what a replica has of a measure.
type figureKind int

const (
	noFigure figureKind = iota // missing: no fault, or no job arrived
	observedFigure
	censoredFigure // the run ended before the event: at least the value
)

// figure is a replica's figure of measure m, or its censoring time.
func figure(r Result, m Measure) (float64, figureKind) {
	if v := r.Measures[m.Name]; v != nil {
		return *v, observedFigure
	}
	if c, ok := r.Censored[m.Name]; ok && m.Censored() {
		return c, censoredFigure
	}
	return 0, noFigure
}

// differences pairs replica r of the baseline with replica r of the
// variant (both sorted, complete, so that the r-th of each is replica r)
// and gives each pair's difference, variant - baseline: exact when both
// have figures, bounded on one side when one was censored (its true figure
// is later than its censoring time), unknown both ways when both were;
// unpaired counts the pairs in which a side has no figure at all.
func differences(base, variant []Result, m Measure) (diffs []compare.Difference, unpaired int) {
	inf := math.Inf(1)
	for r := range variant {
		b, bk := figure(base[r], m)
		v, vk := figure(variant[r], m)
		switch {
		case bk == noFigure || vk == noFigure:
			unpaired++
		case bk == observedFigure && vk == observedFigure:
			diffs = append(diffs, compare.Exact(v-b))
		case bk == observedFigure: // the variant's is after v
			diffs = append(diffs, compare.Difference{Lo: v - b, Hi: inf})
		case vk == observedFigure: // the baseline's is after b
			diffs = append(diffs, compare.Difference{Lo: -inf, Hi: v - b})
		default:
			diffs = append(diffs, compare.Difference{Lo: -inf, Hi: inf})
		}
	}
	return diffs, unpaired
}

// cellOf summarizes one variant's figures of measure m.
func cellOf(rs []Result, m Measure) Cell {
	var c Cell
	if m.Censored() {
		var times []compare.Censorable
		for _, r := range rs {
			if x, kind := figure(r, m); kind != noFigure {
				times = append(times, compare.Censorable{At: x, Censored: kind == censoredFigure})
				if kind == censoredFigure {
					c.Censored++
				}
			}
		}
		c.N = len(times)
		if c.N > 0 {
			c.Median, _ = compare.SurvivalMedian(times)
		}
		return c
	}
	var xs []float64
	for _, r := range rs {
		if x, kind := figure(r, m); kind == observedFigure {
			xs = append(xs, x)
		}
	}
	c.N = len(xs)
	if c.N > 0 {
		c.Median, _ = compare.Median(xs)
	}
	return c
}

// marginOf is measure m's margin: the file's, if it sets one (a share of
// the baseline's median, at least the measure's floor, or a difference in
// the measure's unit); otherwise RelativeMargin of the baseline's median,
// at least the floor.
func marginOf(m Measure, base Cell, set map[string]MarginSetting, baseline string) Margin {
	floor := Margin{m.Floor(), fmt.Sprintf("the floor for %s", unitName(m))}
	med := math.Abs(base.Median.Estimate)
	hasMedian := base.N > 0 && !math.IsInf(med, 0)
	share, rule := RelativeMargin, fmt.Sprintf("%s %% of %s's median", format.Figure(100*RelativeMargin), baseline)
	if s, ok := set[m.Name]; ok {
		if !s.Relative {
			return Margin{s.Value, "the file's"}
		}
		share, rule = s.Value, fmt.Sprintf("the file's %s %% of %s's median", format.Figure(100*s.Value), baseline)
	}
	if hasMedian && share*med > floor.Value {
		return Margin{share * med, rule}
	}
	return floor
}

// unitName is a measure's unit for a sentence.
func unitName(m Measure) string {
	if m.Unit == "" {
		return m.Name
	}
	return m.Unit
}
