package report

import (
	"bytes"
	"fmt"
	"image/color"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"vmstorm/experiment"
	"vmstorm/internal/format"
)

// outcomeStyle is how the heat map paints a cell of an outcome: a colour,
// and for some a hatching, so that the outcomes are told apart without
// colour too.
type outcomeStyle struct {
	fill  color.RGBA
	hatch bool
}

// outcomeStyles paints each experiment.Outcome (the report's test requires
// one for each): blue where the replicas recover by themselves, pale blue
// where they drain, more slowly, red where a state sustains itself, orange
// and hatched where the cell is overloaded, greys for cells with nothing
// to judge.
var outcomeStyles = map[experiment.Outcome]outcomeStyle{
	experiment.Recovered:  {fill: color.RGBA{R: 0x21, G: 0x66, B: 0xac, A: 0xff}},
	experiment.Draining:   {fill: color.RGBA{R: 0x92, G: 0xc5, B: 0xde, A: 0xff}},
	experiment.Stuck:      {fill: color.RGBA{R: 0xc0, G: 0x26, B: 0x2d, A: 0xff}},
	experiment.Overloaded: {fill: color.RGBA{R: 0xf1, G: 0xa3, B: 0x40, A: 0xff}, hatch: true},
	experiment.NotRemoved: {fill: color.RGBA{R: 0xc8, G: 0xc8, B: 0xc8, A: 0xff}},
	experiment.Incomplete: {fill: color.RGBA{R: 0xe6, G: 0xe6, B: 0xe6, A: 0xff}, hatch: true},
	experiment.NotRun:     {fill: color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}, hatch: true},
}

var (
	hatchInk   = color.RGBA{R: 0x55, G: 0x55, B: 0x55, A: 0xff}
	cellBorder = color.RGBA{R: 0xff, G: 0xff, B: 0xff, A: 0xff}
)

// styleOf is the style of an outcome; an outcome without one is a bug
// (TestHeatMapStylesEveryOutcome).
func styleOf(o experiment.Outcome) outcomeStyle {
	s, ok := outcomeStyles[o]
	if !ok {
		panic(fmt.Sprintf("report: no heat map style for outcome %q", o))
	}
	return s
}

// paintCell fills rectangle r in style s: its colour, its hatching, and a
// white border that parts it from its neighbours.
func paintCell(c draw.Canvas, r vg.Rectangle, s outcomeStyle) {
	corners := []vg.Point{r.Min, {X: r.Max.X, Y: r.Min.Y}, r.Max, {X: r.Min.X, Y: r.Max.Y}}
	c.FillPolygon(s.fill, corners)
	if s.hatch {
		ls := draw.LineStyle{Color: hatchInk, Width: vg.Points(0.8)}
		step := vg.Points(7)
		w, h := r.Max.X-r.Min.X, r.Max.Y-r.Min.Y
		for off := -h; off < w; off += step {
			// A line of slope 1 from (off, 0), clipped to the cell.
			x0, y0 := max(off, 0), max(-off, 0)
			l := min(w-x0, h-y0)
			if l <= 0 {
				continue
			}
			c.StrokeLine2(ls, r.Min.X+x0, r.Min.Y+y0, r.Min.X+x0+l, r.Min.Y+y0+l)
		}
	}
	c.StrokeLines(draw.LineStyle{Color: cellBorder, Width: vg.Points(2)}, append(corners, corners[0]))
}

// outcomeCells draws a sweep's grid: each point a cell painted for its
// outcome, with as much of its count, its share's interval and the other
// outcomes' counts printed in it as fits (cellLabel).
type outcomeCells struct {
	cells    [][]experiment.RecoveryCell
	replicas int
}

func (g outcomeCells) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	for x, col := range g.cells {
		for y, cell := range col {
			st := styleOf(cell.Outcome())
			r := vg.Rectangle{
				Min: vg.Point{X: trX(float64(x) - 0.5), Y: trY(float64(y) - 0.5)},
				Max: vg.Point{X: trX(float64(x) + 0.5), Y: trY(float64(y) + 0.5)},
			}
			paintCell(c, r, st)
			styles, lines := cellLabel(cell, r.Max.X-r.Min.X-cellPadding, r.Max.Y-r.Min.Y-cellPadding, inkOn(st.fill))
			mid := vg.Point{X: (r.Min.X + r.Max.X) / 2, Y: (r.Min.Y + r.Max.Y) / 2}
			at := mid.Y + vg.Length(len(lines)-1)*cellLineH/2
			for i, l := range lines {
				c.FillText(styles[i], vg.Point{X: mid.X, Y: at}, l)
				at -= cellLineH
			}
		}
	}
}

// A cell's text: the room it keeps from the cell's edges, and the height
// of a line.
const (
	cellPadding = 6
	cellLineH   = 14
)

// cellLabel is what a cell of width by height shows, each line with its
// style, in ink: up to three lines, the outcome and its count (in bold),
// its share's interval, the other outcomes' counts, as many as fit. Where
// the first line does not fit at 13 points, it is set at 10; where it
// still does not, the count goes under the outcome's name, or alone
// ("10/10") if the name does not fit either; where even that does not (a
// grid of many columns), nothing: the cell's colour says the outcome, and
// the legend names it. No line is wider than the cell, and no more lines
// than its height holds.
func cellLabel(cell experiment.RecoveryCell, width, height vg.Length, ink color.Color) ([]text.Style, []string) {
	o := cell.Outcome()
	name := experiment.OutcomeName(o)
	lines, short := []string{name}, ""
	switch o {
	case experiment.Incomplete:
		lines = append(lines, fmt.Sprintf("%d of %d replicas", cell.Replicas, cell.Asked))
	case experiment.NotRun:
	default:
		s := cell.Share(o)
		short = fmt.Sprintf("%d/%d", cell.Count(o), cell.Replicas)
		lines[0] = name + " " + short
		lines = append(lines, fmt.Sprintf("[%s, %s]", format.Figure(s.Lo), format.Figure(s.Hi)))
		if others := experiment.OthersSeen(cell); len(others) > 0 {
			lines = append(lines, strings.Join(others, ", "))
		}
	}
	centred := func(size vg.Length, bold bool) text.Style {
		st := textStyle(size, bold, ink)
		st.XAlign, st.YAlign = draw.XCenter, draw.YCenter
		return st
	}
	rows := int(height / cellLineH)
	first := centred(13, true)
	if first.Width(lines[0]) > width {
		first = centred(10, true) // a narrow cell
	}
	var styles []text.Style
	var fits []string
	switch {
	case rows < 1:
		return nil, nil
	case first.Width(lines[0]) <= width:
		styles, fits = []text.Style{first}, lines[:1]
	case short == "":
		return nil, nil
	case rows >= 2 && first.Width(name) <= width && first.Width(short) <= width:
		styles, fits = []text.Style{first, first}, []string{name, short} // the count under the name
	case first.Width(short) <= width:
		styles, fits = []text.Style{first}, []string{short}
	default:
		return nil, nil
	}
	small := centred(9, false)
	for _, l := range lines[1:] {
		if len(fits) < rows && small.Width(l) <= width {
			styles, fits = append(styles, small), append(fits, l)
		}
	}
	return styles, fits
}

// inkOn is the text colour that reads on background bg: black on light
// colours, white on dark ones (by relative luminance).
func inkOn(bg color.Color) color.Color {
	r, g, b, _ := bg.RGBA()
	lum := (0.2126*float64(r) + 0.7152*float64(g) + 0.0722*float64(b)) / 0xffff
	if lum < 0.45 {
		return color.White
	}
	return color.Black
}

// The heat map: its cells' height (a grid of many rows gets lower ones,
// down to a line of text's, so that the map stays about a page high), and
// the legend's width at its right.
const (
	heatRowH    = 0.8 * vg.Inch
	heatMinRowH = 0.3 * vg.Inch
	heatGridH   = 9 * vg.Inch
	heatLegendW = 2.1 * vg.Inch
)

// heatRow is the height of a row of a grid of ny rows.
func heatRow(ny int) vg.Length {
	return min(heatRowH, max(heatMinRowH, heatGridH/vg.Length(ny)))
}

// renderHeatMap draws the sweep's grid as a heat map of outcomes, inline
// SVG: the x values along the bottom, the y values up the side, each cell
// painted for its outcome (experiment.Outcomes: the one most of its
// replicas had) with what of its counts fits printed in it (cellLabel),
// and the legend of the outcomes at the right.
func renderHeatMap(s *experiment.SweepTable, replicas int) ([]byte, error) {
	nx, ny := len(s.Cells), len(s.Cells[0])
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: what most of the %d replicas at each point became", s.Variant, replicas)
	p.Title.TextStyle = textStyle(12, true, color.Black)
	p.Title.TextStyle.XAlign, p.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
	p.Add(outcomeCells{cells: s.Cells, replicas: replicas})
	p.X.Label.Text = s.X.Key
	p.X.Tick.Marker = valueTicks(s.X.Values)
	p.X.Min, p.X.Max = -0.5, float64(nx)-0.5
	p.Y.Min, p.Y.Max = -0.5, float64(ny)-0.5
	if s.Y.Key != "" {
		p.Y.Label.Text = s.Y.Key
		p.Y.Tick.Marker = valueTicks(s.Y.Values)
	} else {
		p.Y.Tick.Marker = plot.ConstantTicks(nil)
	}
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = sansFont(11, false)
		ax.Tick.Label.Font = sansFont(10, false)
		ax.Padding = 0
	}

	legendH := vg.Length(len(experiment.Outcomes))*0.3*vg.Inch + 0.6*vg.Inch
	w, h := pageChartW, max(2.6*vg.Inch, 1.4*vg.Inch+vg.Length(ny)*heatRow(ny), legendH)
	canvas := vgsvg.New(w, h)
	dc := draw.New(canvas)
	dc.FillPolygon(color.White, []vg.Point{{X: 0, Y: 0}, {X: w, Y: 0}, {X: w, Y: h}, {X: 0, Y: h}})
	pad := draw.Crop(dc, 6, -18, 4, -6)
	p.Draw(draw.Crop(pad, 0, -heatLegendW, 0, 0))
	drawOutcomeLegend(draw.Crop(pad, pad.Size().X-heatLegendW+18, 0, 0, 0))

	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("report: rendering the heat map: %w", err)
	}
	return fixSVG(buf.Bytes(), p.Title.Text), nil
}

// drawOutcomeLegend lists every outcome, top down, each with a swatch
// painted as its cells are.
func drawOutcomeLegend(c draw.Canvas) {
	head, label := textStyle(11, true, color.Black), textStyle(10, false, color.Black)
	head.YAlign, label.YAlign = draw.YCenter, draw.YCenter
	y := c.Max.Y - 0.35*vg.Inch
	c.FillText(head, vg.Point{X: c.Min.X, Y: y}, "outcome")
	for _, o := range experiment.Outcomes {
		y -= 0.3 * vg.Inch
		sw := vg.Rectangle{Min: vg.Point{X: c.Min.X, Y: y - 7}, Max: vg.Point{X: c.Min.X + 24, Y: y + 7}}
		paintCell(c, sw, styleOf(o.Outcome))
		c.StrokeLines(draw.LineStyle{Color: hatchInk, Width: vg.Points(0.5)},
			[]vg.Point{sw.Min, {X: sw.Max.X, Y: sw.Min.Y}, sw.Max, {X: sw.Min.X, Y: sw.Max.Y}, sw.Min})
		c.FillText(label, vg.Point{X: sw.Max.X + 8, Y: y}, experiment.OutcomeName(o.Outcome))
	}
}

// valueTicks labels a sweep's axis with its values, as its file spells
// them, at their indices.
func valueTicks(values []string) plot.ConstantTicks {
	ticks := make(plot.ConstantTicks, len(values))
	for i, v := range values {
		ticks[i] = plot.Tick{Value: float64(i), Label: v}
	}
	return ticks
}
