package report

import (
	"fmt"
	"image/color"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/series"
)

// markedOutcome is an hour's run with two events at 10 minutes, one at 30,
// and an alert that fires at 10 and 20 minutes and resolves at 40.
func markedOutcome() *outcome.Outcome {
	m := time.Minute
	o := &outcome.Outcome{
		Summary: &pipeline.Summary{Model: time.Hour, Config: config.Default()},
		Marks: []series.Mark{
			{T: 10 * m, Name: "rotate_cleanup_password", Note: "rotated"},
			{T: 10 * m, Name: "set_stall_chance", Note: "stalls"},
			{T: 30 * m, Name: "restart_janitor", Note: "restarted"},
		},
		Analysis: analysis.Result{Alerts: []analysis.AlertEvent{
			{T: 10 * m, Name: analysis.AlertVMCount, Firing: true},
			{T: 20 * m, Name: analysis.AlertRequeueRate, Firing: true},
			{T: 40 * m, Name: analysis.AlertRequeueRate},
		}},
	}
	for i := range 360 {
		t := time.Duration(i+1) * 10 * time.Second
		o.Rows = append(o.Rows, series.Row{Sample: series.Sample{T: t, Capacity: 200, InUse: int64(min(i, 200)), VMs: int64(i), Backlog: int64(i / 2)}})
	}
	return o
}

// TestMarksAtOneTimeShareANumber: the events at one model time are one
// mark on the charts, with one number, which the page's timeline gives the
// first of them; an alert that fires is a mark of its own, named; one that
// resolves is on the timeline only.
func TestMarksAtOneTimeShareANumber(t *testing.T) {
	o := markedOutcome()
	m := time.Minute
	assert.Equal(t, []chartMark{
		{t: 10 * m, label: "1"},
		{t: 10 * m, label: "alert: " + analysis.AlertVMCount, alert: true},
		{t: 20 * m, label: "alert: " + analysis.AlertRequeueRate, alert: true},
		{t: 30 * m, label: "2"},
	}, chartMarks(o))
	assert.Equal(t, []markRow{
		{Num: "1", At: "T+00:10:00", Name: "rotate_cleanup_password", Note: "rotated"},
		{Num: "", At: "T+00:10:00", Name: "set_stall_chance", Note: "stalls"},
		{At: "T+00:10:00", Name: "alert_firing", Note: "monitoring's alert " + analysis.AlertVMCount + " fires"},
		{At: "T+00:20:00", Name: "alert_firing", Note: "monitoring's alert " + analysis.AlertRequeueRate + " fires"},
		{Num: "2", At: "T+00:30:00", Name: "restart_janitor", Note: "restarted"},
		{At: "T+00:40:00", Name: "alert_resolved", Note: "monitoring's alert " + analysis.AlertRequeueRate + " resolves"},
	}, timelineRows(o))
}

// hex is how the SVG spells a colour.
func hex(c color.RGBA) string { return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B) }

// texts are the SVG's texts filled in colour c.
func texts(svg string, c color.RGBA) []string {
	re := regexp.MustCompile(`fill:` + hex(c) + `"?>([^<]*)</text>`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(svg, -1) {
		out = append(out, m[1])
	}
	return out
}

// TestEveryPanelShowsTheMarks: each panel draws the marks' labels, as
// chartMarks numbers and names them, in the marks' and the alerts' colours,
// and keys them.
func TestEveryPanelShowsTheMarks(t *testing.T) {
	c := buildCharts(markedOutcome())
	for _, ch := range []*chart{c.vms, c.backlog, c.rates} {
		t.Run(ch.title, func(t *testing.T) {
			svg, err := renderSVG(pageChartW, pageChartH, "", ch)
			require.NoError(t, err)
			assert.ElementsMatch(t, []string{"1", "2"}, texts(string(svg), colMark), "one number a group of events")
			assert.ElementsMatch(t, []string{"alert: " + analysis.AlertVMCount, "alert: " + analysis.AlertRequeueRate},
				texts(string(svg), colAlert), "one label an alert that fired")
			var keys []string
			for _, k := range ch.keys {
				keys = append(keys, k.name)
			}
			assert.Subset(t, keys, []string{"fault or operator's action", "alert fires"})
		})
	}

	// A run without events or alerts has neither, nor their keys.
	quiet := markedOutcome()
	quiet.Marks, quiet.Analysis.Alerts = nil, nil
	for _, ch := range []*chart{buildCharts(quiet).vms} {
		svg, err := renderSVG(pageChartW, pageChartH, "", ch)
		require.NoError(t, err)
		assert.Empty(t, texts(string(svg), colMark))
		assert.Empty(t, texts(string(svg), colAlert))
		assert.NotContains(t, string(svg), "fault or operator")
	}
}

// TestVMChartDrawsTheGauge: the VM chart has the gauge's line, keyed
// "holding capacity (the gauge)", through a point for every row.
func TestVMChartDrawsTheGauge(t *testing.T) {
	o := markedOutcome()
	ch := buildCharts(o).vms
	var keys []string
	for _, k := range ch.keys {
		keys = append(keys, k.name)
	}
	assert.Equal(t, []string{"true count", "reported to monitoring", "holding capacity (the gauge)", "capacity",
		"fault or operator's action", "alert fires"}, keys)
	svg, err := renderSVG(pageChartW, pageChartH, "", ch)
	require.NoError(t, err)
	paths := regexp.MustCompile(`<path d="([^"]*)" style="fill:none;stroke:`+hex(colInUse)+`;`).FindAllStringSubmatch(string(svg), -1)
	points := 0
	for _, p := range paths {
		points = max(points, strings.Count(p[1], "L")+1)
	}
	assert.Equal(t, len(o.Rows), points, "the gauge's line has a point for every row (the key's swatch has two)")
}
