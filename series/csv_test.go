package series_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/internal/vmstate"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/series"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// header is the CSV header: scripts read the CSV by it, so a change here
// must be deliberate. Columns are only ever added at the end.
var header = []string{
	"model_s", "vms_true", "vms_reported", "capacity", "in_use",
	"vms_cloned", "vms_booting", "vms_running", "vms_finished", "vms_orphaned", "vms_never_booted",
	"backlog", "arrived_total", "completed_total", "failed_total", "requeues_total", "in_flight",
	"busy_build", "busy_run", "busy_cleanup",
	"cpu_in_use", "cpu_capacity", "oldest_wait_s", "rate_limited_total", "queues_paused",
	"phase", "alerts_firing",
	// Added with issue 9.
	"queues_reduced", "janitor_failing", "marks", "model_time",
	// Added with issue 11: the mitigations.
	"failed_budget_total", "shed_total", "backing_off", "breaker_state", "retry_tokens", "reaped_total", "janitor_age_s",
	// Added with issue 21: what judges the run, on the first row.
	"settings",
}

// olderHeader is the header of a series written before issue 9.
var olderHeader = header[:27]

func TestColumns(t *testing.T) {
	require.Equal(t, header, series.Header())
	cols := series.Columns()
	require.Len(t, cols, len(header))
	for i, c := range cols {
		assert.Equal(t, header[i], c.Name)
		assert.NotEmpty(t, c.Meaning, "column %s is documented", c.Name)
	}
}

// TestWriterDocIsTrue keeps Writer's doc comment, where readers of the CSV
// look for what each column holds, true to the code: the columns it names
// are spelled as it says, and every other column is an integer count.
func TestWriterDocIsTrue(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "csv.go", nil, parser.ParseComments)
	require.NoError(t, err)
	var doc string
	ast.Inspect(f, func(n ast.Node) bool {
		if d, ok := n.(*ast.GenDecl); ok && d.Tok == token.TYPE {
			if ts, ok := d.Specs[0].(*ast.TypeSpec); ok && ts.Name.Name == "Writer" {
				doc = d.Doc.Text()
			}
		}
		return true
	})
	require.NotEmpty(t, doc, "Writer has a doc comment")
	doc = strings.Join(strings.Fields(doc), " ")

	// kind is how the doc says each column is spelled: a decimal (seconds),
	// a name (string), true or false (bool), or written from elsewhere than
	// the row (none).
	kind := map[string]string{
		"phase": "string", "alerts_firing": "string", "janitor_failing": "bool",
		"marks": "none", "model_time": "none", "retry_tokens": "float64", "settings": "none",
	}
	for name := range kind {
		assert.Contains(t, doc, name, "the doc says how %s is spelled", name)
	}
	for _, says := range []string{"model_s and the columns ending in _s are seconds, decimals", "every other column is an integer count", "Header()"} {
		assert.Contains(t, doc, says)
	}
	row := series.Row{Phase: "storm", Firing: []string{"a"}, Sample: series.Sample{JanitorFailing: true}}
	for _, c := range series.Columns() {
		want, ok := kind[c.Name]
		switch {
		case ok:
		case strings.HasSuffix(c.Name, "_s"):
			want = "seconds"
		default:
			want = "int64"
		}
		v, has := c.Value(row)
		got := "none"
		if has {
			switch v.(type) {
			case int64:
				got = "int64"
			case series.Seconds:
				got = "seconds"
			case float64:
				got = "float64"
			case string:
				got = "string"
			case bool:
				got = "bool"
			default:
				got = "other"
			}
		}
		assert.Equal(t, want, got, "column %s", c.Name)
	}
}

// csvRow is what the CSV should hold for r, with the marks written since
// the row before and its calendar time, spelled out field by field rather
// than through the package's column list, so that a column wired to the
// wrong field fails here.
func csvRow(r series.Row, marks, modelTime string) []string {
	n := []int64{r.VMs, r.ReportedVMs, r.Capacity, r.InUse}
	for _, st := range vmstate.States {
		n = append(n, r.ByState[st])
	}
	n = append(n, r.Backlog, r.Arrived, r.Completed, r.Failed, r.Requeues, r.InFlight,
		r.BusyWorkers[0], r.BusyWorkers[1], r.BusyWorkers[2])
	out := []string{strconv.FormatFloat(r.T.Seconds(), 'f', -1, 64)}
	for _, v := range n {
		out = append(out, strconv.FormatInt(v, 10))
	}
	return append(out, strconv.FormatInt(r.CPUInUse, 10), strconv.FormatInt(r.CPUCapacity, 10),
		strconv.FormatFloat(r.OldestWait.Seconds(), 'f', -1, 64), strconv.FormatInt(r.RateLimited, 10),
		strconv.Itoa(r.Paused), r.Phase, strings.Join(r.Firing, "+"),
		strconv.Itoa(r.ReducedQueues), strconv.FormatBool(r.JanitorFailing), marks, modelTime,
		strconv.FormatInt(r.FailedByBudget, 10), strconv.FormatInt(r.Shed, 10), strconv.FormatInt(r.BackingOff, 10),
		strconv.FormatInt(r.Breaker, 10), strconv.FormatFloat(r.RetryTokens, 'f', -1, 64), strconv.FormatInt(r.Reaped, 10),
		strconv.FormatFloat(r.JanitorAge.Seconds(), 'f', -1, 64), "")
}

// recorder keeps every row and mark of a run, and for each row the marks
// that came since the row before, as the marks column spells them.
type recorder struct {
	rows        []series.Row
	marks       []series.Mark
	pending     []string
	marksBefore []string
}

func (r *recorder) Row(x series.Row) {
	r.rows = append(r.rows, x)
	r.marksBefore = append(r.marksBefore, strings.Join(r.pending, "+"))
	r.pending = nil
}

func (r *recorder) Mark(m series.Mark) {
	r.marks = append(r.marks, m)
	r.pending = append(r.pending, m.Name+"@"+strconv.FormatFloat(m.T.Seconds(), 'f', -1, 64))
}

// lineCounter checks, at every row, that the rows before it have all
// reached the underlying writer: the Writer flushes each row, which is
// what lets `tail -f` follow a run.
type lineCounter struct {
	buf    *bytes.Buffer
	rows   int
	behind int // the first row at which lines were missing, if any
	lines  int // and the lines written by then
}

func (c *lineCounter) Row(series.Row) {
	c.rows++
	// Watchers are called in order: the Writer, before this one, has
	// written the header and a line per row so far.
	if n := strings.Count(c.buf.String(), "\n"); n != c.rows+1 && c.behind == 0 {
		c.behind, c.lines = c.rows, n
	}
}

func (c *lineCounter) Mark(series.Mark) {}

// incidentConfig is the 2015 incident for a model hour, unpaced: the
// janitor's password is rotated at 10 minutes, an operator restarts the
// janitor at 40, and sets the stall chance to zero at 10 (two events at one
// time, in one row's marks).
func incidentConfig(epoch time.Time) config.Config {
	cfg := config.Default()
	cfg.Seed = 42
	cfg.BreakCleanup, cfg.BreakAt = true, 10*time.Minute
	cfg.Speed = sim.Max
	cfg.Epoch = epoch
	zero := 0.0
	cfg.Timeline = incident.Timeline{
		{At: 10 * time.Minute, Action: "set_stall_chance", Args: incident.Args{Fraction: &zero}},
		{At: 40 * time.Minute, Action: "restart_janitor"},
	}
	return cfg
}

func run(t *testing.T, cfg config.Config, watchers ...series.Watcher) *outcome.Outcome {
	t.Helper()
	out, err := outcome.Run(t.Context(), cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{Watchers: watchers})
	require.NoError(t, err)
	require.NotNil(t, out)
	require.True(t, out.Analysis.Storm.Happened, "the broken janitor should cause a requeue storm")
	return out
}

func TestWriterWritesEveryRow(t *testing.T) {
	tests := []struct {
		name  string
		epoch time.Time
	}{
		{"no epoch", time.Time{}},
		{"on the incident's calendar", time.Date(2015, 8, 4, 17, 3, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			sw := series.NewWriter(&buf, tt.epoch)
			counter, rec := &lineCounter{buf: &buf}, &recorder{}
			o := run(t, incidentConfig(tt.epoch), sw, counter, rec)
			require.NoError(t, sw.Close())
			require.NoError(t, sw.Err())
			require.Zero(t, counter.behind, "at row %d, only %d lines had reached the writer", counter.behind, counter.lines)

			lines, err := csv.NewReader(&buf).ReadAll()
			require.NoError(t, err)
			require.Equal(t, header, lines[0])
			lines = lines[1:]
			require.Len(t, lines, len(rec.rows), "one line per row")
			assert.Equal(t, len(rec.rows), counter.rows)
			marked := 0
			for i, r := range rec.rows {
				modelTime := ""
				if !tt.epoch.IsZero() {
					modelTime = tt.epoch.Add(r.T).UTC().Format(time.RFC3339Nano)
				}
				require.Equal(t, csvRow(r, rec.marksBefore[i], modelTime), lines[i], "row %d", i)
				if rec.marksBefore[i] != "" {
					marked++
				}
			}
			assert.Equal(t, "set_stall_chance@600+rotate_cleanup_password@600", rec.marksBefore[59],
				"the row at 10 minutes has both events at 10 minutes, in order")
			assert.Equal(t, 2, marked, "two rows have marks: at 10 and at 40 minutes")

			// The last row is the state at the end, as the summary accounts
			// for it.
			s := o.Summary
			last := map[string]string{}
			for i, name := range header {
				last[name] = lines[len(lines)-1][i]
			}
			final := map[string]int64{
				"vms_true":         s.Cluster.VMs,
				"vms_reported":     s.Janitor.Reported,
				"in_use":           s.Cluster.InUse,
				"vms_never_booted": s.Cluster.ByState[vmstate.NeverBooted],
				"backlog":          s.Queued,
				"arrived_total":    s.Jobs.Arrived,
				"completed_total":  s.Jobs.Completed,
				"failed_total":     s.Jobs.Failed,
				"requeues_total":   s.Jobs.Requeues,
				"in_flight":        s.Jobs.InFlight,
			}
			for name, want := range final {
				assert.Equal(t, strconv.FormatInt(want, 10), last[name], "last row, %s", name)
			}
			modelS, err := strconv.ParseFloat(last["model_s"], 64)
			require.NoError(t, err)
			assert.Equal(t, s.Model, time.Duration(modelS*float64(time.Second)))
		})
	}
}

// TestRoundTrip: a run's rows written by a Writer and read back by Read
// are the same samples, with the same phase and alerts, and the same marks
// (without their notes, which the file does not keep), and the run's
// epoch; and the analysis of the series read back says what the run's own
// said of it.
func TestRoundTrip(t *testing.T) {
	epoch := time.Date(2015, 8, 4, 17, 3, 0, 0, time.UTC)
	cfg := incidentConfig(epoch)
	var buf bytes.Buffer
	sw := series.NewWriter(&buf, epoch)
	rec := &recorder{}
	o := run(t, cfg, sw, rec)
	require.NoError(t, sw.Close())

	rows, marks, gotEpoch, err := series.Read(&buf)
	require.NoError(t, err)
	assert.True(t, epoch.Equal(gotEpoch), "epoch %v, want %v", gotEpoch, epoch)
	require.Len(t, rows, len(rec.rows))
	for i, r := range rec.rows {
		require.Equal(t, r.Sample, rows[i].Sample, "row %d", i)
		require.Equal(t, r.Phase, rows[i].Phase, "row %d", i)
		require.Equal(t, r.Firing, rows[i].Firing, "row %d", i)
	}
	var want []series.Mark
	for _, m := range rec.marks {
		want = append(want, series.Mark{T: m.T, Name: m.Name})
	}
	assert.Equal(t, want, marks)

	got := analysis.Replay(cfg, incident.Classify, nil, rows, marks)
	assert.Equal(t, o.Analysis.Phases, got.Phases)
	assert.Equal(t, o.Analysis.Storm, got.Storm)
	assert.Equal(t, o.Analysis.Incident, got.Incident)
	assert.Equal(t, o.Analysis.Alerts, got.Alerts)
	assert.Equal(t, o.Analysis.FirstFired, got.FirstFired)
	assert.Equal(t, o.Analysis.End, got.End)
	assert.Equal(t, o.Analysis.Totals, got.Totals)
}

// TestRoundTripOfEveryField: every field of a row, at any model time to
// the nanosecond, reads back as it was written.
func TestRoundTripOfEveryField(t *testing.T) {
	full := series.Row{
		Sample: series.Sample{
			T: time.Hour + 143503440*time.Nanosecond, VMs: 1, ReportedVMs: 2, InUse: 3, Capacity: 4, CPUInUse: 5, CPUCapacity: 6,
			ByState: [len(vmstate.States)]int64{7, 8, 9, 10, 11, 12}, Backlog: 13, OldestWait: 1234567891 * time.Nanosecond,
			Arrived: 14, Completed: 15, Failed: 16, Requeues: 17, RateLimited: 18, InFlight: 19,
			BusyWorkers: [3]int64{20, 21, 22}, Paused: 2, ReducedQueues: 1, JanitorFailing: true,
		},
		Phase: analysis.PhaseSilentLeak, Firing: []string{analysis.AlertRequeueRate, analysis.AlertBacklogAge},
	}
	tests := []struct {
		name string
		rows []series.Row
	}{
		{"every field set", []series.Row{full}},
		{"zero", []series.Row{{}}},
		{"odd times", []series.Row{
			{Sample: series.Sample{T: 1}}, {Sample: series.Sample{T: 999999999, OldestWait: 59*time.Second + 1}},
			{Sample: series.Sample{T: 95*time.Hour + 7*time.Millisecond + 3, OldestWait: 2*time.Hour + 1}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			sw := series.NewWriter(&buf, time.Time{})
			for _, r := range tt.rows {
				sw.Row(r)
			}
			require.NoError(t, sw.Close())
			rows, marks, epoch, err := series.Read(&buf)
			require.NoError(t, err)
			assert.Equal(t, tt.rows, rows)
			assert.Empty(t, marks)
			assert.True(t, epoch.IsZero())
		})
	}
}

// TestSettingsOnTheFirstRow: the settings a Writer is given go on its
// first row alone, and read back as they were; a series without them (an
// older vmstorm's, or one of no rows) has none.
func TestSettingsOnTheFirstRow(t *testing.T) {
	want := url.Values{"window": {"5m0s"}, "scenario": {"my, file.yaml"}, "checks": {"0123456789abcdef"}}
	var buf bytes.Buffer
	sw := series.NewWriter(&buf, time.Time{})
	sw.Settings(want)
	for i := range 3 {
		sw.Row(series.Row{Sample: series.Sample{T: time.Duration(i+1) * time.Minute}})
	}
	require.NoError(t, sw.Close())
	lines, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	require.NoError(t, err)
	at := slices.Index(header, "settings")
	assert.Equal(t, want.Encode(), lines[1][at])
	assert.Empty(t, lines[2][at])
	assert.Empty(t, lines[3][at])
	got, err := series.ReadSettings(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, want, got)
	rows, _, _, err := series.Read(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Len(t, rows, 3, "the settings are no row's data")

	for name, in := range map[string]string{
		"an older vmstorm's": strings.Join(olderHeader, ",") + "\n" + strings.Repeat("0,", len(olderHeader)-1) + "0\n",
		"no rows":            strings.Join(header, ",") + "\n",
	} {
		got, err := series.ReadSettings(strings.NewReader(in))
		require.NoError(t, err, name)
		assert.Nil(t, got, name)
	}
	bad := strings.Join(header, ",") + "\n" + strings.Repeat("0,", len(header)-1) + "%zz\n"
	_, err = series.ReadSettings(strings.NewReader(bad))
	assert.ErrorContains(t, err, "line 2, column settings")
}

func TestReadErrors(t *testing.T) {
	line := func(fields map[string]string) string {
		out := make([]string, len(header))
		for i, h := range header {
			out[i] = "0"
			if v, ok := fields[h]; ok {
				out[i] = v
			}
		}
		out[slices.Index(header, "marks")], out[slices.Index(header, "model_time")] = fields["marks"], fields["model_time"]
		return strings.Join(out, ",")
	}
	head := strings.Join(header, ",")
	tests := []struct {
		name string
		in   string
		says []string
	}{
		{"empty", "", []string{"series: reading the header"}},
		{"no model_s", "vms_true,backlog\n1,2\n", []string{"no model_s column", "not a vmstorm series"}},
		{"too few fields", head + "\n1,2,3\n", []string{"series:", "line 2", "wrong number of fields"}},
		{"a count that is not one", head + "\n" + line(map[string]string{"vms_true": "x"}) + "\n", []string{"line 2", "column vms_true", `"x"`}},
		{"a bad time, on a later line", head + "\n" + line(nil) + "\n" + line(map[string]string{"model_s": "ten"}) + "\n", []string{"line 3", "column model_s", `"ten"`}},
		{"a bad bool", head + "\n" + line(map[string]string{"janitor_failing": "maybe"}) + "\n", []string{"line 2", "column janitor_failing"}},
		{"a bad mark", head + "\n" + line(map[string]string{"marks": "restart_janitor"}) + "\n", []string{"line 2", "column marks", "want name@model_s"}},
		{"a bad mark time", head + "\n" + line(map[string]string{"marks": "restart_janitor@soon"}) + "\n", []string{"line 2", "column marks", "want name@model_s"}},
		{"a bad calendar time", head + "\n" + line(map[string]string{"model_time": "yesterday"}) + "\n", []string{"line 2", "column model_time"}},
		{"a line past MaxLine", head + "\n" + strings.Repeat("9", series.MaxLine+1), []string{"a line longer than 64 KiB: not a vmstorm series"}},
		{"a quoted field over many short lines", head + "\n\"" + strings.Repeat("9\n", series.MaxLine), []string{"a line longer than 64 KiB: not a vmstorm series"}},
		{"a negative time", head + "\n" + line(map[string]string{"model_s": "-10"}) + "\n", []string{"line 2", "column model_s", "a negative time"}},
		{"a time that goes back", head + "\n" + line(map[string]string{"model_s": "20"}) + "\n" + line(map[string]string{"model_s": "10"}) + "\n",
			[]string{"line 3", "column model_s", "10 is not after the row before's 20"}},
		{"two rows at one time, and one after", head + "\n" + line(map[string]string{"model_s": "20"}) + "\n" + line(map[string]string{"model_s": "20"}) + "\n" + line(map[string]string{"model_s": "30"}) + "\n",
			[]string{"line 3", "20 is the time of the row before it", "only its last row, at the run's end, may repeat a time"}},
		{"a time past a duration's range", head + "\n" + line(map[string]string{"model_s": "9999999999"}) + "\n", []string{"line 2", "column model_s", "more seconds than a duration holds"}},
		{"a mark after its row", head + "\n" + line(map[string]string{"model_s": "10", "marks": "restart_janitor@11"}) + "\n",
			[]string{"line 2", "column marks", "restart_janitor@11 is not between the row before (model_s 0) and this one (10)"}},
		{"a mark before the row before", head + "\n" + line(map[string]string{"model_s": "10"}) + "\n" + line(map[string]string{"model_s": "20", "marks": "restart_janitor@5"}) + "\n",
			[]string{"line 3", "column marks", "restart_janitor@5 is not between"}},
		{"a negative wait", head + "\n" + line(map[string]string{"oldest_wait_s": "-1"}) + "\n", []string{"line 2", "column oldest_wait_s", "a negative time"}},
		{"a header past MaxLine, with no line end", strings.Repeat("\x00", 1<<20), []string{"series: reading the header", "a line longer than 64 KiB"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, marks, _, err := series.Read(strings.NewReader(tt.in))
			require.Error(t, err)
			for _, s := range tt.says {
				assert.Contains(t, err.Error(), s)
			}
			assert.NotContains(t, err.Error(), "\n", "one line")
			assert.Nil(t, rows)
			assert.Nil(t, marks)
		})
	}

	t.Run("the last row at the time of the one before: a run's end", func(t *testing.T) {
		in := head + "\n" + line(map[string]string{"model_s": "20", "requeues_total": "3"}) + "\n" + line(map[string]string{"model_s": "20", "requeues_total": "9"}) + "\n"
		rows, _, _, err := series.Read(strings.NewReader(in))
		require.NoError(t, err)
		require.Len(t, rows, 2)
		assert.EqualValues(t, 9, rows[1].Requeues)
	})
}

// TestReadOlderSeries: a series an older vmstorm wrote, without the
// columns added since, reads with those left zero; a series with only a
// header has no rows.
func TestReadOlderSeries(t *testing.T) {
	in := strings.Join(olderHeader, ",") + "\n" +
		"10,5,4,200,3,1,1,1,1,1,0,7,9,2,0,3,1,1,1,0,0,0,120,0,0,silent leak,vm_count_out_of_band\n"
	rows, marks, epoch, err := series.Read(strings.NewReader(in))
	require.NoError(t, err)
	require.Len(t, rows, 1)
	r := rows[0]
	assert.Equal(t, 10*time.Second, r.T)
	assert.Equal(t, int64(5), r.VMs)
	assert.Equal(t, 2*time.Minute, r.OldestWait)
	assert.Equal(t, analysis.PhaseSilentLeak, r.Phase)
	assert.Equal(t, []string{analysis.AlertVMCount}, r.Firing)
	assert.Zero(t, r.ReducedQueues)
	assert.False(t, r.JanitorFailing)
	assert.Empty(t, marks)
	assert.True(t, epoch.IsZero())

	rows, marks, _, err = series.Read(strings.NewReader(strings.Join(header, ",") + "\n"))
	require.NoError(t, err)
	assert.Empty(t, rows)
	assert.Empty(t, marks)
}

// failingWriter accepts n bytes and then fails.
type failingWriter struct{ n int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.n {
		k := w.n
		w.n = 0
		return k, errDiskFull
	}
	w.n -= len(p)
	return len(p), nil
}

func TestWriterErrors(t *testing.T) {
	r := series.Row{Sample: series.Sample{T: 10 * time.Second, VMs: 3, Capacity: 200}}
	headerLen := len(strings.Join(header, ",")) + 1
	rowLen := len(strings.Join(csvRow(r, "", ""), ",")) + 1
	tests := []struct {
		name    string
		accept  int // bytes the writer takes before it fails
		rows    int
		wantErr bool
	}{
		{"header fails", 0, 1, true},
		{"first row fails", headerLen, 1, true},
		{"a later row fails", headerLen + rowLen + 10, 3, true},
		{"no rows: Close writes the header", headerLen, 0, false},
		{"no rows, header fails on Close", 5, 0, true},
		{"all rows fit", 1 << 20, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &failingWriter{n: tt.accept}
			sw := series.NewWriter(w, time.Time{})
			for range tt.rows {
				sw.Row(r) // must not panic after a failure
			}
			err := sw.Close()
			if tt.wantErr {
				require.ErrorIs(t, err, errDiskFull)
				require.ErrorIs(t, sw.Err(), errDiskFull)
				return
			}
			require.NoError(t, err)
			require.NoError(t, sw.Err())
		})
	}
}

func TestWriterAfterClose(t *testing.T) {
	var buf bytes.Buffer
	sw := series.NewWriter(&buf, time.Time{})
	sw.Mark(series.Mark{T: 5 * time.Second, Name: "x"})
	before := buf.String()
	assert.Empty(t, before, "a mark alone writes nothing")
	sw.Row(series.Row{Sample: series.Sample{T: 10 * time.Second}})
	sw.Mark(series.Mark{T: 15 * time.Second, Name: "y"})
	require.NoError(t, sw.Close())
	require.NoError(t, sw.Close(), "Close again says the same")
	before = buf.String()
	sw.Row(series.Row{Sample: series.Sample{T: 20 * time.Second}})
	assert.Equal(t, before, buf.String(), "rows after Close are dropped")
	lines, err := csv.NewReader(strings.NewReader(before)).ReadAll()
	require.NoError(t, err)
	require.Len(t, lines, 2, "the header and one row; a mark after the last row is not written")
	assert.Equal(t, "x@5", lines[1][slices.Index(header, "marks")], "the mark before the row is in its marks column")
}

// Every duration reads back to the nanosecond, including those whose
// decimal, read as a float, falls just below them (1.29195951 s).
func TestDurationsReadBackExactly(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var buf bytes.Buffer
	sw := series.NewWriter(&buf, time.Time{})
	var want []series.Row
	var last time.Duration
	for i := range 20000 {
		d := time.Duration(r.Int64N(int64(1000 * time.Hour)))
		if i == 0 {
			d = 1291959510 // read back 1 ns short before the fix
		}
		last += time.Duration(r.Int64N(int64(time.Hour)))
		row := series.Row{Sample: series.Sample{T: last, OldestWait: d}}
		want = append(want, row)
		sw.Row(row)
	}
	require.NoError(t, sw.Close())
	rows, _, _, err := series.Read(&buf)
	require.NoError(t, err)
	require.Len(t, rows, len(want))
	for i := range want {
		require.Equal(t, want[i].T, rows[i].T, "row %d", i)
		require.Equal(t, want[i].OldestWait, rows[i].OldestWait, "row %d", i)
	}
}

func TestSeconds(t *testing.T) {
	tests := []struct {
		d    time.Duration
		text string
	}{
		{0, "0"}, {time.Second, "1"}, {1291959510, "1.29195951"}, {1, "0.000000001"},
		{87600*time.Hour + 7, "315360000.000000007"}, {-1500 * time.Millisecond, "-1.5"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.text, series.Seconds(tt.d).String())
		got, err := series.ParseSeconds(tt.text)
		require.NoError(t, err)
		assert.Equal(t, tt.d, got, tt.text)
	}
	for text, want := range map[string]time.Duration{"1e3": 1000 * time.Second, "0.1234567891": 123456789, "2.5": 2500 * time.Millisecond} {
		got, err := series.ParseSeconds(text)
		require.NoError(t, err)
		assert.Equal(t, want, got, text)
	}
	for _, bad := range []string{"", "x", "1e300", "NaN", "1.2.3", "9999999999", "9223372036.854775808"} {
		_, err := series.ParseSeconds(bad)
		assert.Error(t, err, bad)
	}
}
