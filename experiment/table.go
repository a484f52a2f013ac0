package experiment

import (
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"vmstorm/compare"
	"vmstorm/internal/dist"
	"vmstorm/internal/format"
	"vmstorm/scenario"
)

// Table is what an experiment found: per variant, each measure's median
// with its interval and its difference from the baseline (the first
// variant) with its interval and verdict, and the metastability verdict;
// and the sweep's grid of metastability shares.
type Table struct {
	Experiment string
	Measures   []Measure
	Variants   []VariantRow
	Sweep      *SweepTable
}

// VariantRow is one variant's line of the table.
type VariantRow struct {
	Name     string
	Replicas int // results behind the row
	Cells    []Cell
	Recovery RecoveryCell
}

// Cell is one measure of one variant.
type Cell struct {
	// N is the replicas that have a figure for the measure (a run never
	// detected has no time to detect); Median is theirs.
	N      int
	Median compare.Interval
	// Diff is the difference of medians from the baseline, and Verdict
	// what it says; both empty for the baseline, or when either side has
	// too few figures.
	Diff    *compare.Interval
	Verdict string
}

// RecoveryCell is the metastability verdict of a variant: of the replicas
// whose trigger was removed, the share that returned to healthy by
// themselves within the experiment's time, and how long that took.
type RecoveryCell struct {
	Removed   int // replicas whose trigger was removed
	Recovered int // of which returned to healthy by themselves
	Share     *compare.Interval
	Time      *compare.Interval // hours from removal to recovered, over those that recovered
	// Overloaded is how many of the replicas stormed before the trigger
	// (see Result.Overloaded): if they do not recover, it is overload, not
	// a state that sustains itself.
	Overloaded int
}

// SweepTable is the sweep's grid: the metastability share at each point.
type SweepTable struct {
	Variant string
	X, Y    scenario.Axis
	// Cells[x][y] (y 0 when the sweep has one axis).
	Cells [][]RecoveryCell
}

// Summarize makes e's table from results (in any order): the same results
// give the same table, byte for byte, however they were run or merged.
func Summarize(e *scenario.Experiment, results []Result) (*Table, error) {
	if err := Check(e, results); err != nil {
		return nil, err
	}
	return summarize(e, results), nil
}

// summarize is Summarize of results already checked.
func summarize(e *scenario.Experiment, results []Result) *Table {
	t := &Table{Experiment: e.Name}
	for _, name := range e.Measures {
		m, _ := LookupMeasure(name)
		t.Measures = append(t.Measures, m)
	}
	byVariant := map[string][]Result{}
	for _, r := range results {
		if r.Point == nil {
			byVariant[r.Variant] = append(byVariant[r.Variant], r)
		}
	}
	var base []Result
	for i, v := range e.Variants {
		rs := byVariant[v.Name]
		row := VariantRow{Name: v.Name, Replicas: len(rs), Recovery: recoveryCell(rs)}
		for k, m := range t.Measures {
			xs := figures(rs, m.Name)
			c := Cell{N: len(xs)}
			if len(xs) > 0 {
				c.Median, _ = compare.Median(xs)
			}
			if i > 0 && len(xs) > 0 {
				if bs := figures(base, m.Name); len(bs) > 0 {
					// The bootstrap draws from a stream of its own for each
					// cell: the same results give the same intervals.
					r := dist.Stream(e.Seed, 1<<32, uint64(i), uint64(k), nameHash(m.Name))
					if d, err := compare.Diff(bs, xs, r); err == nil {
						c.Diff, c.Verdict = &d, compare.Verdict(d, m.Better)
					}
				}
			}
			row.Cells = append(row.Cells, c)
		}
		if i == 0 {
			base = rs
		}
		t.Variants = append(t.Variants, row)
	}
	if s := e.Sweep; s != nil {
		st := &SweepTable{Variant: s.Variant, X: s.X, Y: s.Y}
		ny := max(len(s.Y.Values), 1)
		st.Cells = make([][]RecoveryCell, len(s.X.Values))
		for x := range st.Cells {
			st.Cells[x] = make([]RecoveryCell, ny)
			for y := range ny {
				var rs []Result
				for _, r := range results {
					if r.Point != nil && r.Point[0] == x && (len(r.Point) < 2 || r.Point[1] == y) {
						rs = append(rs, r)
					}
				}
				st.Cells[x][y] = recoveryCell(rs)
			}
		}
		t.Sweep = st
	}
	return t
}

func nameHash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// figures are the results' figures of measure name, in replica order.
func figures(rs []Result, name string) []float64 {
	rs = slices.Clone(rs)
	slices.SortFunc(rs, func(a, b Result) int { return a.Replica - b.Replica })
	var xs []float64
	for _, r := range rs {
		if v := r.Measures[name]; v != nil {
			xs = append(xs, *v)
		}
	}
	return xs
}

func recoveryCell(rs []Result) RecoveryCell {
	var c RecoveryCell
	var times []float64
	for _, r := range rs {
		if r.TriggerRemovedH == nil {
			continue
		}
		c.Removed++
		if r.Overloaded {
			c.Overloaded++
		}
		if r.Recovered {
			c.Recovered++
			if r.RecoveryH != nil {
				times = append(times, *r.RecoveryH)
			}
		}
	}
	if c.Removed > 0 {
		s, _ := compare.Share(c.Recovered, c.Removed)
		c.Share = &s
	}
	if len(times) > 0 {
		slices.Sort(times)
		m, _ := compare.Median(times)
		c.Time = &m
	}
	return c
}

// WriteTable writes the table for a person: per measure, each variant's
// median [interval], and against the baseline its difference [interval]
// and verdict; then the metastability verdicts, and the sweep's grid.
func WriteTable(w io.Writer, e *scenario.Experiment, t *Table) error {
	fmt.Fprintf(w, "experiment %s\n", t.Experiment)
	if e.Description != "" {
		fmt.Fprintf(w, "  %s\n", e.Description)
	}
	fmt.Fprintf(w, "  base %s, %d replicas per variant, seed %d; medians with 95%% intervals; differences from %s\n",
		e.Base.Name, e.Replicas, e.Seed, e.Variants[0].Name)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	p := func(f string, a ...any) { fmt.Fprintf(tw, f+"\n", a...) }
	for k, m := range t.Measures {
		unit := ""
		if m.Unit != "" {
			unit = " (" + m.Unit + ")"
		}
		p("\t")
		p("%s%s\tmedian [95%% CI]\tdifference [95%% CI]\tverdict\tn", strings.ToUpper(m.Name), unit)
		for _, v := range t.Variants {
			c := v.Cells[k]
			med, diff, verdict := "none", "", ""
			if c.N > 0 {
				med = IntervalText(c.Median)
			}
			if c.Diff != nil {
				diff, verdict = SignedText(*c.Diff), c.Verdict
			}
			p("  %s\t%s\t%s\t%s\t%d", v.Name, med, diff, verdict, c.N)
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

// Verdict says where the sweep's variant does not return to healthy by
// itself, overload apart: the points where a replica that was not
// overloaded stayed unhealthy; or that there is none in the grid.
func (s *SweepTable) Verdict() string {
	var stuck []string
	for x, row := range s.Cells {
		for y, c := range row {
			if c.Share == nil {
				continue
			}
			if c.Removed-c.Recovered > c.Overloaded {
				p := s.X.Key + " " + s.X.Values[x]
				if s.Y.Key != "" {
					p += ", " + s.Y.Key + " " + s.Y.Values[y]
				}
				stuck = append(stuck, p)
			}
		}
	}
	if len(stuck) == 0 {
		return "metastable: nowhere in this grid; every replica that was not overloaded recovered by itself"
	}
	return "metastable (stayed unhealthy by itself, not overloaded) at: " + strings.Join(stuck, "; ")
}

// RecoveryText writes a metastability verdict for people: the share that
// recovered [its interval], and the time it took [its interval].
func RecoveryText(c RecoveryCell) (share, took string) {
	share, took = "trigger never removed", ""
	if c.Share != nil {
		share = IntervalText(*c.Share)
		took = "none recovered"
	}
	if c.Time != nil {
		took = IntervalText(*c.Time)
	}
	if c.Overloaded > 0 {
		share += fmt.Sprintf(", %d overloaded", c.Overloaded)
	}
	return share, took
}

// IntervalText writes an estimate with its interval: 412.5 [281, 529].
func IntervalText(iv compare.Interval) string {
	return fmt.Sprintf("%s [%s, %s]", format.Num(iv.Estimate), format.Num(iv.Lo), format.Num(iv.Hi))
}

// SignedText writes a difference with its signs: +65.5 [-132.5, +263].
func SignedText(iv compare.Interval) string {
	s := func(x float64) string {
		if x > 0 {
			return "+" + format.Num(x)
		}
		return format.Num(x)
	}
	return fmt.Sprintf("%s [%s, %s]", s(iv.Estimate), s(iv.Lo), s(iv.Hi))
}
