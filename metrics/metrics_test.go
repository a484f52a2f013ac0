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
	"go.uber.org/zap"

	"vmstorm/cluster"
	"vmstorm/config"
	"vmstorm/internal/sim"
	"vmstorm/pipeline"
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

// series flattens the vmstorm_ families other than the timeline's and the
// speed into name{label="value"} -> value.
func series(mfs map[string]*dto.MetricFamily) map[string]float64 {
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

// want is what a scrape must show of s, written out by hand so that a
// metric wired to the wrong field fails.
func want(s pipeline.Sample) map[string]float64 {
	w := map[string]float64{
		"vmstorm_model_time_seconds":              s.T.Seconds(),
		"vmstorm_vms_true":                        float64(s.VMs),
		"vmstorm_vms_reported":                    float64(s.ReportedVMs),
		"vmstorm_capacity_vms":                    float64(s.Capacity),
		"vmstorm_capacity_in_use_vms":             float64(s.InUse),
		"vmstorm_backlog_jobs":                    float64(s.Backlog),
		"vmstorm_requeues_total":                  float64(s.Requeues),
		`vmstorm_jobs_total{outcome="arrived"}`:   float64(s.Arrived),
		`vmstorm_jobs_total{outcome="completed"}`: float64(s.Completed),
		`vmstorm_jobs_total{outcome="failed"}`:    float64(s.Failed),
		"vmstorm_jobs_in_flight":                  float64(s.InFlight),
		`vmstorm_busy_workers{pool="build"}`:      float64(s.BusyWorkers[0]),
		`vmstorm_busy_workers{pool="run"}`:        float64(s.BusyWorkers[1]),
		`vmstorm_busy_workers{pool="cleanup"}`:    float64(s.BusyWorkers[2]),
		"vmstorm_cpu_in_use_vms":                  float64(s.CPUInUse),
		"vmstorm_cpu_capacity_vms":                float64(s.CPUCapacity),
		"vmstorm_backlog_oldest_wait_seconds":     s.OldestWait.Seconds(),
		"vmstorm_queues_paused":                   float64(s.Paused),
		"vmstorm_api_rate_limited_total":          float64(s.RateLimited),
	}
	for i, st := range cluster.States {
		w[fmt.Sprintf("vmstorm_vms{state=%q}", st.String())] = float64(s.ByState[i])
	}
	for _, ph := range phases {
		w[fmt.Sprintf("vmstorm_phase{phase=%q}", ph)] = b2f(ph == s.Phase)
	}
	for _, a := range alerts {
		w[fmt.Sprintf("vmstorm_alert_firing{alert=%q}", a)] = b2f(slices.Contains(s.Firing, a))
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

// TestRunScrape runs the broken cluster with the exporter, paced against
// the wall clock so that it lasts a second or two, and scrapes it over
// loopback while it runs and after it ends. Two runs, back to back, each
// with its own exporter and server, show that exporters share no registry.
func TestRunScrape(t *testing.T) {
	for _, seed := range []uint64{7, 8} {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			cfg := config.Default()
			// 20 model minutes at 1200x: a second of wall time.
			cfg.Speed, cfg.Duration, cfg.BreakCleanup, cfg.Seed = 1200, 20*time.Minute, true, seed
			e := NewExporter(float64(cfg.Speed))
			srv := serve(t, e)

			var (
				wg      sync.WaitGroup
				summary *pipeline.Summary
				runErr  error
			)
			done := make(chan struct{})
			t.Cleanup(wg.Wait) // t.Context() is cancelled first, ending the run if the test failed
			wg.Go(func() {
				defer close(done)
				summary, runErr = pipeline.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), zap.NewNop(), e)
			})

			var mid map[string]*dto.MetricFamily
			poll(t, 30*time.Second, "vmstorm_model_time_seconds > 0 while the run goes", func() bool {
				_, mid = scrape(t, srv)
				return modelTime(mid) > 0
			})
			<-done
			require.NoError(t, runErr)

			// The scrape in the run showed one whole sample: the one of the
			// series at its model time.
			at := make(map[float64]pipeline.Sample)
			for _, s := range summary.Series {
				at[s.T.Seconds()] = s
			}
			s, ok := at[modelTime(mid)]
			require.True(t, ok, "no sample at the scraped model time %v", modelTime(mid))
			assert.Equal(t, want(s), series(mid))
			assert.Less(t, modelTime(mid), summary.Model.Seconds(), "the scrape was taken while the run went, before its end")

			// After the run, the scrape is the last sample, which is the
			// state at the end that the summary accounts for.
			body, end := scrape(t, srv)
			last := summary.Series[len(summary.Series)-1]
			assert.Equal(t, want(last), series(end))
			got := series(end)
			assert.Equal(t, float64(summary.Cluster.VMs), got["vmstorm_vms_true"])
			assert.Equal(t, float64(summary.Cluster.InUse), got["vmstorm_capacity_in_use_vms"])
			assert.Equal(t, float64(cfg.VMs), got["vmstorm_capacity_vms"])
			assert.Equal(t, float64(summary.Queued), got["vmstorm_backlog_jobs"])
			assert.Equal(t, float64(summary.Jobs.Requeues), got["vmstorm_requeues_total"])
			assert.Equal(t, float64(summary.Jobs.Arrived), got[`vmstorm_jobs_total{outcome="arrived"}`])
			assert.Equal(t, float64(summary.Jobs.Completed), got[`vmstorm_jobs_total{outcome="completed"}`])
			assert.Equal(t, float64(summary.Jobs.Failed), got[`vmstorm_jobs_total{outcome="failed"}`])
			assert.Positive(t, got["vmstorm_requeues_total"], "the broken cluster storms within 20 minutes")
			assert.Equal(t, float64(cfg.Speed), end["vmstorm_model_speed"].GetMetric()[0].GetGauge().GetValue())

			// The timeline: each event's count and last time, as applied.
			require.NotEmpty(t, summary.Marks, "a broken run rotates the janitor's password")
			wantEvents, wantLast := map[string]float64{}, map[string]float64{}
			for _, m := range summary.Marks {
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

// TestEverySampleField fails when pipeline.Sample gains a field that no
// metric shows: setting any one field (or array element) must change the
// scrape.
func TestEverySampleField(t *testing.T) {
	collect := func(s pipeline.Sample) map[string]float64 {
		e := NewExporter(1)
		e.Observe(s)
		mfs, err := e.Registry().Gather()
		require.NoError(t, err)
		byName := make(map[string]*dto.MetricFamily)
		for _, mf := range mfs {
			byName[mf.GetName()] = mf
		}
		return series(byName)
	}
	zero := collect(pipeline.Sample{})

	typ := reflect.TypeFor[pipeline.Sample]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		elems := 1
		if f.Type.Kind() == reflect.Array {
			elems = f.Type.Len()
		}
		for j := range elems {
			var s pipeline.Sample
			v := reflect.ValueOf(&s).Elem().Field(i)
			name := f.Name
			if f.Type.Kind() == reflect.Array {
				v, name = v.Index(j), fmt.Sprintf("%s[%d]", f.Name, j)
			}
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
					t.Fatalf("pipeline.Sample.%s is a %s: teach this test to set it", name, v.Type())
				}
				v.Set(reflect.ValueOf([]string{"x"}))
			default:
				t.Fatalf("pipeline.Sample.%s is a %s: teach this test to set it", name, v.Type())
			}
			if reflect.DeepEqual(zero, collect(s)) {
				t.Errorf("pipeline.Sample.%s shows in no metric: add a row for it to sampleFamilies in metrics.go", name)
			}
		}
	}
}

// TestTwoExportersAtOnce: two exporters and servers alive together each
// serve their own run, and before its first sample an exporter shows no
// model state, only what it knows.
func TestTwoExportersAtOnce(t *testing.T) {
	a, b := NewExporter(60), NewExporter(120)
	srvA, srvB := serve(t, a), serve(t, b)

	_, before := scrape(t, srvA)
	assert.Empty(t, series(before), "no model state before the first sample")
	assert.Equal(t, 60.0, before["vmstorm_model_speed"].GetMetric()[0].GetGauge().GetValue())

	a.Observe(pipeline.Sample{T: time.Minute, Capacity: 10, InUse: 3})
	b.Observe(pipeline.Sample{T: 2 * time.Minute, Capacity: 20, InUse: 4})
	a.Mark(pipeline.Mark{T: 30 * time.Second, Name: "cleanup_password_rotated"})

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
		got := series(mfs)
		assert.Equal(t, tc.t, got["vmstorm_model_time_seconds"])
		assert.Equal(t, tc.capacity, got["vmstorm_capacity_vms"])
		assert.Equal(t, tc.use, got["vmstorm_capacity_in_use_vms"])
		assert.Equal(t, tc.speed, mfs["vmstorm_model_speed"].GetMetric()[0].GetGauge().GetValue())
		assert.Len(t, mfs["vmstorm_timeline_events_total"].GetMetric(), tc.events)
	}
}

func TestMarkCountsAndLastTime(t *testing.T) {
	e := NewExporter(1)
	e.Mark(pipeline.Mark{T: 10 * time.Second, Name: "a"})
	e.Mark(pipeline.Mark{T: 20 * time.Second, Name: "b"})
	e.Mark(pipeline.Mark{T: 90 * time.Second, Name: "a"})
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

func TestCheckAddr(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
		says string // in the error
	}{
		{"127.0.0.1:9090", true, ""},
		{"127.0.0.2:0", true, ""},
		{"localhost:9090", true, ""},
		{"LOCALHOST:9090", true, ""},
		{"[::1]:9090", true, ""},
		{"0.0.0.0:9090", true, ""}, // every interface, asked for explicitly
		{"[::]:9090", true, ""},
		{"192.168.1.20:9090", true, ""},
		{":9090", false, "127.0.0.1:9090"},
		{":9090", false, "every interface"},
		{"example.com:9090", false, "127.0.0.1:9090"},
		{"127.0.0.1", false, "host:port"},
		{"9090", false, "host:port"},
		{"", false, "host:port"},
		{"127.0.0.1:http", false, "port number"},
		{"127.0.0.1:65536", false, "port number"},
		{"127.0.0.1:-1", false, "port number"},
	} {
		t.Run(tc.addr+" "+tc.says, func(t *testing.T) {
			err := CheckAddr(tc.addr)
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.says)
			assert.NotContains(t, err.Error(), "\n", "one line")
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
