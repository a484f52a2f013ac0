package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"html"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/format"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/report"
	"vmstorm/series"
)

// pageData is the page's embedded JSON, as a reader would decode it.
type pageData struct {
	Title   string                       `json:"title"`
	Epoch   string                       `json:"epoch"`
	ModelS  float64                      `json:"model_s"`
	Columns []string                     `json:"columns"`
	Series  map[string][]json.RawMessage `json:"series"`
	Rates   struct {
		ModelS      []float64 `json:"model_s"`
		Requeues    []float64 `json:"requeues_per_min"`
		Completions []float64 `json:"completions_per_min"`
		Arrivals    []float64 `json:"arrivals_per_min"`
	} `json:"rates"`
	Marks []struct {
		ModelS float64 `json:"model_s"`
		Name   string  `json:"name"`
		Note   string  `json:"note"`
	} `json:"marks"`
	Checks []struct {
		Name        string   `json:"name"`
		Causes      []string `json:"causes"`
		Calibration bool     `json:"calibration"`
		Model       string   `json:"model"`
		Want        string   `json:"want"`
		OK          bool     `json:"ok"`
	} `json:"checks"`
}

func pageJSON(t *testing.T, page string) pageData {
	t.Helper()
	return embeddedJSON[pageData](t, page, report.DataID)
}

// dataBlock matches a page's <script type="application/json"> with that id.
func dataBlock(id string) *regexp.Regexp {
	return regexp.MustCompile(`(?s)<script type="application/json" id="` + regexp.QuoteMeta(id) + `">(.*?)</script>`)
}

// embeddedJSON decodes the page's one data block, the <script
// type="application/json"> with that id.
func embeddedJSON[T any](t *testing.T, page, id string) T {
	t.Helper()
	m := dataBlock(id).FindAllStringSubmatch(page, -1)
	require.Len(t, m, 1, "one data block")
	var d T
	require.NoError(t, json.Unmarshal([]byte(m[0][1]), &d))
	return d
}

func writeHTML(t *testing.T, o *outcome.Outcome, title string) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, report.WriteHTML(&buf, o, title))
	return buf.String()
}

func TestHTMLDataMatchesTheRun(t *testing.T) {
	rec := &recorder{}
	o := theIncident(t, nil, rec)
	page := writeHTML(t, o, "the 2015 incident")
	d := pageJSON(t, page)

	assert.Equal(t, "the 2015 incident", d.Title)
	assert.Equal(t, o.Summary.Model.Seconds(), d.ModelS)
	assert.Equal(t, series.Header(), d.Columns)
	assert.Empty(t, d.Epoch, "a run without an epoch has none")

	// A model hour at a sample every 10 s is far fewer rows than an
	// outcome keeps: the page has every row the analysis judged.
	rows := rec.rows
	require.Less(t, len(rows), outcome.DefaultKeepRows)
	require.Len(t, o.Rows, len(rows))
	for _, c := range series.Columns() {
		if _, ok := c.Value(series.Row{}); !ok {
			// Written from elsewhere than a row: the marks and the epoch.
			assert.NotContains(t, d.Series, c.Name)
			continue
		}
		require.Len(t, d.Series[c.Name], len(rows), "series %s", c.Name)
	}
	get := func(name string, i int, v any) {
		require.NoError(t, json.Unmarshal(d.Series[name][i], v), "%s[%d]", name, i)
	}
	for i, r := range rows {
		var sec, oldest float64
		var phase, firing string
		var janitorFailing bool
		get("model_s", i, &sec)
		get("oldest_wait_s", i, &oldest)
		get("phase", i, &phase)
		get("alerts_firing", i, &firing)
		get("janitor_failing", i, &janitorFailing)
		require.Equal(t, r.T.Seconds(), sec, "model_s[%d]", i)
		require.Equal(t, r.OldestWait.Seconds(), oldest, "oldest_wait_s[%d]", i)
		require.Equal(t, r.Phase, phase, "phase[%d]", i)
		require.Equal(t, strings.Join(r.Firing, "+"), firing, "alerts_firing[%d]", i)
		require.Equal(t, r.JanitorFailing, janitorFailing, "janitor_failing[%d]", i)
		want := map[string]int64{
			"vms_true": r.VMs, "vms_reported": r.ReportedVMs, "capacity": r.Capacity, "in_use": r.InUse,
			"backlog": r.Backlog, "arrived_total": r.Arrived, "completed_total": r.Completed, "failed_total": r.Failed,
			"requeues_total": r.Requeues, "in_flight": r.InFlight,
			"busy_build": r.BusyWorkers[0], "busy_run": r.BusyWorkers[1], "busy_cleanup": r.BusyWorkers[2],
			"cpu_in_use": r.CPUInUse, "cpu_capacity": r.CPUCapacity, "rate_limited_total": r.RateLimited,
			"queues_paused": int64(r.Paused), "queues_reduced": int64(r.ReducedQueues),
		}
		for _, st := range cluster.States {
			want["vms_"+st.String()] = r.ByState[st]
		}
		for name, v := range want {
			var got int64
			get(name, i, &got)
			require.Equal(t, v, got, "%s[%d]", name, i)
		}
	}

	require.Len(t, d.Marks, len(rec.marks))
	for i, m := range rec.marks {
		assert.Equal(t, m.T.Seconds(), d.Marks[i].ModelS)
		assert.Equal(t, m.Name, d.Marks[i].Name)
		assert.Equal(t, m.Note, d.Marks[i].Note)
	}

	// The rates are per model minute over the run's window before each
	// sample (a run this short is drawn over its own window). Samples are
	// 10 s apart from 10 s on, so each window starts at a sample, or at the
	// start, when every total was zero.
	window := o.Summary.Config.Window
	require.Equal(t, 5*time.Minute, window)
	require.Equal(t, 10*time.Second, o.Summary.Config.SampleEvery)
	require.Less(t, o.Summary.Model/150, window, "the run's window is the display window")
	require.Len(t, d.Rates.ModelS, len(rows), "a rate at every sample")
	at := map[time.Duration]series.Sample{0: {}}
	for _, r := range rows {
		at[r.T] = r.Sample
	}
	var peakRequeues float64
	for i, r := range rows {
		require.Equal(t, r.T.Seconds(), d.Rates.ModelS[i])
		from := max(0, r.T-window)
		base, ok := at[from]
		require.True(t, ok, "a sample at %v", from)
		minutes := (r.T - from).Minutes()
		assert.InDelta(t, float64(r.Requeues-base.Requeues)/minutes, d.Rates.Requeues[i], 1e-9, "requeues at %v", r.T)
		assert.InDelta(t, float64(r.Completed-base.Completed)/minutes, d.Rates.Completions[i], 1e-9, "completions at %v", r.T)
		assert.InDelta(t, float64(r.Arrived-base.Arrived)/minutes, d.Rates.Arrivals[i], 1e-9, "arrivals at %v", r.T)
		// Over the run's own window, the page's rates are the analysis's.
		assert.InDelta(t, r.Rates.Requeues, d.Rates.Requeues[i], 1e-9, "the analysis's requeue rate at %v", r.T)
		peakRequeues = max(peakRequeues, d.Rates.Requeues[i])
	}
	assert.Greater(t, peakRequeues, 2*o.Summary.Config.ArrivalsPerMinute, "the chart shows the storm")
	assert.InDelta(t, o.Analysis.Storm.PeakRate, peakRequeues, 1e-9, "the storm's peak, as the analysis measured it")
}

// remote finds any reference the page would fetch: src or href to another
// host or scheme-relative, CSS url() or @import, and the elements that load
// things by nature.
var remote = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\b(src|href|action|poster|srcset)\s*=\s*["']?\s*(https?:|//|ftp:)`),
	regexp.MustCompile(`(?i)url\(\s*["']?\s*(https?:|//)`),
	regexp.MustCompile(`(?i)@import`),
	regexp.MustCompile(`(?i)<script\b[^>]*\bsrc\s*=`),
	regexp.MustCompile(`(?i)<(link|iframe|img|object|embed|video|audio)\b`),
}

func TestHTMLIsSelfContained(t *testing.T) {
	o := theIncident(t, nil)
	page := writeHTML(t, o, "self-contained")
	for _, re := range remote {
		assert.Empty(t, re.FindAllString(page, -1), "remote resource: %s", re)
	}
	// The checks above must be able to fail.
	for _, bad := range []string{
		`<img src="https://example.com/x.png">`, `<script src="//cdn.example/x.js"></script>`,
		`<style>@import url(http://fonts.example/f.css)</style>`, `<link rel=stylesheet href=https://x/y.css>`,
	} {
		found := false
		for _, re := range remote {
			found = found || re.MatchString(bad)
		}
		assert.True(t, found, "the checks catch %s", bad)
	}
}

// figure extracts the inline SVG of the chart with the given id.
func figure(t *testing.T, page, id string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<figure id="` + id + `">\s*(<svg\b.*?</svg>)`)
	m := re.FindStringSubmatch(page)
	require.NotNil(t, m, "figure %s with an inline <svg>", id)
	return m[1]
}

// wellFormed reads every token of an XML document.
func wellFormed(t *testing.T, doc string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(doc))
	var root string
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		if se, ok := tok.(xml.StartElement); ok && root == "" {
			root = se.Name.Local
		}
	}
	require.Equal(t, "svg", root)
}

// contains reports, briefly, a missing piece: the page is too long to
// print whole.
func contains(t *testing.T, s, sub, what string) {
	t.Helper()
	if !strings.Contains(s, sub) {
		t.Errorf("%s: %q not found", what, sub)
	}
}

var charts = []string{"chart-vms", "chart-backlog", "chart-rates"}

func TestHTMLPage(t *testing.T) {
	o := theIncident(t, nil)
	page := writeHTML(t, o, "broken <janitor> & storm")
	// Text is checked as a reader sees it, whatever the escaping.
	text := html.UnescapeString(page)

	assert.True(t, strings.HasPrefix(page, "<!doctype html>"))
	contains(t, page, "<title>broken &lt;janitor&gt; &amp; storm</title>", "the title, escaped")

	var summary bytes.Buffer
	require.NoError(t, report.WriteSummary(&summary, o))
	contains(t, text, "<pre>"+summary.String()+"</pre>", "the summary table")

	// The parameters, by their flags, as a flag takes them.
	for _, p := range [][2]string{{"vms", "200"}, {"seed", "42"}, {"break-cleanup", "true"}, {"break-at", "10m0s"}, {"clone-time", "30s"}, {"window", "5m0s"}} {
		contains(t, text, `<td>`+p[0]+`</td><td class="value">`+p[1]+`</td>`, "parameters")
	}

	assert.Equal(t, 3, strings.Count(page, "<svg"), "three charts")
	for _, id := range charts {
		svg := figure(t, page, id)
		wellFormed(t, svg)
		assert.True(t, strings.HasPrefix(svg, `<svg role="img" aria-label="`), "%s: named for screen readers", id)
		svg = html.UnescapeString(svg)
		contains(t, svg, ">model time (minutes since the start)<", id+": the time axis")
		contains(t, svg, ">1<", id+": the first mark's number")
		contains(t, svg, ">fault or operator's action<", id+": the marks' key")
	}
	vms := html.UnescapeString(figure(t, page, "chart-vms"))
	for _, key := range []string{"true count", "reported to monitoring", "holding capacity (the gauge)", "capacity"} {
		contains(t, vms, ">"+key+"<", "chart-vms: key")
	}
	for _, key := range []string{"requeues", "completions", "arrivals"} {
		contains(t, html.UnescapeString(figure(t, page, "chart-rates")), ">"+key+"<", "chart-rates: key")
	}
	require.Len(t, o.Marks, 1)
	m := o.Marks[0]
	contains(t, text, `<tr><td>1</td><td class="at">T+00:10:00</td><td class="name">`+m.Name+`</td><td>`+m.Note+`</td></tr>`, "the timeline, numbered as the charts")
}

// timelineRow is one row of the page's timeline.
type timelineRow struct{ num, at, name, note string }

var timelineRowRE = regexp.MustCompile(`<tr><td>([^<]*)</td><td class="at">([^<]*)</td><td class="name">([^<]*)</td><td>([^<]*)</td></tr>`)

func timeline(t *testing.T, page string) []timelineRow {
	t.Helper()
	var out []timelineRow
	for _, m := range timelineRowRE.FindAllStringSubmatch(html.UnescapeString(page), -1) {
		out = append(out, timelineRow{m[1], m[2], m[3], m[4]})
	}
	return out
}

// TestHTMLAlertsOnTheTimelineAndTheCharts: every alert that fired or
// resolved is a row of the page's timeline, in order of time among the
// events, and every one that fired is a mark on each chart.
func TestHTMLAlertsOnTheTimelineAndTheCharts(t *testing.T) {
	o := theIncident(t, nil)
	require.NotEmpty(t, o.Analysis.Alerts, "the storm fires an alert")
	page := writeHTML(t, o, "alerts")
	rows := timeline(t, page)

	var want []timelineRow
	for _, e := range o.Analysis.Alerts {
		at := format.ModelTime(time.Time{}, e.T)
		if e.Firing {
			want = append(want, timelineRow{"", at, "alert_firing", "monitoring's alert " + e.Name + " fires"})
		} else {
			want = append(want, timelineRow{"", at, "alert_resolved", "monitoring's alert " + e.Name + " resolves"})
		}
	}
	var alerts []timelineRow
	for _, r := range rows {
		if strings.HasPrefix(r.name, "alert_") {
			alerts = append(alerts, r)
		}
	}
	assert.Equal(t, want, alerts, "every alert event on the timeline, unnumbered")
	for i := 1; i < len(rows); i++ {
		assert.LessOrEqual(t, rows[i-1].at, rows[i].at, "the timeline is in order of time")
	}
	for _, id := range charts {
		svg := html.UnescapeString(figure(t, page, id))
		for _, e := range o.Analysis.Alerts {
			if e.Firing {
				contains(t, svg, ">alert: "+e.Name+"<", id+": the alert's mark")
			}
		}
		contains(t, svg, ">alert fires<", id+": the alerts' key")
	}

	// Without a fault, no alert fires, and the page says none did.
	healthy := run(t, incidentConfig(func(c *config.Config) { c.BreakCleanup = false }), outcome.Options{})
	require.Empty(t, healthy.Analysis.Alerts)
	quiet := writeHTML(t, healthy, "healthy")
	assert.NotContains(t, quiet, "alert_firing")
	for _, id := range charts {
		assert.NotContains(t, figure(t, quiet, id), ">alert fires<")
	}
	contains(t, quiet, "No faults or operators' actions in this run.", "the empty timeline")
}

// TestHTMLMarksAtOneTimeShareANumber: events at one model time are one
// numbered group, on the page's timeline as on the charts.
func TestHTMLMarksAtOneTimeShareANumber(t *testing.T) {
	zero := 0.0
	o := theIncident(t, func(c *config.Config) {
		c.Timeline = incident.Timeline{
			{At: 40 * time.Minute, Action: "restart_janitor"},
			{At: 10 * time.Minute, Action: "set_stall_chance", Args: incident.Args{Fraction: &zero}},
		}
	})
	require.Len(t, o.Marks, 3)
	page := writeHTML(t, o, "groups")
	var marks []timelineRow
	for _, r := range timeline(t, page) {
		if !strings.HasPrefix(r.name, "alert_") {
			marks = append(marks, timelineRow{r.num, r.at, r.name, ""})
		}
	}
	assert.Equal(t, []timelineRow{
		{"1", "T+00:10:00", "set_stall_chance", ""},
		{"", "T+00:10:00", "rotate_cleanup_password", ""},
		{"2", "T+00:40:00", "restart_janitor", ""},
	}, marks, "the two events at 10 minutes share number 1")
	for _, id := range charts {
		svg := figure(t, page, id)
		contains(t, svg, ">1<", id)
		contains(t, svg, ">2<", id)
		assert.NotContains(t, svg, ">3<", "%s: two groups, two numbers", id)
		assert.NotContains(t, svg, ">set_stall_chance<", "%s: events are numbered on the charts, named on the timeline", id)
	}
}

func TestHTMLCalendarTime(t *testing.T) {
	epoch := time.Date(2015, 8, 4, 17, 3, 0, 0, time.UTC)
	o := theIncident(t, func(c *config.Config) { c.Epoch = epoch })
	page := writeHTML(t, o, "with an epoch")
	svg := figure(t, page, "chart-vms")
	contains(t, svg, ">time (UTC), 2015-08-04<", "the time axis")
	for _, tick := range []string{"17:10", "17:30", "18:00"} {
		contains(t, svg, ">"+tick+"<", "a tick at a round calendar time")
	}
	assert.NotContains(t, svg, ">17:03<", "no tick at the odd start")
	contains(t, page, `<td class="at">2015-08-04 17:13:00</td>`, "the timeline in calendar time")
	for _, e := range o.Analysis.Alerts {
		contains(t, page, `<td class="at">`+epoch.Add(e.T).Format("2006-01-02 15:04:05")+`</td><td class="name">alert_`, "an alert in calendar time")
	}
	assert.Equal(t, "2015-08-04T17:03:00Z", pageJSON(t, page).Epoch)
}

func TestHTMLEmptyRun(t *testing.T) {
	// A run stopped before its first sample: the page must still be whole.
	o := &outcome.Outcome{Summary: &pipeline.Summary{Config: config.Default(), Ended: "interrupted"}}
	page := writeHTML(t, o, "empty")
	assert.Equal(t, 3, strings.Count(page, "<svg"))
	contains(t, page, "No faults or operators' actions in this run.", "the empty timeline")
	assert.NotContains(t, page, `<table class="phases">`, "no phases")
	d := pageJSON(t, page)
	assert.Empty(t, d.Marks)
	assert.NotNil(t, d.Marks, "an empty list, not null")
	assert.Empty(t, d.Series["vms_true"])
	assert.Empty(t, d.Rates.ModelS)
}

var (
	phaseTable = regexp.MustCompile(`(?s)<table class="phases">(.*?)</table>`)
	phaseRow   = regexp.MustCompile(`<tr><td class="name">([^<]+)</td><td class="at">([^<]+)</td>((?:<td>[^<]*</td>)+)</tr>`)
	cell       = regexp.MustCompile(`<td>([^<]*)</td>`)
)

// pagePhases are the page's phase table's rows: name, start, and the
// other cells.
func pagePhases(t *testing.T, page string) [][]string {
	t.Helper()
	table := phaseTable.FindStringSubmatch(html.UnescapeString(page))
	require.NotNil(t, table, "a phase table")
	var out [][]string
	for _, m := range phaseRow.FindAllStringSubmatch(table[1], -1) {
		row := []string{m[1], m[2]}
		for _, c := range cell.FindAllStringSubmatch(m[3], -1) {
			row = append(row, c[1])
		}
		out = append(out, row)
	}
	return out
}

// summaryPhases are the text summary's phase table's rows, split at its
// columns (two spaces or more), after its two lines of headers.
func summaryPhases(t *testing.T, o *outcome.Outcome) [][]string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, report.WriteSummary(&buf, o))
	_, table, ok := strings.Cut(buf.String(), "\nPHASES")
	require.True(t, ok, "a phase table in the summary:\n%s", buf.String())
	lines := strings.Split(table, "\n")[2:]
	var out [][]string
	cols := regexp.MustCompile(`\s{2,}`)
	for _, l := range lines {
		if !strings.HasPrefix(l, "  ") || strings.TrimSpace(l) == "" {
			break
		}
		out = append(out, cols.Split(strings.TrimSpace(l), -1))
	}
	return out
}

func TestHTMLHasThePhaseTable(t *testing.T) {
	o := theIncident(t, nil)
	require.NotEmpty(t, o.Analysis.Phases)
	rows := pagePhases(t, writeHTML(t, o, "phases"))
	require.Len(t, rows, len(o.Analysis.Phases), "a row per phase")
	for i, ph := range o.Analysis.Phases {
		assert.Equal(t, []string{
			ph.Name, format.ModelTime(time.Time{}, ph.Start), format.Duration(ph.Length),
			fmt.Sprint(ph.Completed), fmt.Sprint(ph.Requeues), fmt.Sprintf("%d / %d", ph.PeakVMs, ph.PeakReported),
			fmt.Sprint(ph.PeakBacklog), format.Duration(ph.WorstWait),
		}, rows[i])
	}
}

// TestHTMLAndSummaryShowTheSamePhases: the page's phase table and the text
// summary's show each phase's start, length and worst wait alike, spelled
// by format (here the worst waits are whole minutes and seconds, such as
// "41m" and "3m50s").
func TestHTMLAndSummaryShowTheSamePhases(t *testing.T) {
	o := theIncident(t, nil)
	page, text := pagePhases(t, writeHTML(t, o, "phases")), summaryPhases(t, o)
	require.Len(t, page, len(o.Analysis.Phases))
	require.Len(t, text, len(o.Analysis.Phases))
	for i, ph := range o.Analysis.Phases {
		p, s := page[i], text[i]
		require.Len(t, s, len(p), "the summary's row %q", s)
		assert.Equal(t, p[0], s[0], "name")
		assert.Equal(t, p[1], s[1], "%s: start", ph.Name)
		assert.Equal(t, p[2], s[2], "%s: length", ph.Name)
		assert.Equal(t, p[len(p)-1], s[len(s)-1], "%s: worst wait", ph.Name)
		assert.Equal(t, format.Duration(ph.WorstWait), s[len(s)-1], "%s: worst wait", ph.Name)
	}
}

// TestHTMLDurationsAreRounded: a run that ends at an odd model time shows
// its length, and its phases', rounded as a person reads them, in the
// headline, the phase table and the summary; only the parameters, which a
// flag must take back, and the data keep the exact time.
func TestHTMLDurationsAreRounded(t *testing.T) {
	odd := time.Hour + 143503440*time.Nanosecond
	o := theIncident(t, func(c *config.Config) { c.Duration = odd })
	require.Equal(t, odd, o.Summary.Model)
	page := html.UnescapeString(writeHTML(t, o, "odd"))
	contains(t, page, "<li>model time 1h</li>", "the headline")
	rows := pagePhases(t, page)
	last := o.Analysis.Phases[len(o.Analysis.Phases)-1]
	require.NotEqual(t, last.Length, last.Length.Round(time.Second), "the last phase ends at the odd time")
	assert.Equal(t, format.Duration(last.Length), rows[len(rows)-1][2])

	params := regexp.MustCompile(`(?s)<div class="params">.*?</div>`)
	contains(t, params.FindString(page), `<td>duration</td><td class="value">1h0m0.14350344s</td>`, "the parameter, as a flag takes it")
	svg := regexp.MustCompile(`(?s)<svg\b.*?</svg>`)
	read := svg.ReplaceAllString(params.ReplaceAllString(dataBlock(report.DataID).ReplaceAllString(page, ""), ""), "")
	contains(t, read, "after 1h of model time", "the summary")
	assert.NotRegexp(t, `\d\.\d+s\b`, read, "no unrounded duration for people")
	assert.NotContains(t, read, "0.143")
}

// TestHTMLFaithfulness: the checks of the outcome's analysis are a section
// of the page, each with its causes, the model's figure, what the report
// says and whether it held; the calibrations are a table apart; the checks
// are in the data too.
func TestHTMLFaithfulness(t *testing.T) {
	o := &outcome.Outcome{
		Summary: &pipeline.Summary{Config: config.Default(), Ended: "model duration reached"},
		Analysis: analysis.Result{Checks: []analysis.CheckResult{
			{Check: analysis.Check{Name: "the leak fills the cluster", Causes: []string{"janitor_broken"}}, Model: "7046 vms_true at 17:45", Want: "at least 6000", OK: true},
			{Check: analysis.Check{Name: "the <reported> count stays in the band", Causes: []string{"janitor_broken", "stale_report"}}, Model: "vms_reported 0 to 178", Want: "inside [1, 400]", OK: false},
			{Check: analysis.Check{Name: "a normal peak", Calibration: true}, Model: "max of vms_true = 226", Want: "from 150 to 250", OK: true},
		}},
	}
	raw := writeHTML(t, o, "checks")
	page := html.UnescapeString(raw)
	section := regexp.MustCompile(`(?s)<table class="checks">(.*?)</table>`).FindStringSubmatch(page)
	require.NotNil(t, section, "a table of checks")
	contains(t, section[1], `<td class="held">held</td><td>the leak fills the cluster</td><td class="name">janitor_broken</td><td>7046 vms_true at 17:45</td><td>at least 6000</td>`, "a check that held")
	contains(t, section[1], `<td class="failed">failed</td><td>the <reported> count stays in the band</td><td class="name">janitor_broken, stale_report</td><td>vms_reported 0 to 178</td><td>inside [1, 400]</td>`, "a check that failed")
	assert.NotContains(t, section[1], "a normal peak", "calibrations are apart")
	calibrations := regexp.MustCompile(`(?s)<table class="calibrations">(.*?)</table>`).FindStringSubmatch(page)
	require.NotNil(t, calibrations, "a table of calibrations")
	contains(t, calibrations[1], `<td class="held">held</td><td>a normal peak</td><td>max of vms_true = 226</td><td>from 150 to 250</td>`, "a calibration")
	assert.NotContains(t, calibrations[1], "the leak fills", "checks are apart")

	assert.NotContains(t, raw, "the <reported>", "names are escaped")
	d := pageJSON(t, raw)
	require.Len(t, d.Checks, len(o.Analysis.Checks), "the checks are in the data")
	for i, c := range o.Analysis.Checks {
		assert.Equal(t, c.Check.Name, d.Checks[i].Name)
		assert.Equal(t, c.Check.Causes, d.Checks[i].Causes)
		assert.Equal(t, c.Check.Calibration, d.Checks[i].Calibration)
		assert.Equal(t, c.Model, d.Checks[i].Model)
		assert.Equal(t, c.Want, d.Checks[i].Want)
		assert.Equal(t, c.OK, d.Checks[i].OK)
	}

	// Without checks, no section.
	plain := writeHTML(t, &outcome.Outcome{Summary: o.Summary}, "no checks")
	assert.NotContains(t, plain, `id="faithfulness"`)
	assert.NotContains(t, plain, `"checks"`)
}

// TestHTMLFaithfulnessOfARun: the checks a run was given through
// outcome.Options are judged by its analysis and shown as it judged them;
// with their cause taken out (the janitor not broken), the checks fail on
// the page, and the calibration, which no cause makes hold, still holds.
func TestHTMLFaithfulnessOfARun(t *testing.T) {
	atLeast, upTo := 1000.0, 1000.0
	checks := []analysis.Check{
		{Name: "a storm follows", Causes: []string{"janitor_broken"}, PhaseSeen: analysis.PhaseStorm},
		{Name: "the leak piles up VMs", Causes: []string{"janitor_broken"}, Metric: "vms_true", Stat: "max", Min: &atLeast,
			From: analysis.Moment{Absent: true}, To: analysis.Moment{Absent: true}},
		{Name: "arrivals as configured", Calibration: true, Metric: "arrived", Stat: "at", At: analysis.Moment{End: true}, Max: &upTo},
	}
	tests := []struct {
		name   string
		broken bool
		held   []bool
	}{
		{"the incident", true, []bool{true, true, true}},
		{"the janitor not broken", false, []bool{false, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := incidentConfig(func(c *config.Config) { c.BreakCleanup = tt.broken })
			o := run(t, cfg, outcome.Options{Checks: checks})
			require.Len(t, o.Analysis.Checks, len(checks))
			page := html.UnescapeString(writeHTML(t, o, "checks"))
			for i, c := range o.Analysis.Checks {
				assert.Equal(t, tt.held[i], c.OK, "%s: %s, want %s", c.Check.Name, c.Model, c.Want)
				mark := `<td class="failed">failed</td>`
				if c.OK {
					mark = `<td class="held">held</td>`
				}
				causes := ""
				if !c.Check.Calibration {
					causes = `<td class="name">janitor_broken</td>`
				}
				contains(t, page, "<tr>"+mark+"<td>"+c.Check.Name+"</td>"+causes+"<td>"+c.Model+"</td><td>"+c.Want+"</td></tr>", "the check as judged")
			}
		})
	}
}

// TestAssumptionsInTheSummaryAndThePage: the summary and the page list
// every one of the model's assumptions with its value in the run, say
// which is not the default, and the page gives each one's evidence.
func TestAssumptionsInTheSummaryAndThePage(t *testing.T) {
	o := theIncident(t, func(c *config.Config) { c.Assumptions.RefusedStartHoldsCPU = true })
	var summary bytes.Buffer
	require.NoError(t, report.WriteSummary(&summary, o))
	contains(t, summary.String(), "ASSUMPTIONS", "the summary's section")
	text := html.UnescapeString(writeHTML(t, o, "assumptions"))
	contains(t, text, `<h2 id="assumptions">`, "the page's section")
	def := config.Default()
	for _, a := range config.Assumptions {
		p, ok := config.Lookup(a.Flag)
		require.True(t, ok)
		key := strings.TrimPrefix(p.Key, config.SectionAssumptions+".")
		value, which := p.Get(&o.Summary.Config), "(the default)"
		if value != p.Get(&def) {
			which = "(not the default, " + p.Get(&def) + ")"
		}
		assert.Regexp(t, regexp.MustCompile(`\n  `+key+` +`+value+` `+regexp.QuoteMeta(which)+`\n`), summary.String(), "%s in the summary", key)
		contains(t, text, `<td class="name">`+p.Key+`</td><td>`+value+`</td><td>`+p.Get(&def)+`</td><td>`+a.Evidence+`</td><td>`+a.Otherwise+`</td><td>`+a.Decides+`</td>`, "the page's row of "+key)
	}
	assert.Contains(t, summary.String(), "refused_start_holds_cpu   true (not the default, false)")
}
