package metrics

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"vmstorm/analysis"
	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/series"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// client is an HTTP client that keeps no connection open after a request,
// so that no transport goroutine outlives a test.
func client() *http.Client {
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
}

// serve starts a server for e on a free loopback port, stopped when the
// test ends.
func serve(t *testing.T, e *Exporter, opts ...Option) *Server {
	t.Helper()
	srv, err := Serve(t.Context(), "127.0.0.1:0", e, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, srv.Stop()) })
	return srv
}

// scrape gets /metrics from srv and returns its text and its parsed
// families.
func scrape(t *testing.T, srv *Server) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	resp, err := client().Get("http://" + srv.Addr() + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(strings.NewReader(string(body)))
	require.NoError(t, err)
	return string(body), mfs
}

// flat flattens the vmstorm_ families other than the timeline's and the
// speed into name{label="value"} -> value.
func flat(mfs map[string]*dto.MetricFamily) map[string]float64 {
	out := make(map[string]float64)
	for name, mf := range mfs {
		if !strings.HasPrefix(name, "vmstorm_") || name == "vmstorm_model_speed" ||
			name == "vmstorm_timeline_events_total" || name == "vmstorm_last_event_model_time_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			out[seriesKey(name, m)] = value(mf, m)
		}
	}
	return out
}

func seriesKey(name string, m *dto.Metric) string {
	var labels []string
	for _, l := range m.GetLabel() {
		labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	if len(labels) == 0 {
		return name
	}
	return name + "{" + strings.Join(labels, ",") + "}"
}

func value(mf *dto.MetricFamily, m *dto.Metric) float64 {
	switch mf.GetType() {
	case dto.MetricType_COUNTER:
		return m.GetCounter().GetValue()
	case dto.MetricType_GAUGE:
		return m.GetGauge().GetValue()
	}
	panic("unexpected metric type " + mf.GetType().String())
}

// modelTime is the scraped vmstorm_model_time_seconds, or -1 if absent.
func modelTime(mfs map[string]*dto.MetricFamily) float64 {
	mf, ok := mfs["vmstorm_model_time_seconds"]
	if !ok || len(mf.GetMetric()) != 1 {
		return -1
	}
	return mf.GetMetric()[0].GetGauge().GetValue()
}

// want is what a scrape must show of r, written out by hand so that a
// metric wired to the wrong field fails.
func want(r series.Row) map[string]float64 {
	w := map[string]float64{
		"vmstorm_model_time_seconds":                r.T.Seconds(),
		"vmstorm_vms_true":                          float64(r.VMs),
		"vmstorm_vms_reported":                      float64(r.ReportedVMs),
		"vmstorm_capacity_vms":                      float64(r.Capacity),
		"vmstorm_capacity_in_use_vms":               float64(r.InUse),
		"vmstorm_backlog_jobs":                      float64(r.Backlog),
		"vmstorm_requeues_total":                    float64(r.Requeues),
		`vmstorm_jobs_total{outcome="arrived"}`:     float64(r.Arrived),
		`vmstorm_jobs_total{outcome="completed"}`:   float64(r.Completed),
		`vmstorm_jobs_total{outcome="failed"}`:      float64(r.Failed),
		"vmstorm_jobs_in_flight":                    float64(r.InFlight),
		`vmstorm_busy_workers{pool="build"}`:        float64(r.BusyWorkers[0]),
		`vmstorm_busy_workers{pool="run"}`:          float64(r.BusyWorkers[1]),
		`vmstorm_busy_workers{pool="cleanup"}`:      float64(r.BusyWorkers[2]),
		"vmstorm_cpu_in_use_vms":                    float64(r.CPUInUse),
		"vmstorm_cpu_capacity_vms":                  float64(r.CPUCapacity),
		"vmstorm_backlog_oldest_wait_seconds":       r.OldestWait.Seconds(),
		"vmstorm_queues_paused":                     float64(r.Paused),
		"vmstorm_queues_reduced":                    float64(r.ReducedQueues),
		"vmstorm_janitor_failing":                   0,
		"vmstorm_api_rate_limited_total":            float64(r.RateLimited),
		`vmstorm_jobs_total{outcome="shed"}`:        float64(r.Shed),
		"vmstorm_jobs_failed_by_retry_budget_total": float64(r.FailedByBudget),
		"vmstorm_backoff_jobs":                      float64(r.BackingOff),
		"vmstorm_retry_budget_tokens":               r.RetryTokens,
		"vmstorm_reaped_vms_total":                  float64(r.Reaped),
		"vmstorm_janitor_last_success_age_seconds":  r.JanitorAge.Seconds(),
	}
	for i, st := range []string{"closed", "open", "half-open"} {
		w[fmt.Sprintf("vmstorm_breaker_state{state=%q}", st)] = b2f(int64(i) == r.Breaker)
	}
	if r.JanitorFailing {
		w["vmstorm_janitor_failing"] = 1
	}
	for i, st := range cluster.States {
		w[fmt.Sprintf("vmstorm_vms{state=%q}", st.String())] = float64(r.ByState[i])
	}
	for _, ph := range analysis.Phases {
		w[fmt.Sprintf("vmstorm_phase{phase=%q}", ph)] = b2f(ph == r.Phase)
	}
	for _, a := range analysis.Alerts {
		w[fmt.Sprintf("vmstorm_alert_firing{alert=%q}", a)] = b2f(slices.Contains(r.Firing, a))
	}
	return w
}

// poll calls done until it returns true, and fails the test if that has not
// happened by the deadline.
func poll(t *testing.T, within time.Duration, what string, done func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("not done within %s: %s", within, what)
		}
		<-tick.C
	}
}

// holdAt is a watcher that stops the run at its first row at or after at,
// until let is called.
type holdAt struct {
	at       time.Duration
	reached  chan struct{}
	release  chan struct{}
	held, ok sync.Once
}

func (h *holdAt) Row(r series.Row) {
	if r.T >= h.at {
		h.held.Do(func() {
			close(h.reached)
			<-h.release
		})
	}
}

func (h *holdAt) Mark(series.Mark) {}

// let lets the run go on; it may be called more than once.
func (h *holdAt) let() { h.ok.Do(func() { close(h.release) }) }

// TestRunScrape runs the broken cluster with the exporter as a watcher of
// outcome.Run, paced against the wall clock, and scrapes it over loopback
// while it runs (held at a row until the scrape is done) and after it ends. Two
// runs, back to back, each with its own exporter and server, show that
// exporters share no registry.
func TestRunScrape(t *testing.T) {
	for _, seed := range []uint64{7, 8} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			cfg := config.Default()
			// 20 model minutes at 1200x: a second of wall time.
			cfg.Speed, cfg.Duration, cfg.BreakCleanup, cfg.Seed = 1200, 20*time.Minute, true, seed
			e := NewExporter(float64(cfg.Speed))
			srv := serve(t, e)

			var (
				wg     sync.WaitGroup
				out    *outcome.Outcome
				runErr error
			)
			done := make(chan struct{})
			t.Cleanup(wg.Wait) // t.Context() is cancelled first, ending the run if the test failed
			// The run stops at its row of 10 model minutes until the test
			// has scraped: the scrape in the middle of the run needs no
			// luck with the wall clock.
			hold := &holdAt{at: 10 * time.Minute, reached: make(chan struct{}), release: make(chan struct{})}
			t.Cleanup(hold.let) // before wg.Wait, if the test fails first
			wg.Go(func() {
				defer close(done)
				out, runErr = outcome.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{Watchers: []series.Watcher{e, hold}})
			})

			select {
			case <-hold.reached:
			case <-done:
				t.Fatalf("the run ended before 10 model minutes: %v", runErr)
			}
			_, mid := scrape(t, srv)
			hold.let()
			require.Positive(t, modelTime(mid), "vmstorm_model_time_seconds while the run goes")
			<-done
			require.NoError(t, runErr)
			require.NotNil(t, out)
			summary := out.Summary
			require.Less(t, len(out.Rows), outcome.DefaultKeepRows, "the outcome keeps every row of a run this short")

			// The scrape in the run showed one whole row: the one the
			// analysis judged at its model time.
			at := make(map[float64]series.Row)
			for _, r := range out.Rows {
				at[r.T.Seconds()] = r
			}
			r, ok := at[modelTime(mid)]
			require.True(t, ok, "no row at the scraped model time %v", modelTime(mid))
			assert.Equal(t, want(r), flat(mid))
			assert.Less(t, modelTime(mid), summary.Model.Seconds(), "the scrape was taken while the run went, before its end")

			// After the run, the scrape is the last row, which is the
			// state at the end that the summary accounts for.
			body, end := scrape(t, srv)
			last := out.Rows[len(out.Rows)-1]
			assert.Equal(t, summary.Model, last.T)
			assert.Equal(t, want(last), flat(end))
			got := flat(end)
			assert.Equal(t, float64(summary.Cluster.VMs), got["vmstorm_vms_true"])
			assert.Equal(t, float64(summary.Cluster.InUse), got["vmstorm_capacity_in_use_vms"])
			assert.Equal(t, float64(cfg.VMs), got["vmstorm_capacity_vms"])
			assert.Equal(t, float64(summary.Queued), got["vmstorm_backlog_jobs"])
			assert.Equal(t, float64(summary.Jobs.Requeues), got["vmstorm_requeues_total"])
			assert.Equal(t, float64(summary.Jobs.Arrived), got[`vmstorm_jobs_total{outcome="arrived"}`])
			assert.Equal(t, float64(summary.Jobs.Completed), got[`vmstorm_jobs_total{outcome="completed"}`])
			assert.Equal(t, float64(summary.Jobs.Failed), got[`vmstorm_jobs_total{outcome="failed"}`])
			assert.Positive(t, got["vmstorm_requeues_total"], "the broken cluster storms within 20 minutes")
			assert.Equal(t, 1.0, got["vmstorm_janitor_failing"], "the janitor cannot log in at the end")
			assert.Equal(t, 1.0, got[fmt.Sprintf("vmstorm_phase{phase=%q}", last.Phase)], "the phase the analysis judged last")
			assert.Equal(t, float64(cfg.Speed), end["vmstorm_model_speed"].GetMetric()[0].GetGauge().GetValue())

			// The timeline: each event's count and last time, as applied.
			require.NotEmpty(t, out.Marks, "a broken run rotates the janitor's password")
			wantEvents, wantLast := map[string]float64{}, map[string]float64{}
			for _, m := range out.Marks {
				wantEvents[m.Name]++
				wantLast[m.Name] = m.T.Seconds()
			}
			gotEvents, gotLast := map[string]float64{}, map[string]float64{}
			for _, m := range end["vmstorm_timeline_events_total"].GetMetric() {
				gotEvents[m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
			}
			for _, m := range end["vmstorm_last_event_model_time_seconds"].GetMetric() {
				gotLast[m.GetLabel()[0].GetValue()] = m.GetGauge().GetValue()
			}
			assert.Equal(t, wantEvents, gotEvents)
			assert.Equal(t, wantLast, gotLast)

			// The process's own metrics are on the exporter's registry too.
			assert.Contains(t, end, "go_goroutines")
			assert.Contains(t, end, "process_cpu_seconds_total")

			// Prometheus's own linter: names, units, _total, HELP.
			problems, err := promlint.New(strings.NewReader(body)).Lint()
			require.NoError(t, err)
			for _, p := range problems {
				if strings.HasPrefix(p.Metric, "vmstorm_") {
					t.Errorf("promlint: %s: %s", p.Metric, p.Text)
				}
			}
		})
	}
}

// gather collects e's vmstorm_ series without a server.
func gather(t *testing.T, e *Exporter) map[string]float64 {
	t.Helper()
	mfs, err := e.Registry().Gather()
	require.NoError(t, err)
	byName := make(map[string]*dto.MetricFamily)
	for _, mf := range mfs {
		byName[mf.GetName()] = mf
	}
	return flat(byName)
}

// rowFieldsNotExported are the fields of series.Row that no metric shows,
// and why.
var rowFieldsNotExported = map[string]string{
	// Prometheus derives rates from the counters itself, over the window
	// a query asks for: rate(vmstorm_requeues_total[5m]).
	"Rates": "Prometheus's rate() over the counters",
	// What changed at a sample is for the log (logx.Status); the state it
	// changed to is in the metrics.
	"Changes": "the log's",
}

// TestEverySampleField fails when series.Row, or the series.Sample in it,
// gains a field that no metric shows (and that rowFieldsNotExported does
// not explain): setting any one field (or array element) must change the
// scrape.
func TestEverySampleField(t *testing.T) {
	collect := func(r series.Row) map[string]float64 {
		e := NewExporter(1)
		e.Row(r)
		return gather(t, e)
	}
	zero := collect(series.Row{})

	// set gives v, a field or array element, a value other than its zero.
	set := func(t *testing.T, name string, v reflect.Value) {
		switch v.Kind() {
		case reflect.Int, reflect.Int32, reflect.Int64: // time.Duration too
			v.SetInt(7)
		case reflect.Float64:
			v.SetFloat(7)
		case reflect.String:
			v.SetString("x")
		case reflect.Bool:
			v.SetBool(true)
		case reflect.Slice:
			if v.Type().Elem().Kind() != reflect.String {
				t.Fatalf("series.Row's %s is a %s: teach this test to set it", name, v.Type())
			}
			v.Set(reflect.ValueOf([]string{"x"}))
		default:
			t.Fatalf("series.Row's %s is a %s: teach this test to set it", name, v.Type())
		}
	}
	checked := 0
	rowType := reflect.TypeFor[series.Row]()
	for i := range rowType.NumField() {
		rf := rowType.Field(i)
		if _, ok := rowFieldsNotExported[rf.Name]; ok {
			continue
		}
		// The fields of the embedded Sample are the row's own.
		fields := [][]int{{i}}
		if rf.Anonymous {
			fields = nil
			for j := range rf.Type.NumField() {
				fields = append(fields, []int{i, j})
			}
		}
		for _, index := range fields {
			f := rowType.FieldByIndex(index)
			elems := 1
			if f.Type.Kind() == reflect.Array {
				elems = f.Type.Len()
			}
			for k := range elems {
				var r series.Row
				v := reflect.ValueOf(&r).Elem().FieldByIndex(index)
				name := f.Name
				if f.Type.Kind() == reflect.Array {
					v, name = v.Index(k), fmt.Sprintf("%s[%d]", f.Name, k)
				}
				set(t, name, v)
				checked++
				if reflect.DeepEqual(zero, collect(r)) {
					t.Errorf("series.Row's %s shows in no metric: add a row for it to sampleFamilies in metrics.go", name)
				}
			}
		}
	}
	assert.Greater(t, checked, 25, "every field of the sample, and the phase and alerts")
}

// TestStateSets: the phase and the alerts are Prometheus state sets over
// the analysis's lists, 1 for what holds and 0 for the rest; a value the
// lists do not know gets a series of its own; the janitor's failing and the
// reduced queues are gauges.
func TestStateSets(t *testing.T) {
	labels := func(got map[string]float64, family string) []string {
		var out []string
		for k := range got {
			if v, ok := strings.CutPrefix(k, family+"{"); ok {
				_, value, _ := strings.Cut(strings.TrimSuffix(v, "}"), "=")
				out = append(out, strings.Trim(value, `"`))
			}
		}
		return out
	}
	tests := []struct {
		name string
		row  series.Row
		on   map[string]float64 // the series that must be 1 (or the value given); all others of these families 0
	}{
		{"healthy", series.Row{Phase: analysis.PhaseHealthy}, map[string]float64{
			`vmstorm_phase{phase="healthy"}`: 1,
		}},
		{"a storm, two alerts, a failing janitor and two reduced queues", series.Row{
			Phase: analysis.PhaseStorm, Firing: []string{analysis.AlertRequeueRate, analysis.AlertBacklogAge},
			Sample: series.Sample{JanitorFailing: true, ReducedQueues: 2},
		}, map[string]float64{
			`vmstorm_phase{phase="storm"}`:                    1,
			`vmstorm_alert_firing{alert="requeue_rate_high"}`: 1,
			`vmstorm_alert_firing{alert="backlog_age_high"}`:  1,
			"vmstorm_janitor_failing":                         1,
			"vmstorm_queues_reduced":                          2,
		}},
		{"a phase of a newer analysis", series.Row{Phase: "meltdown", Firing: []string{"new_alert"}}, map[string]float64{
			`vmstorm_phase{phase="meltdown"}`:         1,
			`vmstorm_alert_firing{alert="new_alert"}`: 1,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := NewExporter(1)
			e.Row(tt.row)
			got := gather(t, e)
			phases, alerts := append([]string(nil), analysis.Phases...), append([]string(nil), analysis.Alerts...)
			if !slices.Contains(phases, tt.row.Phase) {
				phases = append(phases, tt.row.Phase)
			}
			for _, a := range tt.row.Firing {
				if !slices.Contains(alerts, a) {
					alerts = append(alerts, a)
				}
			}
			assert.ElementsMatch(t, phases, labels(got, "vmstorm_phase"))
			assert.ElementsMatch(t, alerts, labels(got, "vmstorm_alert_firing"))
			for k, v := range got {
				if strings.HasPrefix(k, "vmstorm_phase") || strings.HasPrefix(k, "vmstorm_alert_firing") ||
					k == "vmstorm_janitor_failing" || k == "vmstorm_queues_reduced" {
					assert.Equal(t, tt.on[k], v, k)
				}
			}
			for k := range tt.on {
				assert.Contains(t, got, k)
			}
		})
	}
}

// TestTwoExportersAtOnce: two exporters and servers alive together each
// serve their own run, and before its first row an exporter shows no
// model state, only what it knows.
func TestTwoExportersAtOnce(t *testing.T) {
	a, b := NewExporter(60), NewExporter(120)
	srvA, srvB := serve(t, a), serve(t, b)

	_, before := scrape(t, srvA)
	assert.Empty(t, flat(before), "no model state before the first row")
	assert.Equal(t, 60.0, before["vmstorm_model_speed"].GetMetric()[0].GetGauge().GetValue())
	_, ok := a.Latest()
	assert.False(t, ok)

	a.Row(series.Row{Sample: series.Sample{T: time.Minute, Capacity: 10, InUse: 3}})
	b.Row(series.Row{Sample: series.Sample{T: 2 * time.Minute, Capacity: 20, InUse: 4}})
	a.Mark(series.Mark{T: 30 * time.Second, Name: "rotate_cleanup_password"})
	latest, ok := a.Latest()
	assert.True(t, ok)
	assert.Equal(t, time.Minute, latest.T)

	for _, tc := range []struct {
		srv              *Server
		t, capacity, use float64
		speed            float64
		events           int
	}{
		{srvA, 60, 10, 3, 60, 1},
		{srvB, 120, 20, 4, 120, 0},
	} {
		_, mfs := scrape(t, tc.srv)
		got := flat(mfs)
		assert.Equal(t, tc.t, got["vmstorm_model_time_seconds"])
		assert.Equal(t, tc.capacity, got["vmstorm_capacity_vms"])
		assert.Equal(t, tc.use, got["vmstorm_capacity_in_use_vms"])
		assert.Equal(t, tc.speed, mfs["vmstorm_model_speed"].GetMetric()[0].GetGauge().GetValue())
		assert.Len(t, mfs["vmstorm_timeline_events_total"].GetMetric(), tc.events)
	}
}

func TestMarkCountsAndLastTime(t *testing.T) {
	e := NewExporter(1)
	e.Mark(series.Mark{T: 10 * time.Second, Name: "a"})
	e.Mark(series.Mark{T: 20 * time.Second, Name: "b"})
	e.Mark(series.Mark{T: 90 * time.Second, Name: "a"})
	mfs, err := e.Registry().Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "vmstorm_") {
			for _, m := range mf.GetMetric() {
				got[seriesKey(mf.GetName(), m)] = value(mf, m)
			}
		}
	}
	assert.Equal(t, map[string]float64{
		`vmstorm_timeline_events_total{event="a"}`:         2,
		`vmstorm_timeline_events_total{event="b"}`:         1,
		`vmstorm_last_event_model_time_seconds{event="a"}`: 90,
		`vmstorm_last_event_model_time_seconds{event="b"}`: 20,
		"vmstorm_model_speed":                              1,
	}, got)
}

// TestRoutes: the profiles are served only when asked for.
func TestRoutes(t *testing.T) {
	for _, tc := range []struct {
		path     string
		pprof    bool // WithPprof
		status   int
		contains string
	}{
		{"/metrics", false, http.StatusOK, "vmstorm_model_speed"},
		{"/metrics", true, http.StatusOK, "vmstorm_model_speed"},
		{"/debug/pprof/", false, http.StatusNotFound, ""},
		{"/debug/pprof/cmdline", false, http.StatusNotFound, ""},
		{"/debug/pprof/heap", false, http.StatusNotFound, ""},
		{"/debug/pprof/goroutine?debug=1", false, http.StatusNotFound, ""},
		{"/debug/pprof/trace?seconds=0", false, http.StatusNotFound, ""},
		{"/debug/pprof/", true, http.StatusOK, "goroutine"},
		{"/debug/pprof/goroutine?debug=1", true, http.StatusOK, "goroutine profile"},
		{"/debug/pprof/cmdline", true, http.StatusOK, ""},
		{"/", false, http.StatusNotFound, ""},
		{"/", true, http.StatusNotFound, ""},
	} {
		t.Run(fmt.Sprintf("%s pprof=%v", tc.path, tc.pprof), func(t *testing.T) {
			srv := serve(t, NewExporter(1), WithPprof(tc.pprof))
			resp, err := client().Get("http://" + srv.Addr() + tc.path)
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, tc.status, resp.StatusCode)
			assert.Contains(t, string(body), tc.contains)
		})
	}
}

func TestServeRefusesBadAndBusyAddresses(t *testing.T) {
	_, err := Serve(t.Context(), ":0", NewExporter(1))
	require.ErrorContains(t, err, "every interface")

	first := serve(t, NewExporter(1))
	_, err = Serve(t.Context(), first.Addr(), NewExporter(1))
	require.ErrorIs(t, err, syscall.EADDRINUSE, "a busy port is Serve's error, at once")
}

func TestServerStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	srv, err := Serve(ctx, "127.0.0.1:0", NewExporter(1))
	require.NoError(t, err)
	_, _ = scrape(t, srv)

	cancel()
	require.NoError(t, srv.Stop())
	require.NoError(t, srv.Stop(), "Stop again says the same")
	conn, err := net.Dial("tcp", srv.Addr())
	if err == nil {
		conn.Close()
	}
	require.Error(t, err, "nothing listens after the server stopped")
	goleak.VerifyNone(t)
}

// TestStopEndsLongProfile: a 60 s CPU profile in progress does not hold up
// Stop, since requests' contexts end when the server stops.
func TestStopEndsLongProfile(t *testing.T) {
	srv, err := Serve(t.Context(), "127.0.0.1:0", NewExporter(1), WithPprof(true))
	require.NoError(t, err)

	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		resp, err := client().Get("http://" + srv.Addr() + "/debug/pprof/profile?seconds=60")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	poll(t, 10*time.Second, "the profile handler is running", func() bool {
		resp, err := client().Get("http://" + srv.Addr() + "/debug/pprof/goroutine?debug=1")
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return strings.Contains(string(body), "net/http/pprof.sleep")
	})

	start := time.Now()
	require.NoError(t, srv.Stop())
	assert.Less(t, time.Since(start), shutdownTimeout, "Stop waited for the profile instead of ending it")
}
