package report

import (
	"bytes"
	"fmt"
	"html"
	"image/png"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xfont "golang.org/x/image/font"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/recorder"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/experiment"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/scenario"
	"vmstorm/series"
)

// shaped2015 is a run of the 2015 replay's shape, made by hand (the replay
// itself is a Serial run, which the race detector skips): 150 hours from
// 2015-07-31, the fault at 20 h, six groups of the operators' actions and
// four alerts between the storm at 112.8 h and the recovery at 124.6 h,
// and a last action at 147.7 h.
func shaped2015() *outcome.Outcome {
	h := func(x float64) time.Duration { return time.Duration(x * float64(time.Hour)) }
	cfg := config.Default()
	cfg.Epoch = time.Date(2015, 7, 31, 0, 0, 0, 0, time.UTC)
	cfg.Window = 15 * time.Minute
	o := &outcome.Outcome{Summary: &pipeline.Summary{Model: h(150), Config: cfg}}
	for _, m := range []struct {
		at   float64
		name string
	}{
		{20, "rotate_cleanup_password"},
		{114.77, "pause_builds"}, {114.77, "fix_cleanup_credentials"}, {114.77, "restart_janitor"},
		{117, "resume_builds"}, {118.17, "pause_builds"}, {118.17, "aggressive_cleanup"},
		{118.93, "normal_cleanup"}, {118.93, "resume_builds"}, {119.47, "pause_builds"},
		{120.22, "set_max_builds"}, {120.22, "resume_builds"},
		{147.72, "set_cpu_capacity"}, {147.72, "set_max_builds"},
	} {
		o.Marks = append(o.Marks, series.Mark{T: h(m.at), Name: m.name})
	}
	o.Analysis = analysis.Result{
		Storm:    analysis.StormStats{Happened: true, Start: h(112.8), PeakRate: 17.8},
		Incident: analysis.IncidentStats{FaultAt: h(20), Faulted: true, DetectedAt: h(113.38), Detected: true, DetectedBy: analysis.AlertBacklogAge, MitigatedAt: h(114.77), Mitigated: true, RecoveredAt: h(124.62), Recovered: true},
		Alerts: []analysis.AlertEvent{
			{T: h(113.38), Name: analysis.AlertBacklogAge, Firing: true}, {T: h(114.8), Name: analysis.AlertVMCount, Firing: true},
			{T: h(119.1), Name: analysis.AlertVMCount}, {T: h(119.3), Name: analysis.AlertVMCount, Firing: true},
			{T: h(125), Name: analysis.AlertBacklogAge}, {T: h(130.75), Name: analysis.AlertVMCount, Firing: true},
		},
		Phases: []analysis.PhaseStats{
			{Name: analysis.PhaseHealthy}, {Name: analysis.PhaseSilentLeak, Start: h(20.05)}, {Name: analysis.PhaseStorm, Start: h(112.83)},
			{Name: analysis.PhasePaused, Start: h(114.8)}, {Name: analysis.PhaseCatchUp, Start: h(117.05)},
			{Name: analysis.PhaseReducedRate, Start: h(120.25)}, {Name: analysis.PhaseRecovered, Start: h(124.62)},
		},
	}
	for i := range 1800 {
		t := time.Duration(i+1) * 5 * time.Minute
		x := t.Hours()
		vms := int64(200 + 50*x)
		if x > 118.5 {
			vms = 500
		}
		o.Rows = append(o.Rows, series.Row{Sample: series.Sample{T: t, Capacity: 6000, InUse: min(vms, 6000), VMs: vms, ReportedVMs: 178,
			Backlog: int64(max(0, 800-100*math.Abs(x-117))), Arrived: int64(3 * x * 60), Completed: int64(3 * x * 60)}})
	}
	return o
}

// texts are the strings drawn on a recorder, each with its left and right
// ends.
type drawn struct {
	s           string
	left, right vg.Length
}

func recorded(rec *recorder.Canvas) []drawn {
	var out []drawn
	for _, a := range rec.Actions {
		fs, ok := a.(*recorder.FillString)
		if !ok {
			continue
		}
		sty := textStyle(fs.Font.Size, fs.Font.Weight == xfont.WeightBold, colMark)
		out = append(out, drawn{fs.String, fs.Point.X, fs.Point.X + sty.Width(fs.String)})
	}
	return out
}

// TestLegendsAndTitlesFitTheirPanels: every text of the page's charts and
// of the exported chart (titles, legends' keys, marks' labels, the key) is
// inside the picture, and every key of each legend is drawn. The legend of
// the VMs panel was one row that ran off the right edge ("fault or
// operator's action" cut to "faul").
func TestLegendsAndTitlesFitTheirPanels(t *testing.T) {
	o := shaped2015()
	c := buildCharts(o)
	za, ok := zoomAxis(o)
	require.True(t, ok)
	z := buildChartsOn(o, za)
	for _, tt := range []struct {
		name   string
		w, h   vg.Length
		panels []*chart
	}{
		{"the page's VMs", pageChartW, pageChartH, []*chart{c.vms}},
		{"the page's rates", pageChartW, pageChartH, []*chart{c.rates}},
		{"the page's zoom", pageChartW, 2 * pageChartH, []*chart{z.vms, z.rates}},
		{"the exported chart", chartW, chartH + chartZoomH, []*chart{c.vms, c.backlog, c.rates, z.vms}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder.Canvas{}
			drawPanels(draw.NewCanvas(rec, tt.w, tt.h), tt.panels...)
			texts := recorded(rec)
			seen, rotated := map[string]bool{}, map[string]bool{}
			for _, p := range tt.panels {
				rotated[p.plot.Y.Label.Text] = true // drawn turned a quarter, at coordinates of its own
			}
			for _, d := range texts {
				seen[d.s] = true
				if rotated[d.s] {
					continue
				}
				assert.GreaterOrEqual(t, float64(d.left), -0.5, "%q starts left of the picture", d.s)
				assert.LessOrEqual(t, float64(d.right), float64(tt.w)+0.5, "%q runs off the right edge (%.0f of %.0f pt)", d.s, float64(d.right), float64(tt.w))
			}
			for _, p := range tt.panels {
				assert.True(t, seen[p.title], "the title %q whole", p.title)
				for _, k := range p.keys {
					assert.True(t, seen[k.name], "the key %q", k.name)
				}
			}
		})
	}
}

// TestZoomSpreadsTheIncidentsMarks: the incident's window runs from before
// the storm to after the recovery, holds the operators' six groups of
// actions and the alerts that fire in it, and not the fault four days
// before nor the last action a day after; on it, the closest two marks are
// many times further apart than on the whole run's axis, where six marks
// and three alerts' labels share 12 of 150 hours.
func TestZoomSpreadsTheIncidentsMarks(t *testing.T) {
	o := shaped2015()
	whole := newTimeAxis(o)
	za, ok := zoomAxis(o)
	require.True(t, ok)
	in := o.Analysis.Incident
	assert.Less(t, za.start, o.Analysis.Storm.Start)
	assert.Greater(t, za.end, in.RecoveredAt)
	assert.LessOrEqual(t, za.end-za.start, whole.end/3)
	var inside []string
	for _, m := range chartMarks(o) {
		if m.t >= za.start && m.t <= za.end {
			inside = append(inside, m.label)
		}
	}
	assert.Equal(t, []string{"alert: " + analysis.AlertBacklogAge, "2", "alert: " + analysis.AlertVMCount, "3", "4", "5", "alert: " + analysis.AlertVMCount, "6", "7"}, inside)

	gap := func(a timeAxis) float64 {
		// The closest two numbered marks in the window, as a share of
		// the axis's width.
		var xs []float64
		for _, m := range chartMarks(o) {
			if !m.alert && m.t >= za.start && m.t <= za.end {
				xs = append(xs, (m.x(a)-a.x(a.start))/(a.x(a.end)-a.x(a.start)))
			}
		}
		g := math.Inf(1)
		for i := 1; i < len(xs); i++ {
			g = min(g, xs[i]-xs[i-1])
		}
		return g
	}
	assert.Greater(t, gap(za), 8*gap(whole), "the zoom spreads the marks")

	t.Run("on the page", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, WriteHTML(&buf, o, "shaped"))
		page := buf.String()
		_, zoom, found := strings.Cut(page, `<figure id="chart-zoom">`)
		require.True(t, found, "a figure of the incident's window")
		zoom, _, _ = strings.Cut(zoom, "</figure>")
		assert.Contains(t, zoom, "The incident&#39;s window, 2015-08-04 ")
		for _, label := range []string{">2<", ">7<", ">alert: " + analysis.AlertBacklogAge + "<"} {
			assert.Contains(t, html.UnescapeString(zoom), label)
		}
		assert.NotContains(t, zoom, ">8<", "the last action is a day after the window")
	})

	t.Run("no window", func(t *testing.T) {
		calm := shaped2015()
		calm.Analysis.Storm, calm.Analysis.Incident = analysis.StormStats{}, analysis.IncidentStats{}
		calm.Analysis.Phases = calm.Analysis.Phases[:2]
		_, ok := zoomAxis(calm)
		assert.False(t, ok, "a run with no storm, detection or operators' phases has no window")
		long := shaped2015()
		long.Analysis.Incident.RecoveredAt = 150 * time.Hour
		long.Analysis.Phases[2].Start = 30 * time.Hour
		_, ok = zoomAxis(long)
		assert.False(t, ok, "a window over a third of the run is the run's own axis")
	})
}

// x is the mark's place on axis a.
func (m chartMark) x(a timeAxis) float64 { return a.x(m.t) }

// TestExportedChartHasAKey: the chart alone, copied into a document, says
// what its numbered marks are: each group of events, its time and names,
// under the panels, in the SVG and in the PNG; and it has the zoomed panel.
func TestExportedChartHasAKey(t *testing.T) {
	o := shaped2015()
	var svg bytes.Buffer
	require.NoError(t, WriteChart(&svg, o, "svg"))
	text := html.UnescapeString(svg.String())
	for _, line := range []string{
		"1   2015-07-31 20:00:00   rotate_cleanup_password",
		"2   2015-08-04 18:46:12   pause_builds, fix_cleanup_credentials, restart_janitor",
		"8   2015-08-06 03:43:12   set_cpu_capacity, set_max_builds",
	} {
		assert.Contains(t, text, ">"+line+"<", "the key")
	}
	assert.Contains(t, text, ">The incident's window: VMs on the cluster, true, reported and the gauge<")

	var img bytes.Buffer
	require.NoError(t, WriteChart(&img, o, "png"))
	pic, err := png.Decode(&img)
	require.NoError(t, err)
	wantH := int(math.Round(float64(chartH+chartZoomH+keyHeight(markKey(o))) / float64(vg.Inch) * chartDPI))
	assert.InDelta(t, wantH, pic.Bounds().Dy(), 1, "the PNG has room for the zoom and the key")

	// A long timeline's key is cut, and says how many more there are.
	many := shaped2015()
	for i := range 40 {
		many.Marks = append(many.Marks, series.Mark{T: 148*time.Hour + time.Duration(i)*time.Minute, Name: "resume_builds"})
	}
	key := markKey(many)
	require.Len(t, key, maxKeyLines)
	assert.Equal(t, "... and 25 more: the page's timeline (-report FILE.html) lists every event", key[maxKeyLines-1])
}

// TestExperimentAxisShowsEveryVariant: on the experiment page, a variant
// far above the others (the what-if's "never fixed", at 44,000 VMs, beside
// "honest monitoring" at 250) does not flatten them: the y axis turns
// logarithmic, says so on its label and in the caption, and puts every
// variant's peak in the upper part of the axis; variants of one order keep
// a linear axis.
func TestExperimentAxisShowsEveryVariant(t *testing.T) {
	curve := func(peak float64) *expCurves {
		c := &expCurves{Replicas: 4}
		for i := range 100 {
			y := peak * float64(i+1) / 100
			c.ModelS = append(c.ModelS, float64(i)*3600)
			for _, k := range []*expCurve{&c.VMs, &c.Backlog, &c.Requeues} {
				k.Median, k.Lo, k.Hi = append(k.Median, y), append(k.Lo, 0.9*y), append(k.Hi, 1.1*y)
			}
		}
		return c
	}
	base := &scenario.Scenario{Config: config.Default()}
	e := &experiment.Experiment{Base: base, Variants: []experiment.Variant{{Name: "a", Config: base.Config}}}
	for _, tt := range []struct {
		name  string
		peaks []float64
		log   bool
	}{
		{"one far above", []float64{12000, 44000, 8000, 250}, true},
		{"of one order", []float64{12000, 8000, 5000}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var d expData
			for i, p := range tt.peaks {
				d.Variants = append(d.Variants, expVariant{Name: fmt.Sprint(i), Curves: curve(p)})
			}
			figs := experimentCharts(e, d, variantStyles(len(d.Variants)))
			require.Len(t, figs, 3)
			vms := html.UnescapeString(string(figs[0].SVG))
			assert.Equal(t, tt.log, strings.Contains(vms, ">VMs (log scale)<"), "the axis says its scale")
			assert.Equal(t, tt.log, strings.Contains(figs[0].Caption, "The y axis is logarithmic"), "and so does the caption")

			// Where each peak is on the axis, as the chart scales it.
			spread, log := logScaled(tt.peaks)
			assert.Equal(t, tt.log, log)
			if !log {
				return
			}
			assert.Greater(t, spread, float64(logSpread))
			p := plot.New()
			useLogScale(p, slices.Max(tt.peaks)*1.1)
			for _, peak := range tt.peaks {
				assert.Greater(t, p.Y.Norm(peak), 0.45, "a peak of %v is in the axis's upper half", peak)
			}
		})
	}
}
