package report_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"html"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/pipeline"
	"vmstorm/report"
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
}

var dataBlock = regexp.MustCompile(`(?s)<script type="application/json" id="vmstorm-data">(.*?)</script>`)

func pageJSON(t *testing.T, page string) pageData {
	t.Helper()
	m := dataBlock.FindAllStringSubmatch(page, -1)
	require.Len(t, m, 1, "one data block")
	var d pageData
	require.NoError(t, json.Unmarshal([]byte(m[0][1]), &d))
	return d
}

func writeHTML(t *testing.T, s *pipeline.Summary, title string) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, report.WriteHTML(&buf, s, title))
	return buf.String()
}

func TestHTMLDataMatchesTheRun(t *testing.T) {
	s := incident(t, nil)
	page := writeHTML(t, s, "the 2015 incident")
	d := pageJSON(t, page)

	assert.Equal(t, "the 2015 incident", d.Title)
	assert.Equal(t, s.Model.Seconds(), d.ModelS)
	assert.Equal(t, report.Header(), d.Columns)
	for _, name := range d.Columns {
		require.Len(t, d.Series[name], len(s.Series), "series %s", name)
	}
	num := func(name string, i int) int64 {
		var v int64
		require.NoError(t, json.Unmarshal(d.Series[name][i], &v), "%s[%d]", name, i)
		return v
	}
	for i, smp := range s.Series {
		var sec float64
		require.NoError(t, json.Unmarshal(d.Series["model_s"][i], &sec))
		var phase string
		require.NoError(t, json.Unmarshal(d.Series["phase"][i], &phase))
		require.Equal(t, smp.Phase, phase, "phase[%d]", i)
		require.Equal(t, smp.T.Seconds(), sec, "model_s[%d]", i)
		want := map[string]int64{
			"vms_true": smp.VMs, "vms_reported": smp.ReportedVMs, "capacity": smp.Capacity, "in_use": smp.InUse,
			"vms_never_booted": smp.ByState[cluster.NeverBooted], "backlog": smp.Backlog,
			"arrived_total": smp.Arrived, "completed_total": smp.Completed, "failed_total": smp.Failed,
			"requeues_total": smp.Requeues, "in_flight": smp.InFlight,
			"busy_build": smp.BusyWorkers[0], "busy_run": smp.BusyWorkers[1], "busy_cleanup": smp.BusyWorkers[2],
		}
		for name, v := range want {
			require.Equal(t, v, num(name, i), "%s[%d]", name, i)
		}
	}

	require.Len(t, d.Marks, len(s.Marks))
	for i, m := range s.Marks {
		assert.Equal(t, m.T.Seconds(), d.Marks[i].ModelS)
		assert.Equal(t, m.Name, d.Marks[i].Name)
		assert.Equal(t, m.Note, d.Marks[i].Note)
	}

	// The rates are per model minute over the minute before each sample.
	// Samples here are 10 s apart from 10 s on, so each minute-long window
	// starts at a sample (or at the start, when every total was zero).
	require.Equal(t, 10*time.Second, s.Config.SampleEvery)
	require.Len(t, d.Rates.ModelS, len(s.Series), "a rate at every sample")
	at := map[time.Duration]pipeline.Sample{0: {}}
	for _, smp := range s.Series {
		at[smp.T] = smp // the latest sample at a model time, as the window's start
	}
	var peakRequeues float64
	for i, smp := range s.Series {
		require.Equal(t, smp.T.Seconds(), d.Rates.ModelS[i])
		from := max(0, smp.T-time.Minute)
		base, ok := at[from]
		require.True(t, ok, "a sample at %v", from)
		minutes := (smp.T - from).Minutes()
		assert.InDelta(t, float64(smp.Requeues-base.Requeues)/minutes, d.Rates.Requeues[i], 1e-9, "requeues at %v", smp.T)
		assert.InDelta(t, float64(smp.Completed-base.Completed)/minutes, d.Rates.Completions[i], 1e-9, "completions at %v", smp.T)
		assert.InDelta(t, float64(smp.Arrived-base.Arrived)/minutes, d.Rates.Arrivals[i], 1e-9, "arrivals at %v", smp.T)
		peakRequeues = max(peakRequeues, d.Rates.Requeues[i])
	}
	assert.Greater(t, peakRequeues, 2*s.Config.ArrivalsPerMinute, "the chart shows the storm")
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
	s := incident(t, nil)
	page := writeHTML(t, s, "self-contained")
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

func TestHTMLPage(t *testing.T) {
	s := incident(t, nil)
	page := writeHTML(t, s, "broken <janitor> & storm")
	// Text is checked as a reader sees it, whatever the escaping.
	text := html.UnescapeString(page)

	assert.True(t, strings.HasPrefix(page, "<!doctype html>"))
	contains(t, page, "<title>broken &lt;janitor&gt; &amp; storm</title>", "the title, escaped")

	var summary bytes.Buffer
	require.NoError(t, s.Format(&summary))
	contains(t, text, "<pre>"+summary.String()+"</pre>", "the summary table")

	for _, p := range [][2]string{{"VMs", "200"}, {"Seed", "42"}, {"BreakCleanup", "yes"}, {"BreakAt", "10m"}, {"Clone.Mean", "30s"}} {
		contains(t, text, `<td>`+p[0]+`</td><td class="value">`+p[1]+`</td>`, "parameters")
	}

	assert.Equal(t, 3, strings.Count(page, "<svg"), "three charts")
	for _, id := range []string{"chart-vms", "chart-backlog", "chart-rates"} {
		svg := figure(t, page, id)
		wellFormed(t, svg)
		assert.True(t, strings.HasPrefix(svg, `<svg role="img" aria-label="`), "%s: named for screen readers", id)
		svg = html.UnescapeString(svg)
		contains(t, svg, ">model time (minutes since the start)<", id+": the time axis")
		for _, m := range s.Marks {
			contains(t, svg, ">"+m.Name+"<", id+": a mark's label")
		}
		contains(t, svg, ">fault or operator's action<", id+": the marks' key")
	}
	for _, key := range []string{"true count", "reported to monitoring", "capacity"} {
		contains(t, figure(t, page, "chart-vms"), ">"+key+"<", "chart-vms: key")
	}
	for _, key := range []string{"requeues", "completions", "arrivals"} {
		contains(t, figure(t, page, "chart-rates"), ">"+key+"<", "chart-rates: key")
	}
	for _, m := range s.Marks {
		contains(t, text, `<td class="at">T+00:10:00</td><td class="name">`+m.Name+`</td><td>`+m.Note+`</td>`, "the timeline")
	}
}

func TestHTMLCalendarTime(t *testing.T) {
	epoch := time.Date(2015, 8, 4, 17, 3, 0, 0, time.UTC)
	s := incident(t, func(c *config.Config) { c.Epoch = epoch })
	page := writeHTML(t, s, "with an epoch")
	svg := figure(t, page, "chart-vms")
	contains(t, svg, ">time (UTC), 2015-08-04<", "the time axis")
	for _, tick := range []string{"17:10", "17:30", "18:00"} {
		contains(t, svg, ">"+tick+"<", "a tick at a round calendar time")
	}
	assert.NotContains(t, svg, ">17:03<", "no tick at the odd start")
	contains(t, page, `<td class="at">2015-08-04 17:13:00</td>`, "the timeline in calendar time")
	assert.Equal(t, "2015-08-04T17:03:00Z", pageJSON(t, page).Epoch)
}

func TestHTMLEmptyRun(t *testing.T) {
	// A run stopped before its first sample: the page must still be whole.
	s := &pipeline.Summary{Config: config.Default(), Ended: "interrupted"}
	page := writeHTML(t, s, "empty")
	assert.Equal(t, 3, strings.Count(page, "<svg"))
	contains(t, page, "No faults or operators' actions in this run.", "the empty timeline")
	d := pageJSON(t, page)
	assert.Empty(t, d.Marks)
	assert.Empty(t, d.Series["vms_true"])
	assert.Empty(t, d.Rates.ModelS)
}

func TestHTMLHasThePhaseTable(t *testing.T) {
	s := incident(t, nil)
	require.NotEmpty(t, s.Phases)
	page := writeHTML(t, s, "phases")
	table := regexp.MustCompile(`(?s)<table class="phases">(.*?)</table>`).FindStringSubmatch(page)
	require.NotNil(t, table, "a phase table")
	rows := regexp.MustCompile(`<tr><td class="name">([^<]+)</td>`).FindAllStringSubmatch(table[1], -1)
	require.Len(t, rows, len(s.Phases), "a row per phase")
	for i, ph := range s.Phases {
		assert.Equal(t, ph.Name, rows[i][1])
	}
}

// TestHTMLFaithfulness: the checks given are a section of the page, each
// with its causes, the model's figure, what the report says and whether it
// held; the calibrations are a table apart; the checks are in the data too.
func TestHTMLFaithfulness(t *testing.T) {
	s := &pipeline.Summary{Config: config.Default(), Ended: "model duration reached"}
	checks := []report.Check{
		{Name: "the leak fills the cluster", Causes: []string{"janitor_broken"}, Model: "7046 vms_true at 17:45", Want: "at least 6000", OK: true},
		{Name: "the <reported> count stays in the band", Causes: []string{"janitor_broken", "stale_report"}, Model: "vms_reported 0 to 178", Want: "inside [1, 400]", OK: false},
		{Name: "a normal peak", Calibration: true, Model: "max of vms_true = 226", Want: "from 150 to 250", OK: true},
	}
	page := html.UnescapeString(func() string {
		var buf bytes.Buffer
		require.NoError(t, report.WriteHTML(&buf, s, "checks", report.WithChecks(checks)))
		return buf.String()
	}())
	section := regexp.MustCompile(`(?s)<table class="checks">(.*?)</table>`).FindStringSubmatch(page)
	require.NotNil(t, section, "a table of checks")
	contains(t, section[1], `<td class="held">held</td><td>the leak fills the cluster</td><td class="name">janitor_broken</td><td>7046 vms_true at 17:45</td><td>at least 6000</td>`, "a check that held")
	contains(t, section[1], `<td class="failed">failed</td><td>the <reported> count stays in the band</td><td class="name">janitor_broken, stale_report</td><td>vms_reported 0 to 178</td><td>inside [1, 400]</td>`, "a check that failed")
	assert.NotContains(t, section[1], "a normal peak", "calibrations are apart")
	calibrations := regexp.MustCompile(`(?s)<table class="calibrations">(.*?)</table>`).FindStringSubmatch(page)
	require.NotNil(t, calibrations, "a table of calibrations")
	contains(t, calibrations[1], `<td class="held">held</td><td>a normal peak</td><td>max of vms_true = 226</td><td>from 150 to 250</td>`, "a calibration")
	assert.NotContains(t, calibrations[1], "the leak fills", "checks are apart")

	var raw bytes.Buffer
	require.NoError(t, report.WriteHTML(&raw, s, "checks", report.WithChecks(checks)))
	assert.NotContains(t, raw.String(), "the <reported>", "names are escaped")
	var d struct {
		Checks []struct {
			Name        string   `json:"name"`
			Causes      []string `json:"causes"`
			Calibration bool     `json:"calibration"`
			Model       string   `json:"model"`
			Want        string   `json:"want"`
			OK          bool     `json:"ok"`
		} `json:"checks"`
	}
	m := dataBlock.FindStringSubmatch(raw.String())
	require.NotNil(t, m)
	require.NoError(t, json.Unmarshal([]byte(m[1]), &d))
	require.Len(t, d.Checks, len(checks), "the checks are in the data")
	for i, c := range checks {
		assert.Equal(t, c.Name, d.Checks[i].Name)
		assert.Equal(t, c.Causes, d.Checks[i].Causes)
		assert.Equal(t, c.Calibration, d.Checks[i].Calibration)
		assert.Equal(t, c.Model, d.Checks[i].Model)
		assert.Equal(t, c.Want, d.Checks[i].Want)
		assert.Equal(t, c.OK, d.Checks[i].OK)
	}

	// Without checks, no section.
	plain := writeHTML(t, s, "no checks")
	assert.NotContains(t, plain, `id="faithfulness"`)
	assert.NotContains(t, plain, `"checks"`)
}
