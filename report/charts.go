package report

import (
	"bytes"
	"cmp"
	"fmt"
	"html"
	"image/color"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"vmstorm/analysis"
	"vmstorm/internal/format"
	"vmstorm/outcome"
	"vmstorm/series"
)

// chartRates are the rates the charts draw: at each kept row, the rates
// (analysis.RatesBetween) since the newest kept row at least a display
// window before it. The window is the run's own, or a 150th of the run's
// span if that is longer, so that a long run's rates are not noise at the
// scale of its chart.
func chartRates(rows []series.Row, window, span time.Duration) []series.Row {
	window = max(window, span/150)
	out := make([]series.Row, 0, len(rows))
	var base series.Sample // the run starts at model time zero with every total at zero
	next := 0
	for _, r := range rows {
		for next < len(rows) && rows[next].T <= r.T-window {
			base = rows[next].Sample
			next++
		}
		if r.T <= base.T {
			continue // a row at model time zero has no window to measure
		}
		r.Rates = analysis.RatesBetween(base, r.Sample)
		out = append(out, r)
	}
	return out
}

// timeAxis maps model time onto the charts' x axis: minutes since the start
// for short runs, hours for long ones, and calendar times (UTC) when the
// run has an epoch.
type timeAxis struct {
	unit       time.Duration
	epoch      time.Time
	start, end time.Duration // the axis runs from model time start (0 but for a zoom) to end
}

func newTimeAxis(o *outcome.Outcome) timeAxis {
	end := o.Summary.Model
	if n := len(o.Rows); n > 0 {
		end = max(end, o.Rows[n-1].T)
	}
	for _, m := range o.Marks {
		end = max(end, m.T)
	}
	return newTimeAxisFor(o.Summary.Config.Epoch, end)
}

// newTimeAxisFor is the time axis of model times from 0 to end, on the
// calendar of epoch if it is not zero.
func newTimeAxisFor(epoch time.Time, end time.Duration) timeAxis {
	// The unit suits the axis's span: a zoom's window (see zoomAxis) sets
	// its start and end after.
	if end <= 0 {
		end = time.Minute // an empty run still gets a readable axis
	}
	a := timeAxis{unit: time.Minute, epoch: epoch, end: end}
	switch {
	case end <= 2*time.Minute:
		a.unit = time.Second
	case end > 3*time.Hour:
		a.unit = time.Hour
	}
	return a
}

func (a timeAxis) x(t time.Duration) float64 { return float64(t) / float64(a.unit) }

func (a timeAxis) at(x float64) time.Duration { return time.Duration(math.Round(x * float64(a.unit))) }

func (a timeAxis) label() string {
	if !a.epoch.IsZero() {
		from, to := a.epoch.Add(a.start).UTC(), a.epoch.Add(a.end).UTC()
		if from.YearDay() == to.YearDay() && from.Year() == to.Year() {
			return "time (UTC), " + from.Format("2006-01-02")
		}
		return "time (UTC)"
	}
	switch a.unit {
	case time.Second:
		return "model time (seconds since the start)"
	case time.Hour:
		return "model time (hours since the start)"
	}
	return "model time (minutes since the start)"
}

// tickSteps are the spacings a time axis may use: each a round figure on a
// clock, so that a reader can find the same time in other records.
var tickSteps = []time.Duration{
	time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
	time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
	time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour, 48 * time.Hour, 7 * 24 * time.Hour,
}

// Ticks puts labelled ticks at round model times, or, with an epoch, at
// round calendar times, and unlabelled ones half-way between.
func (a timeAxis) Ticks(lo, hi float64) []plot.Tick {
	from, to := a.at(lo), a.at(hi)
	step := tickSteps[len(tickSteps)-1]
	for _, st := range tickSteps {
		if (to-from)/st <= 8 {
			step = st
			break
		}
	}
	first := (from + step - 1) / step * step
	if from < 0 {
		first = from / step * step
	}
	if !a.epoch.IsZero() {
		cal := a.epoch.Add(from)
		round := cal.Truncate(step) // Truncate rounds on absolute time, which is UTC-aligned for steps that divide a day
		if round.Before(cal) {
			round = round.Add(step)
		}
		first = round.Sub(a.epoch)
	}
	var ticks []plot.Tick
	labelled := 0
	for t := first - step; t <= to; t += step {
		if t >= from {
			ticks = append(ticks, plot.Tick{Value: a.x(t), Label: a.tickLabel(t, step, labelled == 0)})
			labelled++
		}
		if m := t + step/2; m >= from && m <= to {
			ticks = append(ticks, plot.Tick{Value: a.x(m)})
		}
	}
	return ticks
}

// tickLabel spells the tick at t. On a calendar axis that crosses midnight,
// the first tick and each midnight carry the date, and the others only the
// time of day, which keeps the labels short.
func (a timeAxis) tickLabel(t, step time.Duration, first bool) string {
	if a.epoch.IsZero() {
		return strconv.FormatFloat(a.x(t), 'f', -1, 64)
	}
	cal := a.epoch.Add(t).UTC()
	layout := "15:04"
	if step < time.Minute {
		layout = "15:04:05"
	}
	start, end := a.epoch.Add(a.start).UTC(), a.epoch.Add(a.end).UTC()
	oneDay := start.YearDay() == end.YearDay() && start.Year() == end.Year()
	if !oneDay && (first || cal.Hour() == 0 && cal.Minute() == 0 && cal.Second() == 0) {
		layout = "Jan 2 " + layout
	}
	return cal.Format(layout)
}

// countTicks labels a count or a rate: round steps (1, 2 or 5 times a power
// of ten) without needless decimals, where gonum's default writes 750.00.
type countTicks struct{}

func (countTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) {
		return []plot.Tick{{Value: lo, Label: strconv.FormatFloat(lo, 'f', -1, 64)}}
	}
	raw := (hi - lo) / 6
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := 10 * mag
	for _, m := range []float64{1, 2, 5} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	decimals := max(0, int(-math.Floor(math.Log10(step))))
	var ticks []plot.Tick
	first := math.Ceil(lo/step - 1e-9)
	for i := first; i*step <= hi+step*1e-9; i++ {
		// Multiplying, rather than adding step up, keeps 0.1+0.2 errors out
		// of the labels.
		v := i * step
		if v == 0 {
			v = 0 // not -0, which would be labelled so
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: strconv.FormatFloat(v, 'f', decimals, 64)})
		if m := v + step/2; m <= hi {
			ticks = append(ticks, plot.Tick{Value: m})
		}
	}
	return ticks
}

// Colours: one per quantity, the same on every chart. The marks are purple
// so that they never read as data.
var (
	colTrue      = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff}
	colReported  = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}
	colCapacity  = color.RGBA{R: 0x33, G: 0x33, B: 0x33, A: 0xff}
	colBacklog   = color.RGBA{R: 0xe6, G: 0x6a, B: 0x00, A: 0xff}
	colBackFill  = color.NRGBA{R: 0xe6, G: 0x6a, B: 0x00, A: 0x30}
	colRequeues  = colTrue
	colCompleted = color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}
	colArrivals  = color.RGBA{R: 0x7f, G: 0x7f, B: 0x7f, A: 0xff}
	colMark      = color.RGBA{R: 0x6a, G: 0x3d, B: 0x9a, A: 0xff}
	colAlert     = color.RGBA{R: 0xb2, G: 0x18, B: 0x2b, A: 0xff}
	colInUse     = color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}
	colGrid      = color.RGBA{R: 0xe4, G: 0xe4, B: 0xe4, A: 0xff}
)

var (
	markLine  = draw.LineStyle{Color: colMark, Width: vg.Points(1.2), Dashes: []vg.Length{vg.Points(5), vg.Points(3)}}
	alertLine = draw.LineStyle{Color: colAlert, Width: vg.Points(1), Dashes: []vg.Length{vg.Points(1), vg.Points(2)}}
)

// sansFont is the charts' typeface. The SVG names it, and svgFonts gives
// browsers metric-compatible fallbacks, so text measured here fits there.
func sansFont(size vg.Length, bold bool) font.Font {
	f := font.Font{Typeface: "Liberation", Variant: "Sans", Size: size}
	if bold {
		f.Weight = xfont.WeightBold
	}
	return f
}

func textStyle(size vg.Length, bold bool, c color.Color) text.Style {
	return text.Style{Color: c, Font: sansFont(size, bold), Handler: plot.DefaultTextHandler}
}

// key is one entry of a chart's legend.
type key struct {
	name string
	line draw.LineStyle
}

// chart is one panel: a title and a legend above a plot.
type chart struct {
	title   string
	keys    []key
	plot    *plot.Plot
	marked  bool // the timeline's marks are drawn on it
	alerted bool // and alerts firing
}

// line adds one series to the chart, and its key.
func (ch *chart) line(name string, style draw.LineStyle, fill color.Color, xys plotter.XYs) {
	ch.keys = append(ch.keys, key{name, style})
	if len(xys) == 0 {
		return
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		// The values come from integer counts and finite rates: a NaN or an
		// infinity here is a bug in this package.
		panic(fmt.Sprintf("report: chart %q, series %q: %v", ch.title, name, err))
	}
	l.LineStyle, l.FillColor = style, fill
	ch.plot.Add(l)
}

// newChart makes a panel over the whole run, with its grid and the marks:
// the timeline's events, and the alerts firing.
func newChart(a timeAxis, marks []chartMark, title, yLabel string) *chart {
	p := plot.New()
	p.X.Label.Text, p.Y.Label.Text = a.label(), yLabel
	p.X.Tick.Marker, p.Y.Tick.Marker = a, countTicks{}
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = sansFont(11, false)
		ax.Tick.Label.Font = sansFont(10, false)
		ax.Padding = 0
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = colGrid, colGrid
	p.Add(grid)
	ch := &chart{title: title, plot: p, marked: len(marks) > 0}
	if ch.marked {
		p.Add(markLines{marks: marks, axis: a})
		for _, m := range marks {
			ch.alerted = ch.alerted || m.alert
		}
	}
	return ch
}

// finish fixes the axes' ranges once every series is in: the axis's span
// (the whole run, or a zoom's window) on x, and on y from zero with headroom for the marks' labels. A y axis of at
// least 5 keeps a quiet series (a backlog of zero) on whole numbers.
func (ch *chart) finish(a timeAxis, yMax float64) {
	p := ch.plot
	p.X.Min, p.X.Max = a.x(a.start), a.x(a.end)
	p.Y.Min, p.Y.Max = 0, max(yMax*1.18, 5)
	if ch.marked {
		ch.keys = append(ch.keys, key{"fault or operator's action", markLine})
	}
	if ch.alerted {
		ch.keys = append(ch.keys, key{"alert fires", alertLine})
	}
}

// charts are the page's three panels.
type charts struct {
	vms, backlog, rates *chart
}

func buildCharts(o *outcome.Outcome) charts {
	return buildChartsOn(o, newTimeAxis(o))
}

// buildChartsOn draws the panels over axis a: the whole run, or a zoom's
// window (then only the rows and marks in it, the marks numbered as over
// the whole run, and titles that say so).
func buildChartsOn(o *outcome.Outcome, a timeAxis) charts {
	titles := [3]string{"VMs on the cluster: the true count, what the janitor reported, and the gauge", "Backlog: jobs waiting for a VM", "Requeues, completions and arrivals per model minute, over "}
	if a.start > 0 {
		titles = [3]string{"The incident's window: VMs on the cluster, true, reported and the gauge", "The incident's window: the backlog", "The incident's window: requeues, completions and arrivals a minute, over "}
	}
	var marks []chartMark
	for _, m := range chartMarks(o) {
		if m.t >= a.start && m.t <= a.end {
			marks = append(marks, m)
		}
	}
	rows := o.Rows
	if a.start > 0 {
		// The rows in the window, and one either side, so that each line
		// runs to the window's edges.
		lo, _ := slices.BinarySearchFunc(rows, a.start, func(r series.Row, t time.Duration) int { return cmp.Compare(r.T, t) })
		hi, _ := slices.BinarySearchFunc(rows, a.end, func(r series.Row, t time.Duration) int { return cmp.Compare(r.T, t) })
		rows = rows[max(lo-1, 0):min(hi+1, len(rows))]
	}
	n := len(rows)
	trueVMs, reported, inUse, capacity, backlog := make(plotter.XYs, n), make(plotter.XYs, n), make(plotter.XYs, n), make(plotter.XYs, n), make(plotter.XYs, n)
	var vmMax, backlogMax float64
	for i, r := range rows {
		x := a.x(r.T)
		trueVMs[i] = plotter.XY{X: x, Y: float64(r.VMs)}
		reported[i] = plotter.XY{X: x, Y: float64(r.ReportedVMs)}
		inUse[i] = plotter.XY{X: x, Y: float64(r.InUse)}
		capacity[i] = plotter.XY{X: x, Y: float64(r.Capacity)}
		backlog[i] = plotter.XY{X: x, Y: float64(r.Backlog)}
		vmMax = max(vmMax, float64(r.VMs), float64(r.ReportedVMs), float64(r.Capacity))
		backlogMax = max(backlogMax, float64(r.Backlog))
	}
	if n == 0 {
		vmMax = float64(o.Summary.Config.VMs)
	}
	if a.start > 0 {
		// The lines leave the window at its edges: the y axis fits the
		// values inside it.
		vmMax, backlogMax = 0, 0
		for _, r := range rows {
			if r.T >= a.start && r.T <= a.end {
				vmMax = max(vmMax, float64(r.VMs), float64(r.ReportedVMs), float64(r.Capacity))
				backlogMax = max(backlogMax, float64(r.Backlog))
			}
		}
	}

	var c charts
	c.vms = newChart(a, marks, titles[0], "VMs")
	c.vms.line("true count", draw.LineStyle{Color: colTrue, Width: vg.Points(2)}, nil, trueVMs)
	c.vms.line("reported to monitoring", draw.LineStyle{Color: colReported, Width: vg.Points(2), Dashes: []vg.Length{vg.Points(7), vg.Points(3)}}, nil, reported)
	c.vms.line("holding capacity (the gauge)", draw.LineStyle{Color: colInUse, Width: vg.Points(1.5)}, nil, inUse)
	c.vms.line("capacity", draw.LineStyle{Color: colCapacity, Width: vg.Points(1.5), Dashes: []vg.Length{vg.Points(2), vg.Points(3)}}, nil, capacity)
	c.vms.finish(a, vmMax)

	c.backlog = newChart(a, marks, titles[1], "jobs")
	c.backlog.line("backlog", draw.LineStyle{Color: colBacklog, Width: vg.Points(2)}, colBackFill, backlog)
	c.backlog.finish(a, backlogMax)

	window := max(o.Summary.Config.Window, (a.end-a.start)/150)
	rs := chartRates(o.Rows, o.Summary.Config.Window, a.end-a.start)
	if a.start > 0 {
		i, _ := slices.BinarySearchFunc(rs, a.start, func(r series.Row, t time.Duration) int { return cmp.Compare(r.T, t) })
		j, _ := slices.BinarySearchFunc(rs, a.end, func(r series.Row, t time.Duration) int { return cmp.Compare(r.T, t) })
		rs = rs[max(i-1, 0):min(j+1, len(rs))]
	}
	requeues, completions, arrivals := make(plotter.XYs, len(rs)), make(plotter.XYs, len(rs)), make(plotter.XYs, len(rs))
	var rateMax float64
	for i, r := range rs {
		x := a.x(r.T)
		requeues[i] = plotter.XY{X: x, Y: r.Rates.Requeues}
		completions[i] = plotter.XY{X: x, Y: r.Rates.Completions}
		arrivals[i] = plotter.XY{X: x, Y: r.Rates.Arrivals}
		if r.T >= a.start && r.T <= a.end {
			rateMax = max(rateMax, r.Rates.Requeues, r.Rates.Completions, r.Rates.Arrivals)
		}
	}
	c.rates = newChart(a, marks, titles[2]+format.Duration(window), "per model minute")
	c.rates.line("requeues", draw.LineStyle{Color: colRequeues, Width: vg.Points(2)}, nil, requeues)
	c.rates.line("completions", draw.LineStyle{Color: colCompleted, Width: vg.Points(2)}, nil, completions)
	c.rates.line("arrivals", draw.LineStyle{Color: colArrivals, Width: vg.Points(1.2)}, nil, arrivals)
	c.rates.finish(a, rateMax)
	return c
}

// incidentPhases are the phases that make an incident's window: from the
// storm to the last of the operators' work on it.
var incidentPhases = []string{analysis.PhaseStorm, analysis.PhasePaused, analysis.PhaseCatchUp, analysis.PhaseSecondFailure, analysis.PhaseReducedRate}

// zoomAxis is the time axis of the incident's window, where its events
// crowd together on the whole run's axis (the 2015 replay: six of its
// eight marks and four alerts in 12 of 150 hours): from the first of the
// storm, its detection and the first of incidentPhases, to its recovery
// (or the end of the last of incidentPhases, or the run's end), with a
// tenth of that on either side. ok is false if the run has no such window
// or it is over a third of the run, where the whole run's axis shows it.
func zoomAxis(o *outcome.Outcome) (timeAxis, bool) {
	whole := newTimeAxis(o)
	an := o.Analysis
	from, to, found := time.Duration(0), whole.end, false
	first := func(t time.Duration) {
		if !found || t < from {
			from, found = t, true
		}
	}
	if an.Storm.Happened {
		first(an.Storm.Start)
	}
	if an.Incident.Faulted && an.Incident.Detected {
		first(an.Incident.DetectedAt)
	}
	last := time.Duration(-1)
	for i, ph := range an.Phases {
		if slices.Contains(incidentPhases, ph.Name) {
			first(ph.Start)
			last = whole.end
			if i+1 < len(an.Phases) {
				last = an.Phases[i+1].Start
			}
		}
	}
	if !found {
		return timeAxis{}, false
	}
	switch {
	case an.Incident.Recovered && an.Incident.RecoveredAt > from:
		to = an.Incident.RecoveredAt
	case last > from:
		to = last
	}
	pad := max((to-from)/10, time.Minute)
	from, to = max(from-pad, 0), min(to+pad, whole.end)
	if to-from > whole.end/3 || from == 0 {
		return timeAxis{}, false
	}
	a := newTimeAxisFor(o.Summary.Config.Epoch, to-from)
	a.start, a.end = from, to
	return a, true
}

// chartMark is a mark on the charts: a group of the timeline's events at
// one model time, or an alert firing. Events at one time share one line
// and one number, which the page's timeline lists.
type chartMark struct {
	t     time.Duration
	label string
	alert bool
}

// chartMarks groups the run's marks by time and numbers them as the page's
// timeline does, and adds the alerts that fired.
func chartMarks(o *outcome.Outcome) []chartMark {
	var out []chartMark
	for i, g := range markGroups(o.Marks) {
		out = append(out, chartMark{t: g[0].T, label: strconv.Itoa(i + 1)})
	}
	for _, e := range o.Analysis.Alerts {
		if e.Firing {
			out = append(out, chartMark{t: e.T, label: "alert: " + e.Name, alert: true})
		}
	}
	slices.SortStableFunc(out, func(a, b chartMark) int { return cmp.Compare(a.t, b.t) })
	return out
}

// markGroups are the marks, in groups of one model time, in order.
func markGroups(marks []series.Mark) [][]series.Mark {
	var out [][]series.Mark
	for _, m := range marks {
		if n := len(out); n > 0 && out[n-1][0].T == m.T {
			out[n-1] = append(out[n-1], m)
			continue
		}
		out = append(out, []series.Mark{m})
	}
	return out
}

// markLines draws the timeline's marks as labelled vertical lines across a
// plot's data area.
type markLines struct {
	marks []chartMark
	axis  timeAxis
}

func (m markLines) Plot(c draw.Canvas, p *plot.Plot) {
	trX, _ := p.Transforms(&c)
	sty := textStyle(9, false, colMark)
	sty.XAlign, sty.YAlign = draw.XLeft, draw.YTop
	const pad = vg.Length(3)
	lineH := sty.FontExtents().Height + 2
	marks := m.marks
	for _, mk := range marks {
		x := trX(m.axis.x(mk.t))
		style := markLine
		if mk.alert {
			style = alertLine
		}
		c.StrokeLine2(style, x, c.Min.Y, x, c.Max.Y)
	}
	// The labels go over every line, in rows from the top; each takes the
	// first row where it does not run into the label before it, so close
	// marks stay readable.
	var rowEnd []vg.Length
	for _, mk := range marks {
		x := trX(m.axis.x(mk.t))
		sty := sty
		if mk.alert {
			sty.Color = colAlert
		}
		w := sty.Width(mk.label)
		left := x + pad
		if left+w > c.Max.X {
			left = x - pad - w // near the right edge: label on the line's left
		}
		row := 0
		for row < len(rowEnd) && left < rowEnd[row]+2*pad {
			row++
		}
		if row == len(rowEnd) {
			rowEnd = append(rowEnd, 0)
		}
		rowEnd[row] = left + w
		top := c.Max.Y - pad - vg.Length(row)*lineH
		// A white backing keeps the label legible over the lines it crosses.
		c.FillPolygon(color.NRGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xe0}, []vg.Point{
			{X: left - 1, Y: top + 1}, {X: left + w + 1, Y: top + 1},
			{X: left + w + 1, Y: top - lineH + 1}, {X: left - 1, Y: top - lineH + 1},
		})
		c.FillText(sty, vg.Point{X: left, Y: top}, mk.label)
	}
}

// The header of each panel: its title, and its legend below.
var (
	titleStyle = func() text.Style { s := textStyle(12, true, color.Black); s.YAlign = draw.YTop; return s }()
	keyStyle   = func() text.Style { s := textStyle(10, false, color.Black); s.YAlign = draw.YCenter; return s }()
)

const (
	keySwatch = vg.Length(22)
	keyGap    = vg.Length(16)
)

// headerHeight is the height of the panel's title and its legend, whose
// keys wrap onto as many rows as width needs.
func (ch *chart) headerHeight(width vg.Length) vg.Length {
	h := titleStyle.FontExtents().Height + 4
	if len(ch.keys) > 0 {
		_, rows := keyLayout(ch.keys, width)
		h += vg.Length(rows) * (keyStyle.FontExtents().Height + 6)
	}
	return h
}

// keyPlace is where a key of the legend goes: its left end's offset from
// the legend's left edge, and its row from the top.
type keyPlace struct {
	x   vg.Length
	row int
}

// keyWidth is the width a key takes: its swatch and its name.
func keyWidth(k key) vg.Length { return keySwatch + 5 + keyStyle.Width(k.name) }

// keyLayout places the keys in rows of at most width, in order, each row
// as full as it goes; a key wider than width has a row of its own. It
// returns the places and the number of rows.
func keyLayout(keys []key, width vg.Length) ([]keyPlace, int) {
	out := make([]keyPlace, len(keys))
	x, row := vg.Length(0), 0
	for i, k := range keys {
		w := keyWidth(k)
		if x > 0 && x+w > width {
			x, row = 0, row+1
		}
		out[i] = keyPlace{x: x, row: row}
		x += w + keyGap
	}
	if len(keys) == 0 {
		return out, 0
	}
	return out, row + 1
}

// drawHeader writes the title and, below it, the legend, from left to the
// canvas's right edge, in as many rows as it needs: a legend inside the
// plot would hide data, and one cut at the edge hides keys.
func (ch *chart) drawHeader(c draw.Canvas, left vg.Length) {
	c.FillText(titleStyle, vg.Point{X: left, Y: c.Max.Y}, fitText(titleStyle, ch.title, c.Max.X-left))
	top := c.Max.Y - titleStyle.FontExtents().Height - 4 - keyStyle.FontExtents().Height/2
	places, _ := keyLayout(ch.keys, c.Max.X-left)
	for i, k := range ch.keys {
		x, y := left+places[i].x, top-vg.Length(places[i].row)*(keyStyle.FontExtents().Height+6)
		c.StrokeLine2(k.line, x, y, x+keySwatch, y)
		c.FillText(keyStyle, vg.Point{X: x + keySwatch + 5, Y: y}, k.name)
	}
}

// drawPanels draws panels one above the other on dc, their data areas
// aligned so that a model time is at the same x on each.
func drawPanels(dc draw.Canvas, panels ...*chart) {
	dc.FillPolygon(color.White, []vg.Point{
		{X: dc.Min.X, Y: dc.Min.Y}, {X: dc.Max.X, Y: dc.Min.Y}, {X: dc.Max.X, Y: dc.Max.Y}, {X: dc.Min.X, Y: dc.Max.Y},
	})
	plots := make([][]*plot.Plot, len(panels))
	for i, ch := range panels {
		plots[i] = []*plot.Plot{ch.plot}
	}
	tiles := draw.Tiles{Rows: len(panels), Cols: 1, PadTop: 6, PadBottom: 4, PadLeft: 6, PadRight: 18, PadY: 18}
	canvases := plot.Align(plots, tiles, dc)
	for i, ch := range panels {
		c := canvases[i][0]
		left := ch.plot.DataCanvas(c).Min.X // the data area's left edge, which the header's height does not move
		hh := ch.headerHeight(c.Max.X - left)
		body := draw.Crop(c, 0, 0, 0, -hh)
		ch.drawHeader(draw.Crop(c, 0, 0, c.Size().Y-hh, 0), left)
		ch.plot.Draw(body)
	}
}

// svgFonts gives the SVG's font family metric-compatible fallbacks
// (Arimo, Arial and Helvetica share Liberation Sans's widths), so that a
// browser without Liberation Sans still fits each label where the chart
// measured it, instead of falling back to a serif of other widths.
var svgFonts = regexp.MustCompile(`font-family:Liberation Sans;`)

// svgProlog is the XML declaration and comment before <svg>, which have no
// place inside an HTML page.
var svgProlog = regexp.MustCompile(`(?s)\A.*?<svg\b`)

// fixSVG prepares gonum's SVG for a browser. Given a label, it makes it an
// element to inline in an HTML page, named by label for screen readers.
func fixSVG(b []byte, label string) []byte {
	b = svgFonts.ReplaceAllLiteral(b, []byte(`font-family:'Liberation Sans',Arimo,Arial,Helvetica,sans-serif;`))
	if label != "" {
		b = svgProlog.ReplaceAllLiteral(b, []byte(`<svg role="img" aria-label="`+html.EscapeString(label)+`"`))
	}
	return bytes.TrimSpace(b)
}

// maxKeyLines is the most lines the exported chart's key has: a timeline
// of more groups ends it with a line that says how many more there are.
const maxKeyLines = 24

// markKey is the key to the marks' numbers, for the exported chart: a line
// for each group of the timeline's events, "3  2015-08-04 18:46:00
// pause_builds, fix_cleanup_credentials", as the page's timeline numbers
// them; the alerts are named on the chart itself.
func markKey(o *outcome.Outcome) []string {
	groups := markGroups(o.Marks)
	var out []string
	for i, g := range groups {
		if len(out) == maxKeyLines-1 && len(groups) > maxKeyLines {
			out = append(out, fmt.Sprintf("... and %d more: the page's timeline (-report FILE.html) lists every event", len(groups)-i))
			break
		}
		names := make([]string, len(g))
		for j, m := range g {
			names[j] = m.Name
		}
		out = append(out, fmt.Sprintf("%d   %s   %s", i+1, format.ModelTime(o.Summary.Config.Epoch, g[0].T), strings.Join(names, ", ")))
	}
	return out
}

// The key's text, and the space it takes under the panels: a heading and
// its lines.
var keyTextStyle = func() text.Style { s := textStyle(9, false, colMark); s.YAlign = draw.YTop; return s }()

func keyLineHeight() vg.Length { return keyTextStyle.FontExtents().Height + 2 }

func keyHeight(lines []string) vg.Length {
	if len(lines) == 0 {
		return 0
	}
	return vg.Length(len(lines)+1)*keyLineHeight() + 12
}

// drawKey writes the key's heading and lines on c, each cut with "…" to
// the canvas's width.
func drawKey(c draw.Canvas, lines []string) {
	if len(lines) == 0 {
		return
	}
	left, y := c.Min.X+8, c.Max.Y-4
	heading := keyTextStyle
	heading.Font = sansFont(9, true)
	heading.Color = color.Black
	c.FillText(heading, vg.Point{X: left, Y: y}, "Marks: the timeline's events at each numbered line (dotted red lines are alerts firing, named)")
	for _, l := range lines {
		y -= keyLineHeight()
		c.FillText(keyTextStyle, vg.Point{X: left, Y: y}, fitText(keyTextStyle, l, c.Max.X-left-8))
	}
}

// fitText cuts s, ending it with "…", to at most width in style sty.
func fitText(sty text.Style, s string, width vg.Length) string {
	if sty.Width(s) <= width {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && sty.Width(string(r)+"…") > width {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
