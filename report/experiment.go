package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette/brewer"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"vmstorm/compare"
	"vmstorm/experiment"
	"vmstorm/internal/format"
)

// ExperimentDataID is the id of the comparison page's <script
// type="application/json"> element that holds its figures.
const ExperimentDataID = "vmstorm-experiment"

// The band around each variant's median curve: these percentiles of its
// replicas' values at each point (stat.Empirical quantiles).
const (
	bandLo = 0.10
	bandHi = 0.90
)

// The comparison page's JSON, as WriteExperimentHTML documents it.
type (
	expData struct {
		Experiment  string       `json:"experiment"`
		Description string       `json:"description,omitempty"`
		File        string       `json:"file"`
		Base        string       `json:"base"`
		Epoch       string       `json:"epoch,omitempty"`
		Replicas    int          `json:"replicas"`
		Seed        uint64       `json:"seed,string"`
		Baseline    string       `json:"baseline"`
		Band        expBand      `json:"band"`
		Measures    []expMeasure `json:"measures"`
		Recovery    *expRecovery `json:"recovery,omitempty"`
		Variants    []expVariant `json:"variants"`
		Sweep       *expSweep    `json:"sweep,omitempty"`
		// Verdicts are the verdicts file's records (experiment.Verdicts).
		Verdicts []any `json:"verdicts"`
	}
	expBand struct {
		Lo float64 `json:"lo"`
		Hi float64 `json:"hi"`
	}
	expMeasure struct {
		Name     string  `json:"name"`
		Unit     string  `json:"unit,omitempty"`
		Doc      string  `json:"doc"`
		Better   string  `json:"better"`
		Censored bool    `json:"censored,omitempty"`
		Margin   float64 `json:"margin"`
	}
	expRecovery struct {
		RemovedBy []string `json:"removed_by"`
		WithinS   float64  `json:"within_s"`
		HorizonS  float64  `json:"horizon_s"`
		TrendS    float64  `json:"trend_s"`
		Load      string   `json:"load"`
	}
	expVariant struct {
		Name     string          `json:"name"`
		Asked    int             `json:"asked"`
		Replicas int             `json:"replicas"`
		Cells    []expCell       `json:"cells"`
		Recovery expRecoveryCell `json:"recovery"`
		Curves   *expCurves      `json:"curves"`
	}
	expCell struct {
		Measure  string                     `json:"measure"`
		N        int                        `json:"n"`
		Censored int                        `json:"censored,omitempty"`
		Median   *experiment.IntervalRecord `json:"median"`
	}
	expRecoveryCell struct {
		Outcome  string                     `json:"outcome"`
		Replicas int                        `json:"replicas"`
		Outcomes experiment.OutcomesRecord  `json:"outcomes"`
		TimeH    *experiment.IntervalRecord `json:"time_h"`
		ClearH   *experiment.IntervalRecord `json:"clear_h"`
	}
	expCurves struct {
		Replicas int       `json:"replicas"`
		ModelS   []float64 `json:"model_s"`
		VMs      expCurve  `json:"vms"`
		Backlog  expCurve  `json:"backlog"`
		Requeues expCurve  `json:"requeues_per_min"`
	}
	expCurve struct {
		Median []float64 `json:"median"`
		Lo     []float64 `json:"lo"`
		Hi     []float64 `json:"hi"`
	}
	expSweep struct {
		Variant  string              `json:"variant"`
		Replicas int                 `json:"replicas"`
		X        expAxis             `json:"x"`
		Y        *expAxis            `json:"y,omitempty"`
		Cells    [][]expRecoveryCell `json:"cells"`
		Verdict  string              `json:"verdict"`
		// Tipping is the tipping point along x at each y.
		Tipping []experiment.TippingRecord `json:"tipping,omitempty"`
	}
	expAxis struct {
		Key    string   `json:"key"`
		Values []string `json:"values"`
	}
)

func newExpRecoveryCell(c experiment.RecoveryCell) expRecoveryCell {
	r := experiment.NewRecoveryRecord("", "", nil, c)
	return expRecoveryCell{Outcome: r.Outcome, Replicas: r.Replicas, Outcomes: r.Outcomes, TimeH: r.TimeH, ClearH: r.ClearH}
}

// newExpData gathers the page's figures: the table's, and each variant's
// curves from its drawn replicas' results.
func newExpData(pg *experiment.Page) (expData, error) {
	e, t := pg.Experiment, pg.Table
	d := expData{
		Experiment: e.Name, Description: e.Description, File: e.File, Base: e.Base.Name,
		Replicas: e.Replicas, Seed: e.Seed, Baseline: e.Variants[0].Name, Band: expBand{bandLo, bandHi},
		Verdicts: experiment.Verdicts(t),
	}
	if ep := e.Base.Config.Epoch; !ep.IsZero() {
		d.Epoch = ep.UTC().Format(time.RFC3339Nano)
	}
	for k, m := range t.Measures {
		d.Measures = append(d.Measures, expMeasure{Name: m.Name, Unit: m.Unit, Doc: m.Doc, Better: experiment.BetterText(m.Better),
			Censored: m.Censored(), Margin: t.Margins[k].Value})
	}
	if r := e.Recovery; r.Asked() {
		d.Recovery = &expRecovery{RemovedBy: r.RemovedBy, WithinS: r.Within.Seconds(), HorizonS: r.Horizon.Seconds(), TrendS: r.Trend.Seconds(), Load: r.Load.String()}
	}
	for _, row := range t.Variants {
		v := expVariant{Name: row.Name, Asked: row.Asked, Replicas: row.Replicas, Recovery: newExpRecoveryCell(row.Recovery), Cells: []expCell{}}
		for k, c := range row.Cells {
			cell := expCell{Measure: t.Measures[k].Name, N: c.N, Censored: c.Censored}
			if c.N > 0 {
				cell.Median = experiment.NewIntervalRecord(&c.Median)
			}
			v.Cells = append(v.Cells, cell)
		}
		var err error
		if v.Curves, err = variantCurves(pg.Drawn[row.Name]); err != nil {
			return d, fmt.Errorf("report: the curves of variant %s: %w", row.Name, err)
		}
		d.Variants = append(d.Variants, v)
	}
	if s := t.Sweep; s != nil {
		sw := &expSweep{Variant: s.Variant, Replicas: e.Sweep.Replicas, X: expAxis{s.X.Key, s.X.Values}, Verdict: s.Verdict()}
		if s.Y.Key != "" {
			sw.Y = &expAxis{s.Y.Key, s.Y.Values}
		}
		for _, col := range s.Cells {
			var cells []expRecoveryCell
			for _, c := range col {
				cells = append(cells, newExpRecoveryCell(c))
			}
			sw.Cells = append(sw.Cells, cells)
		}
		for _, rec := range d.Verdicts {
			if tr, ok := rec.(experiment.TippingRecord); ok {
				sw.Tipping = append(sw.Tipping, tr)
			}
		}
		d.Sweep = sw
	}
	return d, nil
}

// variantCurves are the median and the band of a variant's replicas'
// curves at each of their points, and nil if it has no replicas. Replicas
// of one variant share their grid; were one shorter, the curves stop with
// it.
func variantCurves(rs []experiment.Result) (*expCurves, error) {
	if len(rs) == 0 {
		return nil, nil
	}
	n := len(rs[0].Curves.VMs)
	for _, r := range rs {
		n = min(n, len(r.Curves.VMs), len(r.Curves.Backlog), len(r.Curves.Requeues))
	}
	c := &expCurves{Replicas: len(rs), ModelS: make([]float64, n)}
	for k := range n {
		c.ModelS[k] = float64(k+1) * rs[0].Curves.StepS
	}
	var err error
	for _, f := range []struct {
		out *expCurve
		get func(experiment.Curves) []float64
	}{
		{&c.VMs, func(c experiment.Curves) []float64 { return c.VMs }},
		{&c.Backlog, func(c experiment.Curves) []float64 { return c.Backlog }},
		{&c.Requeues, func(c experiment.Curves) []float64 { return c.Requeues }},
	} {
		if *f.out, err = bandOf(rs, n, f.get); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// bandOf is one curve's median (the table's median, compare.Median) and
// band (stat.Quantile of the replicas' values) at each of n points.
func bandOf(rs []experiment.Result, n int, get func(experiment.Curves) []float64) (expCurve, error) {
	out := expCurve{Median: make([]float64, n), Lo: make([]float64, n), Hi: make([]float64, n)}
	xs := make([]float64, len(rs))
	for k := range n {
		for i, r := range rs {
			xs[i] = get(r.Curves)[k]
		}
		slices.Sort(xs)
		m, err := compare.Median(xs)
		if err != nil {
			return out, err
		}
		out.Median[k] = m.Estimate
		out.Lo[k] = stat.Quantile(bandLo, stat.Empirical, xs, nil)
		out.Hi[k] = stat.Quantile(bandHi, stat.Empirical, xs, nil)
	}
	return out, nil
}

// variantStyle is how a variant is drawn: a colour of a qualitative
// palette, dashed once the palette's colours have all been used.
type variantStyle struct {
	line draw.LineStyle
	band color.Color
	css  template.CSS
}

func variantStyles(n int) []variantStyle {
	pal, _ := brewer.GetPalette(brewer.TypeQualitative, "Dark2", 8)
	colors := pal.Colors()
	out := make([]variantStyle, n)
	for i := range out {
		c := color.NRGBAModel.Convert(colors[i%len(colors)]).(color.NRGBA)
		s := variantStyle{
			line: draw.LineStyle{Color: c, Width: vg.Points(1.8)},
			band: color.NRGBA{R: c.R, G: c.G, B: c.B, A: 0x2c},
			css:  template.CSS(fmt.Sprintf("--line:#%02x%02x%02x;--band:rgba(%d,%d,%d,0.17)", c.R, c.G, c.B, c.R, c.G, c.B)),
		}
		if i >= len(colors) {
			s.line.Dashes = []vg.Length{vg.Points(6), vg.Points(3)}
			s.css += ";--dash:dashed"
		}
		out[i] = s
	}
	return out
}

// bandArea fills the area between two curves.
type bandArea struct {
	lo, hi plotter.XYs
	color  color.Color
}

func (b bandArea) Plot(c draw.Canvas, p *plot.Plot) {
	if len(b.lo) == 0 {
		return
	}
	trX, trY := p.Transforms(&c)
	var pts []vg.Point
	for _, xy := range b.lo {
		pts = append(pts, vg.Point{X: trX(xy.X), Y: trY(xy.Y)})
	}
	for i := len(b.hi) - 1; i >= 0; i-- {
		pts = append(pts, vg.Point{X: trX(b.hi[i].X), Y: trY(b.hi[i].Y)})
	}
	c.FillPolygon(b.color, c.ClipPolygonXY(pts))
}

// experimentAxis is the charts' time axis: the run report's, over the
// longest variant.
func experimentAxis(e *experiment.Experiment, d expData) timeAxis {
	var end time.Duration
	for _, v := range e.Variants {
		end = max(end, v.Config.Duration)
	}
	for _, v := range d.Variants {
		if c := v.Curves; c != nil && len(c.ModelS) > 0 {
			end = max(end, time.Duration(c.ModelS[len(c.ModelS)-1]*float64(time.Second)))
		}
	}
	return newTimeAxisFor(e.Base.Config.Epoch, end)
}

// experimentCharts draws, for each curve, every variant's band and then
// its median line over it, on one time axis.
func experimentCharts(e *experiment.Experiment, d expData, styles []variantStyle) []figure {
	a := experimentAxis(e, d)
	band := fmt.Sprintf("medians, %s–%s percentile bands", ordinal(bandLo), ordinal(bandHi))
	kinds := []struct {
		id, title, yLabel, caption string
		get                        func(*expCurves) expCurve
	}{
		{"chart-exp-vms", "True VMs on the cluster", "VMs",
			"Every VM on the cluster, booted or not, whatever the janitor reports to monitoring.", func(c *expCurves) expCurve { return c.VMs }},
		{"chart-exp-backlog", "Backlog: jobs waiting for a VM", "jobs",
			"Jobs waiting for a VM.", func(c *expCurves) expCurve { return c.Backlog }},
		{"chart-exp-requeues", "Requeues per model minute, over " + format.Duration(e.Base.Config.Window), "per model minute",
			"Each point is the requeues over the run's window before it, per model minute.", func(c *expCurves) expCurve { return c.Requeues }},
	}
	var out []figure
	for _, k := range kinds {
		ch := newChart(a, nil, k.title+": "+band, k.yLabel)
		var yMax float64
		var peaks []float64 // each variant's highest median or band
		xy := func(c *expCurves, ys []float64) plotter.XYs {
			out := make(plotter.XYs, len(ys))
			for i, y := range ys {
				out[i] = plotter.XY{X: a.x(time.Duration(c.ModelS[i] * float64(time.Second))), Y: y}
				yMax = max(yMax, y)
			}
			return out
		}
		for i, v := range d.Variants {
			if v.Curves != nil {
				b := k.get(v.Curves)
				peaks = append(peaks, max(slices.Max(append([]float64{0}, b.Hi...)), slices.Max(append([]float64{0}, b.Median...))))
				ch.plot.Add(bandArea{lo: xy(v.Curves, b.Lo), hi: xy(v.Curves, b.Hi), color: styles[i].band})
			}
		}
		for i, v := range d.Variants {
			if v.Curves == nil || len(v.Curves.ModelS) == 0 {
				continue
			}
			l, err := plotter.NewLine(xy(v.Curves, k.get(v.Curves).Median))
			if err != nil {
				// The values are finite (compare.Median refuses others): a
				// NaN here is a bug in this package.
				panic(fmt.Sprintf("report: chart %q, variant %q: %v", k.title, v.Name, err))
			}
			l.LineStyle = styles[i].line
			ch.plot.Add(l)
		}
		ch.finish(a, yMax)
		caption := k.caption
		if spread, ok := logScaled(peaks); ok {
			useLogScale(ch.plot, yMax)
			caption += fmt.Sprintf(" The y axis is logarithmic (its distances are those of log(1 + value)): the variants' peaks are %s times apart, "+
				"and on a linear axis the highest would flatten the others.", format.Figure(math.Round(spread)))
		}
		svg, err := renderSVG(pageChartW, pageChartH*0.85, ch.title, ch)
		if err != nil {
			panic(err) // writing to a buffer does not fail
		}
		out = append(out, figure{ID: k.id, Caption: caption, SVG: template.HTML(svg)})
	}
	return out
}

// ordinal writes a percentile given as a fraction: 0.1 is "10th".
func ordinal(p float64) string {
	n := int(p*100 + 0.5)
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return strconv.Itoa(n) + suffix
}

// expPage is the comparison page, as its template reads it.
type expPage struct {
	Title       string
	Description string
	Facts       []string
	Legend      []legendEntry
	Band        string
	Charts      []figure
	Baseline    string
	// Method, DiffHeader, Family and Rule are the table's words for its
	// method, its difference column, its family and its verdicts.
	Method, DiffHeader, Family, Rule string
	Measures                         []measureTable
	Recovery                         *recoveryTable
	HeatMap                          *figure
	Sweep                            string
	SweepVerdict                     string
	File                             string
	Source                           string
	Data                             template.JS
}

type legendEntry struct {
	Name, Replicas string
	Style          template.CSS
}

type measureTable struct {
	Name, Unit, Doc, Better, Margin, MarginRule string
	// MedianHead is "median", or "KM median" for a censored measure,
	// whose rows give Censored too.
	MedianHead string
	Censored   bool
	Rows       []measureRow
}

type measureRow struct {
	Variant, Median, MedianNote, Diff, DiffNote, Verdict string
	// Class is the verdict's style: its word, or none.
	Class       string
	N, Censored int
	// CensoredCol: the measure is censored, and the row has its column.
	CensoredCol bool
}

type recoveryTable struct {
	Rule     string
	Outcomes []string // the five, as the heads name them
	Rows     []recoveryRow
}

type recoveryRow struct {
	Variant string
	// Cols are the text table's columns (experiment.RecoveryColumns): the
	// outcome, each outcome's count and share, the replicas judged, the
	// time to healthy and the time to clear.
	Outcome, Replicas, Time, Clear string
	Counts                         []string
	Class                          string
}

// WriteExperimentHTML writes the comparison page of experiment e: its
// description and base; for the true VM count, the backlog and the requeue
// rate, a chart of every variant's median curve over its replicas with a
// band (the 10th to 90th percentile across them), on one time axis (the
// calendar's, when the base has an epoch); t, the table of every measure
// (median, paired difference from the baseline with its interval at the
// family's level, verdict), with the family and how a verdict is read; the
// metastability verdicts; for a sweep, its verdict line and a heat map of
// the outcome at each point of its grid, with a legend; and the experiment
// file itself. The verdicts are the text table's and the verdicts file's,
// word for word.
//
// The page is pg, as experiment.NewPage made it: e, t, and the replicas'
// results that t summarizes, checked as e's. Like the run
// report, the page needs nothing but itself; its figures are in it as
// JSON, in <script type="application/json" id="vmstorm-experiment">:
//
//	{"experiment": "...", "description": "...", "file": "...", "base": "...",
//	 "epoch": "2015-07-31T00:00:00Z", "replicas": 30, "seed": "1", "baseline": "...",
//	 "band": {"lo": 0.1, "hi": 0.9},
//	 "measures": [{"name": "time_to_recover", "unit": "h", "doc": "...", "better": "lower", "censored": true, "margin": 4.9}],
//	 "recovery": {"removed_by": ["fix_cleanup_credentials"], "within_s": 43200, "horizon_s": 86400, "trend_s": 21600,
//	              "load": "constant at the arrival rate (the daily peak)"},
//	 "variants": [{"name": "...", "asked": 30, "replicas": 30,
//	   "cells": [{"measure": "time_to_recover", "n": 30, "censored": 2,
//	              "median": {"estimate": 1, "lo": 0, "hi": null, "level": 0.95, "n": 30, "method": "Kaplan-Meier, Brookmeyer-Crowley"}}],
//	   "recovery": {"outcome": "recovered", "replicas": 30,
//	                "outcomes": {"recovered": {"count": 30, "share": {...}}, "draining": {...}, "stuck": {...},
//	                             "overloaded": {...}, "not_removed": {...}},
//	                "time_h": {...}, "clear_h": null},
//	   "curves": {"replicas": 30, "model_s": [...],
//	              "vms": {"median": [...], "lo": [...], "hi": [...]},
//	              "backlog": {...}, "requeues_per_min": {...}}}],
//	 "sweep": {"variant": "...", "replicas": 5, "x": {"key": "...", "values": [...]},
//	           "y": {...}, "cells": [[{"outcome": "recovered", "replicas": 5, "outcomes": {...}, "time_h": {...}, "clear_h": null}]],
//	           "verdict": "stuck (metastable): nowhere in this grid; tipping point along ...",
//	           "tipping": [the tipping records of the verdicts file, one per y]},
//	 "verdicts": [the records of the verdicts file, experiment.Verdicts]}
//
// cells are in the order of measures; censored is absent for a measure no
// run's end can cut short; a median, share or time is null when no
// replica has one, and a figure of one is null when it is infinite (a
// median not reached, an unbounded interval); curves is null for a
// variant with no results; the sweep's cells are cells[x][y], y absent for
// a sweep of one axis; epoch, recovery and sweep are absent when the
// experiment has none.
func WriteExperimentHTML(w io.Writer, pg *experiment.Page) error {
	if pg == nil {
		return errors.New("report: an experiment's page needs the experiment and its table (experiment.NewPage)")
	}
	e, t := pg.Experiment, pg.Table
	d, err := newExpData(pg)
	if err != nil {
		return err
	}
	data, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("report: encoding the experiment's figures: %w", err)
	}
	styles := variantStyles(len(d.Variants))
	p := expPage{
		Title:       "vmstorm experiment: " + e.Name,
		Description: e.Description,
		Facts:       experimentFacts(e, pg.Results),
		Band:        fmt.Sprintf("the %s to %s percentile across the replicas", ordinal(bandLo), ordinal(bandHi)),
		Charts:      experimentCharts(e, d, styles),
		Baseline:    d.Baseline,
		Method:      experiment.MethodText(t),
		DiffHeader:  experiment.DiffHeader(t),
		Family:      experiment.FamilyText(t),
		Rule:        experiment.VerdictRule(t),
		Measures:    measureTables(t),
		Recovery:    recoveryTableOf(e, t),
		File:        e.File,
		Source:      string(e.Source),
		// json.Marshal escapes <, > and &: the data cannot close its
		// <script> element.
		Data: template.JS(data),
	}
	for i, v := range d.Variants {
		n := "no results"
		if v.Curves != nil {
			n = fmt.Sprintf("%d replicas", v.Curves.Replicas)
		}
		p.Legend = append(p.Legend, legendEntry{Name: v.Name, Replicas: n, Style: styles[i].css})
	}
	if s := t.Sweep; s != nil {
		svg, err := renderHeatMap(s, e.Sweep.Replicas)
		if err != nil {
			return err
		}
		p.HeatMap = &figure{ID: "heatmap", SVG: template.HTML(svg), Caption: fmt.Sprintf(
			"Each cell is one point of the grid, %d replicas of %s, painted for the outcome most of them had, with its count, the 95 %% interval of its share "+
				"and the other outcomes' counts as far as the cell has room (the experiment's text table has them all): %s.",
			e.Sweep.Replicas, s.Variant, outcomeCaption())}
		p.Sweep, p.SweepVerdict = s.Variant, s.Verdict()
	}
	if err := experimentTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("report: writing the page: %w", err)
	}
	return nil
}

// experimentFacts is the page's headline.
func experimentFacts(e *experiment.Experiment, results []experiment.Result) []string {
	base := "base " + e.Base.Name
	f := []string{base, fmt.Sprintf("%d replicas per variant", e.Replicas), fmt.Sprintf("seed %d", e.Seed)}
	if s := e.Sweep; s != nil {
		f = append(f, fmt.Sprintf("sweep of %s, %d replicas a point", s.Variant, s.Replicas))
	}
	f = append(f, fmt.Sprintf("%d results", len(results)))
	stopped := 0
	for _, r := range results {
		if r.Error != "" {
			stopped++
		}
	}
	if stopped > 0 {
		f = append(f, fmt.Sprintf("%d replicas stopped early on an error", stopped))
	}
	return f
}

// The notes on an interval that is not a 95 % one.
func intervalNote(iv compare.Interval) string {
	if iv.Method == compare.SampleRange {
		return fmt.Sprintf("sample range, %s %%", format.Num(100*iv.Level))
	}
	return ""
}

// diffNote says what a paired difference's interval leans on, when it is
// not the exact signed-rank interval of exact differences.
func diffNote(c *experiment.Comparison) string {
	if c == nil || c.NoVerdict != "" {
		return ""
	}
	var notes []string
	switch c.Diff.Method {
	case compare.TooFewPairs:
		notes = append(notes, "too few pairs for the level")
	case compare.SignedRankNormal:
		notes = append(notes, "normal approximation")
	}
	if c.Diff.Bounded > 0 {
		notes = append(notes, fmt.Sprintf("%d of %d pairs bounded by censoring", c.Diff.Bounded, c.Diff.N))
	}
	return strings.Join(notes, "; ")
}

// outcomeCaption lists the heat map's outcomes for its caption.
func outcomeCaption() string {
	var parts []string
	for _, o := range experiment.Outcomes {
		parts = append(parts, string(o.Outcome)+" ("+o.Means+")")
	}
	return strings.Join(parts, "; ")
}

func measureTables(t *experiment.Table) []measureTable {
	var out []measureTable
	for k, m := range t.Measures {
		mt := measureTable{Name: m.Name, Unit: m.Unit, Doc: m.Doc, Better: experiment.BetterText(m.Better) + " is better",
			Margin: format.Figure(t.Margins[k].Value), MarginRule: t.Margins[k].Rule, MedianHead: "median", Censored: m.Censored()}
		if m.Censored() {
			mt.MedianHead = "KM median"
		}
		for _, v := range t.Variants {
			c := v.Cells[k]
			row := measureRow{Variant: v.Name, Median: "none", N: c.N, Censored: c.Censored, CensoredCol: m.Censored(), Verdict: v.Missing(), Class: "none"}
			if c.N > 0 {
				row.Median, row.MedianNote = experiment.MedianText(c.Median), intervalNote(c.Median)
			}
			if cmp := c.Comparison; cmp != nil {
				row.Diff, row.DiffNote, row.Verdict = experiment.DiffText(cmp), diffNote(cmp), cmp.Text()
				if cmp.NoVerdict == "" {
					row.Class = cmp.Verdict.Word
				}
			}
			mt.Rows = append(mt.Rows, row)
		}
		out = append(out, mt)
	}
	return out
}

func recoveryTableOf(e *experiment.Experiment, t *experiment.Table) *recoveryTable {
	if !e.Recovery.Asked() {
		return nil
	}
	rt := &recoveryTable{Rule: experiment.QuestionText(e)}
	for _, o := range experiment.ReplicaOutcomes {
		rt.Outcomes = append(rt.Outcomes, experiment.OutcomeName(o))
	}
	for _, v := range t.Variants {
		cols := experiment.RecoveryColumns(v.Recovery)
		n := len(experiment.ReplicaOutcomes)
		rt.Rows = append(rt.Rows, recoveryRow{Variant: v.Name, Outcome: cols[0], Counts: cols[1 : 1+n], Replicas: cols[1+n], Time: cols[2+n], Clear: cols[3+n],
			Class: strings.ReplaceAll(string(v.Recovery.Outcome()), " ", "-")})
	}
	return rt
}

// WriteExperimentFile writes the comparison page pg (WriteExperimentHTML)
// to path, which must end in .html, atomically as WriteFile does: to a
// temporary in the same directory, renamed into place, so that path never
// holds half a page.
func WriteExperimentFile(path string, pg *experiment.Page) error {
	if ext := strings.ToLower(filepath.Ext(path)); ext != ".html" {
		return fmt.Errorf("report: %s: %w %q for an experiment: want .html", path, ErrUnknownFormat, ext)
	}
	return writeAtomically(path, func(w io.Writer) error { return WriteExperimentHTML(w, pg) })
}

// WriteVerdictsFile writes the table's verdicts as JSON lines
// (experiment.WriteVerdicts) to path, atomically as WriteFile does, so
// that path never holds a part of them.
func WriteVerdictsFile(path string, t *experiment.Table) error {
	return writeAtomically(path, func(w io.Writer) error { return experiment.WriteVerdicts(w, t) })
}

var experimentTemplate = newPage("experiment", `{{template "head" .}}h3 { font-size: 15px; margin: 22px 0 4px; }
.description { margin: 0 0 6px; }
.legend { margin: 0 0 10px; padding: 0; list-style: none; font-size: 14px; }
.legend li { display: inline-block; margin: 0 18px 4px 0; }
.legend .swatch { display: inline-block; width: 26px; height: 12px; margin-right: 6px; vertical-align: middle;
  background: var(--band); border-top: 2px var(--dash, solid) var(--line); border-bottom: 2px var(--dash, solid) var(--line); }
.legend .n { color: #666; }
figure { margin: 0 0 24px; }
table { border-collapse: collapse; font-size: 14px; margin: 4px 0 8px; }
th, td { text-align: left; vertical-align: top; padding: 3px 14px 3px 0; border-bottom: 1px solid #eceef1; }
td.num { white-space: nowrap; font-variant-numeric: tabular-nums; }
.note { display: block; font-size: 12px; color: #777; }
.doc { font-size: 13px; color: #555; margin: 0; }
td.better { color: #1a7f37; font-weight: 600; }
td.worse { color: #c0262d; font-weight: 600; }
td.equivalent { color: #1f5f99; }
td.inconclusive, td.none { color: #666; }
.family { font-size: 13px; margin: 10px 0 4px; }
#sweep-verdict { font-weight: 600; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
{{if .Description}}<p class="description">{{.Description}}</p>{{end}}
<ul class="facts">{{range .Facts}}<li>{{.}}</li>{{end}}</ul>

<h2 id="curves">Over model time</h2>
<ul class="legend">{{range .Legend}}<li><span class="swatch" style="{{.Style}}"></span>{{.Name}} <span class="n">({{.Replicas}})</span></li>{{end}}</ul>
<p class="doc">Each line is a variant's median over its replicas, point by point; its shaded band, {{.Band}}.</p>
{{range .Charts}}<figure id="{{.ID}}">
{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}
<h2 id="measures">Measures</h2>
<p class="doc">Per variant, the median over its replicas with its 95 % interval (for a time a run's end can cut short, the Kaplan-Meier
median with its Brookmeyer-Crowley interval, and how many were censored); n is the replicas with a figure (or a censoring time).
Against {{.Baseline}}, the {{.Method}}. A variant with fewer replicas than asked has no verdict, and says so.
With fewer than 6 replicas, a median's interval is the sample range, noted with the lower confidence it has.</p>
{{range .Measures}}<h3 id="m-{{.Name}}">{{.Name}}{{if .Unit}} ({{.Unit}}){{end}}</h3>
<p class="doc">{{.Doc}}; {{.Better}}; margin ±{{.Margin}} ({{.MarginRule}}).</p>
<table id="measure-{{.Name}}">
<tr><th>variant</th><th>{{.MedianHead}} [95 % CI]</th><th>{{$.DiffHeader}}</th><th>verdict</th><th>n</th>{{if .Censored}}<th>censored</th>{{end}}</tr>
{{range .Rows}}<tr><td>{{.Variant}}</td><td class="num">{{.Median}}{{if .MedianNote}}<span class="note">{{.MedianNote}}</span>{{end}}</td><td class="num">{{.Diff}}{{if .DiffNote}}<span class="note">{{.DiffNote}}</span>{{end}}</td><td class="{{.Class}}">{{.Verdict}}</td><td class="num">{{.N}}</td>{{if .CensoredCol}}<td class="num">{{.Censored}}</td>{{end}}</tr>
{{end}}</table>
{{end}}<p class="family" id="family">{{.Family}}</p>
<p class="doc" id="verdict-rule">{{.Rule}}</p>
{{with .Recovery}}<h2 id="metastability">Does it recover by itself?</h2>
<p class="doc">Each replica's outcome, counted per variant, each with its share of the replicas judged and its exact (Clopper-Pearson) 95 % interval;
the outcome is the one most of them had. The time to healthy, in model hours from the trigger's removal, is the median over those healthy by the
window's end (recovered, or draining and seen to clear); the projected time to clear, in hours from the window's end, over those draining and still
unhealthy there, from the trend of their backlog and leak.
{{.Rule}}.</p>
<table id="recovery">
<tr><th>variant</th><th>outcome</th>{{range .Outcomes}}<th>{{.}} [95 % CI]</th>{{end}}<th>of</th><th>time to healthy, h [95 % CI]</th><th>projected clear, h [95 % CI]</th></tr>
{{range .Rows}}<tr><td>{{.Variant}}</td><td class="outcome-{{.Class}}">{{.Outcome}}</td>{{range .Counts}}<td class="num">{{.}}</td>{{end}}<td class="num">{{.Replicas}}</td><td class="num">{{.Time}}</td><td class="num">{{.Clear}}</td></tr>
{{end}}</table>
{{end}}
{{with .HeatMap}}<h2 id="sweep">Sweep of {{$.Sweep}}: where it recovers, drains, is stuck or overloaded</h2>
<p id="sweep-verdict">{{$.SweepVerdict}}</p>
<figure id="{{.ID}}">
{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}
<h2 id="file">The experiment file{{if .File}}: {{.File}}{{end}}</h2>
<pre id="source">{{.Source}}</pre>
</main>
<script type="application/json" id="`+ExperimentDataID+`">{{.Data}}</script>
</body>
</html>
`)

// logSpread is how many times the highest variant's peak may be the lowest
// (of those above zero) on a linear y axis: beyond it, the lowest would be
// drawn in the bottom 5 % of the axis, flat (the what-if's "never fixed"
// at 44,000 VMs against "honest monitoring" at 250).
const logSpread = 20

// logScaled reports whether a chart of variants with these peaks needs a
// logarithmic y axis to show every variant, and the spread of the peaks.
func logScaled(peaks []float64) (float64, bool) {
	lo, hi := math.Inf(1), 0.0
	for _, p := range peaks {
		if p > 0 {
			lo, hi = min(lo, p), max(hi, p)
		}
	}
	if hi == 0 || hi/lo <= logSpread {
		return 0, false
	}
	return hi / lo, true
}

// log1pScale puts y at its share of log(1 + y) between the axis's ends: a
// logarithmic axis that holds zero (a backlog that is empty).
type log1pScale struct{}

func (log1pScale) Normalize(lo, hi, y float64) float64 {
	l, h := math.Log1p(max(lo, 0)), math.Log1p(hi)
	return (math.Log1p(max(y, 0)) - l) / (h - l)
}

// log1pTicks labels a log1pScale axis at 0 and the powers of ten, with
// unlabelled ticks at 2 and 5 times each.
type log1pTicks struct{}

func (log1pTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := []plot.Tick{{Value: 0, Label: "0"}}
	for p := 1.0; p <= hi; p *= 10 {
		ticks = append(ticks, plot.Tick{Value: p, Label: strconv.FormatFloat(p, 'f', -1, 64)})
		for _, m := range []float64{2, 5} {
			if m*p <= hi {
				ticks = append(ticks, plot.Tick{Value: m * p})
			}
		}
	}
	return ticks
}

// useLogScale makes p's y axis a log1pScale from 0 to over yMax, with room
// above for the highest curve.
func useLogScale(p *plot.Plot, yMax float64) {
	p.Y.Scale, p.Y.Tick.Marker = log1pScale{}, log1pTicks{}
	p.Y.Min, p.Y.Max = 0, math.Expm1(math.Log1p(max(yMax, 1))*1.08)
	p.Y.Label.Text += " (log scale)"
}
