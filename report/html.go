package report

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgsvg"

	"vmstorm/config"
	"vmstorm/internal/format"
	"vmstorm/outcome"
	"vmstorm/series"
)

// The HTML page's charts, each a full-width panel.
const (
	pageChartW = 10 * vg.Inch
	pageChartH = 3.9 * vg.Inch
)

// DataID is the id of the page's <script type="application/json"> element
// that holds the charts' numbers.
const DataID = "vmstorm-data"

// pageData is the JSON embedded in the page, as WriteHTML documents it.
type pageData struct {
	Title   string           `json:"title"`
	Epoch   string           `json:"epoch,omitempty"` // RFC 3339, UTC: the calendar time of model time zero
	ModelS  float64          `json:"model_s"`         // model seconds the run lasted
	Columns []string         `json:"columns"`         // the order of Series' arrays
	Series  map[string][]any `json:"series"`
	Rates   pageRates        `json:"rates"`
	Marks   []pageMark       `json:"marks"`
	Checks  []pageCheck      `json:"checks,omitempty"`
}

type pageRates struct {
	ModelS      []float64 `json:"model_s"`
	Requeues    []float64 `json:"requeues_per_min"`
	Completions []float64 `json:"completions_per_min"`
	Arrivals    []float64 `json:"arrivals_per_min"`
}

type pageCheck struct {
	Name        string   `json:"name"`
	Causes      []string `json:"causes,omitempty"`
	Calibration bool     `json:"calibration,omitempty"`
	Model       string   `json:"model"`
	Want        string   `json:"want"`
	OK          bool     `json:"ok"`
}

type pageMark struct {
	ModelS float64 `json:"model_s"`
	Name   string  `json:"name"`
	Note   string  `json:"note"`
}

func newPageData(o *outcome.Outcome, title string) pageData {
	cfg := o.Summary.Config
	d := pageData{
		Title: title, ModelS: o.Summary.Model.Seconds(), Columns: series.Header(),
		Series: make(map[string][]any, len(series.Columns())), Marks: []pageMark{},
	}
	if !cfg.Epoch.IsZero() {
		d.Epoch = cfg.Epoch.UTC().Format(time.RFC3339Nano)
	}
	for _, c := range series.Columns() {
		if _, ok := c.Value(series.Row{}); !ok {
			continue // written from elsewhere than a row: see Marks and Epoch
		}
		vals := make([]any, len(o.Rows))
		for i, r := range o.Rows {
			vals[i], _ = c.Value(r)
		}
		d.Series[c.Name] = vals
	}
	rs := chartRates(o.Rows, cfg.Window, newTimeAxis(o).end)
	d.Rates = pageRates{
		ModelS: make([]float64, len(rs)), Requeues: make([]float64, len(rs)),
		Completions: make([]float64, len(rs)), Arrivals: make([]float64, len(rs)),
	}
	for i, r := range rs {
		d.Rates.ModelS[i], d.Rates.Requeues[i] = r.T.Seconds(), r.Rates.Requeues
		d.Rates.Completions[i], d.Rates.Arrivals[i] = r.Rates.Completions, r.Rates.Arrivals
	}
	for _, m := range o.Marks {
		d.Marks = append(d.Marks, pageMark{ModelS: m.T.Seconds(), Name: m.Name, Note: m.Note})
	}
	for _, c := range o.Analysis.Checks {
		d.Checks = append(d.Checks, pageCheck{Name: c.Check.Name, Causes: c.Check.Causes, Calibration: c.Check.Calibration, Model: c.Model, Want: c.Want, OK: c.OK})
	}
	return d
}

type page struct {
	Title   string
	Facts   []string
	Summary string
	Charts  []figure
	Marks   []markRow
	Params  [2][]param // in two columns: the list is long and each row is short
	Data    template.JS
	Phases  []phaseRow
	// Checks and Calibrations are the faithfulness section, if the run
	// had checks.
	Checks, Calibrations []checkRow
	// Assumptions are the model's assumptions in the run, with their
	// evidence (config.Assumptions).
	Assumptions []assumptionRow
}

// assumptionRow is one of the model's assumptions as the page shows it.
type assumptionRow struct {
	Key, Value, Default, Evidence, Otherwise, Decides string
}

// checkRow is one check as the faithfulness section shows it.
type checkRow struct {
	Name, Causes, Model, Want string
	OK                        bool
}

type figure struct {
	ID, Caption string
	SVG         template.HTML
}

// markRow is one line of the page's timeline: a group of events at one
// model time, numbered as on the charts, or an alert firing or resolving.
type markRow struct{ Num, At, Name, Note string }

type param struct{ Name, Value string }

// WriteHTML writes one self-contained HTML page about the run s: its
// headline figures; charts over model time of the true and reported VM
// counts against capacity, of the backlog, and of the requeue, completion
// and arrival rates, with the timeline's marks on each; the timeline
// itself; the phases; the faithfulness checks, if the run had any (see
// outcome.Options.Checks); the summary table; and the run's parameters.
//
// The page needs nothing but itself: its style and its charts (SVG) are
// inline and it loads nothing. The charts' numbers are in it as JSON, in
// <script type="application/json" id="vmstorm-data">:
//
//	{"title": "...", "epoch": "2015-08-04T17:03:00Z", "model_s": 3600,
//	 "columns": ["model_s", "vms_true", ...],
//	 "series": {"model_s": [10, 20, ...], "vms_true": [...], ...},
//	 "rates": {"model_s": [...], "requeues_per_min": [...],
//	           "completions_per_min": [...], "arrivals_per_min": [...]},
//	 "marks": [{"model_s": 600, "name": "...", "note": "..."}],
//	 "checks": [{"name": "...", "causes": ["janitor_broken"], "calibration": false,
//	             "model": "...", "want": "...", "ok": true}]}
//
// series has one array per CSV column that a row holds (see
// series.Columns; marks and model_time are in marks and epoch instead),
// one element per row kept; epoch is there only if the run has one. The
// rates are per model minute, each over the run's window (-window) before
// its point. checks, and the page's faithfulness section, are there only
// if the run had checks.
func WriteHTML(w io.Writer, o *outcome.Outcome, title string) error {
	s := o.Summary
	var summary bytes.Buffer
	if err := WriteSummary(&summary, o); err != nil {
		return fmt.Errorf("report: formatting the summary: %w", err)
	}
	data, err := json.Marshal(newPageData(o, title))
	if err != nil {
		return fmt.Errorf("report: encoding the chart data: %w", err)
	}
	p := page{
		Title: title, Facts: facts(o), Summary: summary.String(), Phases: phaseRows(o.Summary.Config.Epoch, o.Analysis.Phases),
		// json.Marshal escapes <, > and &, so the data cannot close its
		// <script> element.
		Data: template.JS(data),
	}
	c := buildCharts(o)
	for _, f := range []struct {
		id, caption string
		ch          *chart
	}{
		{"chart-vms", "The true count is every VM on the cluster; the reported count is the janitor's last report to monitoring, " +
			"which stops changing when the janitor cannot log in. The gauge is the VMs holding capacity: a VM holds it from power-on until it is destroyed, " +
			"and the cluster can hold its capacity of them. Numbered lines are the timeline's events (listed below); dotted red lines, alerts firing.", c.vms},
		{"chart-backlog", "Jobs waiting for a VM, counting the jobs in the channels around the queue.", c.backlog},
		{"chart-rates", fmt.Sprintf("Each point is the change in the run's totals over the window before it. "+
			"A requeue storm is requeues outrunning arrivals (configured: %g a minute at the peak).", s.Config.ArrivalsPerMinute), c.rates},
	} {
		svg, err := renderSVG(pageChartW, pageChartH, f.ch.title, f.ch)
		if err != nil {
			return err
		}
		// The SVG is this package's own output, and vgsvg escapes the text
		// in it (titles, mark names).
		p.Charts = append(p.Charts, figure{ID: f.id, Caption: f.caption, SVG: template.HTML(svg)})
	}
	if za, ok := zoomAxis(o); ok {
		z := buildChartsOn(o, za)
		svg, err := renderSVG(pageChartW, 2*pageChartH, "The incident's window: VMs and rates", z.vms, z.rates)
		if err != nil {
			return err
		}
		whole := newTimeAxis(o)
		p.Charts = append(p.Charts, figure{ID: "chart-zoom", SVG: template.HTML(svg), Caption: fmt.Sprintf(
			"The incident's window, %s to %s: the VMs and the rates of the charts above over %s of the run's %s, "+
				"where its events and alerts crowd together on them; the marks keep their numbers.",
			format.ModelTime(s.Config.Epoch, za.start), format.ModelTime(s.Config.Epoch, za.end),
			format.Duration(za.end-za.start), format.Duration(whole.end))})
	}
	p.Marks = timelineRows(o)
	for _, c := range o.Analysis.Checks {
		row := checkRow{Name: c.Check.Name, Causes: strings.Join(c.Check.Causes, ", "), Model: c.Model, Want: c.Want, OK: c.OK}
		if c.Check.Calibration {
			p.Calibrations = append(p.Calibrations, row)
		} else {
			p.Checks = append(p.Checks, row)
		}
	}
	p.Assumptions = assumptionRows(s.Config)
	params := configParams(s.Config)
	half := (len(params) + 1) / 2
	p.Params = [2][]param{params[:half], params[half:]}
	if err := pageTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("report: writing the page: %w", err)
	}
	return nil
}

// timelineRows are the page's timeline: the events in their numbered
// groups, as on the charts, and the alerts firing and resolving, in order.
func timelineRows(o *outcome.Outcome) []markRow {
	type row struct {
		t time.Duration
		markRow
	}
	epoch := o.Summary.Config.Epoch
	var rows []row
	for i, g := range markGroups(o.Marks) {
		for j, m := range g {
			num := ""
			if j == 0 {
				num = strconv.Itoa(i + 1)
			}
			rows = append(rows, row{m.T, markRow{Num: num, At: format.ModelTime(epoch, m.T), Name: m.Name, Note: m.Note}})
		}
	}
	for _, e := range o.Analysis.Alerts {
		name, note := "alert_resolved", "monitoring's alert "+e.Name+" resolves"
		if e.Firing {
			name, note = "alert_firing", "monitoring's alert "+e.Name+" fires"
		}
		rows = append(rows, row{e.T, markRow{At: format.ModelTime(epoch, e.T), Name: name, Note: note}})
	}
	slices.SortStableFunc(rows, func(a, b row) int { return cmp.Compare(a.t, b.t) })
	out := make([]markRow, len(rows))
	for i, r := range rows {
		out[i] = r.markRow
	}
	return out
}

// renderSVG draws panels, one above the other, as SVG: a document of its
// own, or, given a label, an element to inline in a page.
func renderSVG(w, h vg.Length, inlineLabel string, panels ...*chart) ([]byte, error) {
	canvas := vgsvg.New(w, h)
	drawPanels(draw.New(canvas), panels...)
	var buf bytes.Buffer
	if _, err := canvas.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("report: rendering a chart: %w", err)
	}
	return fixSVG(buf.Bytes(), inlineLabel), nil
}

// facts is the page's headline: how the run ended and what it did.
func facts(o *outcome.Outcome) []string {
	s, an := o.Summary, o.Analysis
	mt := func(t time.Duration) string { return format.ModelTime(s.Config.Epoch, t) }
	f := []string{
		s.Ended,
		"model time " + format.Duration(s.Model),
		fmt.Sprintf("seed %d", s.Config.Seed),
		fmt.Sprintf("capacity %d VMs", s.Config.VMs),
	}
	switch in := an.Incident; {
	case in.Faulted:
		f = append(f, "first fault at "+mt(in.FaultAt))
		if in.Detected {
			f = append(f, "detected at "+mt(in.DetectedAt)+" ("+in.DetectedBy+")")
		}
	default:
		f = append(f, "no fault")
	}
	if s.Filled {
		f = append(f, "cluster full at "+mt(s.FilledAt))
	}
	if an.Storm.Happened {
		f = append(f, fmt.Sprintf("requeue storm from %s, %d requeues", mt(an.Storm.Start), s.Jobs.Requeues))
	} else {
		f = append(f, "no requeue storm")
	}
	return f
}

// assumptionRows are the model's assumptions, with the run's values.
func assumptionRows(c config.Config) []assumptionRow {
	def := config.Default()
	var rows []assumptionRow
	for _, a := range config.Assumptions {
		p, _ := config.Lookup(a.Flag)
		rows = append(rows, assumptionRow{Key: p.Key, Value: p.Get(&c), Default: p.Get(&def),
			Evidence: a.Evidence, Otherwise: a.Otherwise, Decides: a.Decides})
	}
	return rows
}

// configParams lists the run's parameters: every one of config.Params,
// by its flag, then the queues, the traffic curve and the timeline.
// -break-cleanup and -break-at say whether and when the janitor's password
// is rotated by the flag; a scenario rotates it in its timeline, and the
// rows say so rather than "false".
func configParams(c config.Config) []param {
	var rotations []string
	for _, ev := range c.Timeline {
		if ev.Action == "rotate_cleanup_password" {
			at := format.ModelTime(c.Epoch, ev.At)
			if ev.AfterDetection {
				at = "detection + " + format.Duration(ev.At)
			}
			rotations = append(rotations, at)
		}
	}
	var out []param
	for _, p := range config.Params {
		v := p.Get(&c)
		switch {
		case p.Flag == "break-cleanup" && !c.BreakCleanup && len(rotations) > 0:
			v = "not given: the timeline rotates the password (rotate_cleanup_password at " + strings.Join(rotations, ", ") + ")"
		case p.Flag == "break-at" && !c.BreakCleanup:
			v = "not used: -break-cleanup is not given"
		case v == "":
			v = "none"
		}
		out = append(out, param{Name: p.Flag, Value: v})
	}
	var queues []string
	for _, q := range c.Queues {
		limit := "no limit"
		if q.MaxBuilds > 0 {
			limit = fmt.Sprintf("at most %d builds", q.MaxBuilds)
		}
		queues = append(queues, fmt.Sprintf("%s (share %g, %s)", q.Name, q.Share, limit))
	}
	out = append(out, param{Name: "queues", Value: strings.Join(queues, "; ")})
	traffic := "constant"
	if tr := c.Traffic; tr != nil {
		traffic = fmt.Sprintf("peak at %g h UTC, night %g, weekend %g, %d bursts", tr.PeakHour, tr.Night, tr.Weekend, len(tr.Bursts))
	}
	out = append(out, param{Name: "traffic", Value: traffic})
	out = append(out, param{Name: "timeline", Value: fmt.Sprintf("%d events", len(c.FullTimeline()))})
	return out
}

// pageHead opens both reports' pages: the document's head and the style
// they share; each page's template goes on with its own style rules.
const pageHead = `{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>
:root { color-scheme: light; }
body { margin: 0; background: #eef0f3; color: #1d1f23;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif; }
main { max-width: 1040px; margin: 0 auto; padding: 28px 32px 48px; background: #fff; }
h1 { font-size: 26px; margin: 0 0 6px; }
h2 { font-size: 18px; margin: 36px 0 10px; padding-bottom: 4px; border-bottom: 1px solid #dde0e4; }
.facts { margin: 0; padding: 0; list-style: none; color: #444; }
.facts li { display: inline-block; white-space: nowrap; }
.facts li:not(:last-child)::after { content: "·"; margin: 0 .5em; color: #999; }
figure svg { display: block; width: 100%; height: auto; }
figcaption { font-size: 13px; color: #555; margin: 2px 0 0; }
/* The summary's longest lines are wider than the page: they wrap rather
   than hide behind a scroll bar, which print and screenshots lose. */
pre { font: 12.5px/1.4 ui-monospace, "Liberation Mono", Menlo, Consolas, monospace; white-space: pre-wrap;
  background: #f5f6f8; border: 1px solid #e3e6ea; border-radius: 4px; padding: 12px 14px; }
th { font-weight: 600; color: #444; }
.none { color: #666; }
{{end}}`

// newPage parses a page's template, which starts with {{template "head" .}}.
func newPage(name, text string) *template.Template {
	return template.Must(template.Must(template.New(name).Parse(pageHead)).Parse(text))
}

var pageTemplate = newPage("page", `{{template "head" .}}figure { margin: 0 0 28px; }
table { border-collapse: collapse; font-size: 14px; }
th, td { text-align: left; vertical-align: top; padding: 4px 14px 4px 0; border-bottom: 1px solid #eceef1; }
td.at { white-space: nowrap; font-variant-numeric: tabular-nums; }
td.value { max-width: 26em; overflow-wrap: anywhere; font-variant-numeric: tabular-nums; }
td.name { font-family: ui-monospace, "Liberation Mono", Menlo, Consolas, monospace; font-size: 13px; }
.params { display: flex; flex-wrap: wrap; gap: 0 40px; }
td.held { color: #1a7f37; font-weight: 600; white-space: nowrap; }
td.failed { color: #c0262d; font-weight: 600; white-space: nowrap; }
</style>
</head>
<body>
<main>
<h1>{{.Title}}</h1>
<ul class="facts">{{range .Facts}}<li>{{.}}</li>{{end}}</ul>

<h2 id="charts">Over model time</h2>
{{range .Charts}}<figure id="{{.ID}}">
{{.SVG}}
<figcaption>{{.Caption}}</figcaption>
</figure>
{{end}}
<h2 id="timeline">Timeline</h2>
{{if .Marks}}<table>
<tr><th>#</th><th>at</th><th>event</th><th>what it is</th></tr>
{{range .Marks}}<tr><td>{{.Num}}</td><td class="at">{{.At}}</td><td class="name">{{.Name}}</td><td>{{.Note}}</td></tr>
{{end}}</table>{{else}}<p class="none">No faults or operators' actions in this run.</p>{{end}}
{{if .Phases}}<h2 id="phases">Phases</h2>
<table class="phases">
<tr><th>phase</th><th>start</th><th>length</th><th>completed</th><th>requeues</th><th>peak VMs true / reported</th><th>peak backlog</th><th>worst wait</th></tr>
{{range .Phases}}<tr><td class="name">{{.Name}}</td><td class="at">{{.Start}}</td><td>{{.Length}}</td><td>{{.Completed}}</td><td>{{.Requeues}}</td><td>{{.PeakVMs}} / {{.PeakReported}}</td><td>{{.PeakBacklog}}</td><td>{{.WorstWait}}</td></tr>
{{end}}</table>{{end}}
{{if or .Checks .Calibrations}}<h2 id="faithfulness">Faithfulness</h2>
{{if .Checks}}<p>Each check states what the model does in the terms of the incident's report, and names its causes:
the mechanisms without any one of which it fails.</p>
<table class="checks">
<tr><th>held</th><th>check</th><th>causes</th><th>the model</th><th>the report says</th></tr>
{{range .Checks}}<tr>{{if .OK}}<td class="held">held</td>{{else}}<td class="failed">failed</td>{{end}}<td>{{.Name}}</td><td class="name">{{.Causes}}</td><td>{{.Model}}</td><td>{{.Want}}</td></tr>
{{end}}</table>{{end}}
{{if .Calibrations}}<h3 id="calibrations">Calibrations</h3>
<p>Figures the scenario's inputs were chosen to match: no cause can be taken out to make them fail, so they test the calibration, not the incident's mechanisms.</p>
<table class="calibrations">
<tr><th>held</th><th>calibration</th><th>the model</th><th>the report says</th></tr>
{{range .Calibrations}}<tr>{{if .OK}}<td class="held">held</td>{{else}}<td class="failed">failed</td>{{end}}<td>{{.Name}}</td><td>{{.Model}}</td><td>{{.Want}}</td></tr>
{{end}}</table>{{end}}{{end}}
<h2 id="assumptions">Assumptions</h2>
<p>The model's choices that decide whether a storm sustains itself, and that neither the incident's report nor the services' code settles (docs/scenarios.md, ASSUMPTIONS).</p>
<table class="assumptions">
<tr><th>assumption</th><th>in this run</th><th>default</th><th>the default, because</th><th>otherwise</th><th>it decides</th></tr>
{{range .Assumptions}}<tr><td class="name">{{.Key}}</td><td>{{.Value}}</td><td>{{.Default}}</td><td>{{.Evidence}}</td><td>{{.Otherwise}}</td><td>{{.Decides}}</td></tr>
{{end}}</table>
<h2 id="summary">Summary</h2>
<pre>{{.Summary}}</pre>
<h2 id="parameters">Parameters</h2>
<div class="params">{{range .Params}}
<table>{{range .}}<tr><td>{{.Name}}</td><td class="value">{{.Value}}</td></tr>{{end}}</table>{{end}}
</div>
</main>
<script type="application/json" id="`+DataID+`">{{.Data}}</script>
</body>
</html>
`)
