package report

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"vmstorm/experiment"
	"vmstorm/internal/format"
)

// shareGrid is a sweep's grid of metastability verdicts as gonum's heat map
// reads it: column x and row y at their indices, each the share that
// recovered by itself, NaN where no replica's trigger was removed.
type shareGrid [][]experiment.RecoveryCell

func (g shareGrid) Dims() (c, r int) { return len(g), len(g[0]) }
func (g shareGrid) X(c int) float64  { return float64(c) }
func (g shareGrid) Y(r int) float64  { return float64(r) }
func (g shareGrid) Z(c, r int) float64 {
	if s := g[c][r].Share; s != nil {
		return s.Estimate
	}
	return math.NaN()
}

// The heat map's colour scale runs from 0 to 1 in shareSteps+1 colours:
// red where no replica recovers by itself, blue where all do.
const shareSteps = 100

var colNoRemoval = color.RGBA{R: 0xd9, G: 0xd9, B: 0xd9, A: 0xff}

// shareColors is the heat map's scale, from share 0 to share 1.
func shareColors() palette.Palette {
	cm := palette.Reverse(moreland.SmoothBlueRed())
	cm.SetMax(1)
	cm.SetMin(0)
	return cm.Palette(shareSteps + 1)
}

// scaleGrid is the colour scale as a grid of one column: each of the
// scale's colours at its share.
type scaleGrid struct{}

func (scaleGrid) Dims() (c, r int)   { return 1, shareSteps + 1 }
func (scaleGrid) X(int) float64      { return 0 }
func (scaleGrid) Y(r int) float64    { return float64(r) / shareSteps }
func (scaleGrid) Z(_, r int) float64 { return float64(r) / shareSteps }

// shareLabels prints in each cell of the heat map its share, and, where
// the cell is wide enough, its interval and of how many replicas.
type shareLabels struct {
	grid   shareGrid
	colors []color.Color
}

func (l shareLabels) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	big, small := textStyle(13, true, color.Black), textStyle(9, false, color.Black)
	for _, s := range []*text.Style{&big, &small} {
		s.XAlign, s.YAlign = draw.XCenter, draw.YCenter
	}
	nx, ny := l.grid.Dims()
	cellW := trX(1) - trX(0)
	if nx == 1 {
		cellW = c.Max.X - c.Min.X
	}
	for x := range nx {
		for y := range ny {
			cell := l.grid[x][y]
			main, detail := "no removal", "trigger never removed"
			ink := color.Color(color.Black)
			if s := cell.Share; s != nil {
				main = format.Num(s.Estimate)
				detail = fmt.Sprintf("[%s, %s] of %d", format.Num(s.Lo), format.Num(s.Hi), cell.Removed)
				ink = inkOn(l.colors[int(math.Round(s.Estimate*shareSteps))])
			}
			b, sm := big, small
			b.Color, sm.Color = ink, ink
			pt := vg.Point{X: trX(float64(x)), Y: trY(float64(y))}
			if sm.Width(detail) > cellW-6 {
				c.FillText(b, pt, main)
				continue
			}
			c.FillText(b, vg.Point{X: pt.X, Y: pt.Y + 7}, main)
			c.FillText(sm, vg.Point{X: pt.X, Y: pt.Y - 8}, detail)
		}
	}
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

// The heat map: its cells' height, and the colour bar's width at its right.
const (
	heatRowH = 0.8 * vg.Inch
	heatBarW = 1.3 * vg.Inch
)

// renderHeatMap draws the sweep's grid of shares that recover by
// themselves as a heat map, inline SVG: the x values along the bottom, the
// y values up the side, each cell's share printed in it, and the colour
// scale from 0 to 1 at the right.
func renderHeatMap(s *experiment.SweepTable, replicas int) ([]byte, error) {
	grid := shareGrid(s.Cells)
	nx, ny := grid.Dims()
	pal := shareColors()

	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s: the share that recovers by itself at each point, of %d replicas", s.Variant, replicas)
	p.Title.TextStyle = textStyle(12, true, color.Black)
	p.Title.TextStyle.XAlign, p.Title.TextStyle.YAlign = draw.XCenter, draw.YTop
	hm := plotter.NewHeatMap(grid, pal)
	hm.Min, hm.Max, hm.NaN = 0, 1, colNoRemoval
	p.Add(hm, shareLabels{grid: grid, colors: pal.Colors()})
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

	// The colour scale is a heat map too, of one column from 0 to 1: drawn
	// in vectors, where plotter.ColorBar embeds an image.
	bar := plot.New()
	bar.Add(plotter.NewHeatMap(scaleGrid{}, pal))
	bar.HideX()
	bar.X.Min, bar.X.Max = -0.5, 0.5
	bar.Y.Min, bar.Y.Max = 0, 1
	bar.Y.Label.Text = "share that recovers"
	bar.Y.Tick.Marker = countTicks{}
	bar.Y.Label.TextStyle.Font = sansFont(11, false)
	bar.Y.Tick.Label.Font = sansFont(10, false)
	bar.Y.Padding, bar.X.Padding = 0, 0

	w, h := pageChartW, max(2.6*vg.Inch, 1.4*vg.Inch+vg.Length(ny)*heatRowH)
	canvas := vgsvg.New(w, h)
	dc := draw.New(canvas)
	dc.FillPolygon(color.White, []vg.Point{{X: 0, Y: 0}, {X: w, Y: 0}, {X: w, Y: h}, {X: 0, Y: h}})
	pad := draw.Crop(dc, 6, -18, 4, -6)
	heat := draw.Crop(pad, 0, -heatBarW, 0, 0)
	p.Draw(heat)
	// The colour bar spans the heat map's data area, top to bottom.
	data := p.DataCanvas(heat)
	barArea := draw.Crop(pad, pad.Size().X-heatBarW+24, -18, 0, 0)
	inner := bar.DataCanvas(barArea)
	barArea = draw.Crop(barArea, 0, 0, data.Min.Y-barArea.Min.Y-(inner.Min.Y-barArea.Min.Y), data.Max.Y-barArea.Max.Y+(barArea.Max.Y-inner.Max.Y))
	bar.Draw(barArea)

	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("report: rendering the heat map: %w", err)
	}
	return fixSVG(buf.Bytes(), p.Title.Text), nil
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
