package report_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/cluster"
	"vmstorm/pipeline"
	"vmstorm/report"
)

// header is the CSV header as documented on SeriesWriter: scripts depend on
// it, so a change here must be deliberate.
var header = []string{
	"model_s", "vms_true", "vms_reported", "capacity", "in_use",
	"vms_cloned", "vms_booting", "vms_running", "vms_finished", "vms_orphaned", "vms_never_booted",
	"backlog", "arrived_total", "completed_total", "failed_total", "requeues_total", "in_flight",
	"busy_build", "busy_run", "busy_cleanup",
	"cpu_in_use", "cpu_capacity", "oldest_wait_s", "rate_limited_total", "queues_paused",
	"phase", "alerts_firing",
}

// TestHeaderIsDocumented keeps SeriesWriter's doc comment, where readers
// of the CSV look for the header, true to the code.
func TestHeaderIsDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "series.go", nil, parser.ParseComments)
	require.NoError(t, err)
	var doc string
	ast.Inspect(f, func(n ast.Node) bool {
		if d, ok := n.(*ast.GenDecl); ok && d.Tok == token.TYPE {
			if ts, ok := d.Specs[0].(*ast.TypeSpec); ok && ts.Name.Name == "SeriesWriter" {
				doc = d.Doc.Text()
			}
		}
		return true
	})
	require.NotEmpty(t, doc, "SeriesWriter has a doc comment")
	var documented []string
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(line, "\t") {
			documented = append(documented, strings.TrimSpace(line))
		}
	}
	assert.Equal(t, strings.Join(header, ","), strings.Join(documented, ""), "the header as documented")
}

func TestColumns(t *testing.T) {
	require.Equal(t, header, report.Header())
	cols := report.Columns()
	require.Len(t, cols, len(header))
	for i, c := range cols {
		assert.Equal(t, header[i], c.Name)
		assert.NotEmpty(t, c.Meaning, "column %s is documented", c.Name)
	}
}

// row is what the CSV should hold for s, spelled out field by field rather
// than through the package's column list, so that a column wired to the
// wrong field fails here.
func row(s pipeline.Sample) []string {
	n := []int64{s.VMs, s.ReportedVMs, s.Capacity, s.InUse}
	for _, st := range cluster.States {
		n = append(n, s.ByState[st])
	}
	n = append(n, s.Backlog, s.Arrived, s.Completed, s.Failed, s.Requeues, s.InFlight,
		s.BusyWorkers[0], s.BusyWorkers[1], s.BusyWorkers[2])
	out := []string{strconv.FormatFloat(s.T.Seconds(), 'f', -1, 64)}
	for _, v := range n {
		out = append(out, strconv.FormatInt(v, 10))
	}
	out = append(out, strconv.FormatInt(s.CPUInUse, 10), strconv.FormatInt(s.CPUCapacity, 10),
		strconv.FormatFloat(s.OldestWait.Seconds(), 'f', -1, 64), strconv.FormatInt(s.RateLimited, 10),
		strconv.Itoa(s.Paused), s.Phase, strings.Join(s.Firing, "+"))
	return out
}

// lineCounter checks, at every sample, that the rows before it have all
// reached the underlying writer: the SeriesWriter flushes each row, which
// is what lets `tail -f` follow a run.
type lineCounter struct {
	buf     *bytes.Buffer
	samples int
	behind  int // the first sample at which rows were missing, if any
	lines   int // and the lines written by then
}

func (c *lineCounter) Observe(pipeline.Sample) {
	c.samples++
	// Observers are called in order: the SeriesWriter, before this one, has
	// written the header and a row per sample so far.
	if n := strings.Count(c.buf.String(), "\n"); n != c.samples+1 && c.behind == 0 {
		c.behind, c.lines = c.samples, n
	}
}

func (c *lineCounter) Mark(pipeline.Mark) {}

func TestSeriesWriterWritesEverySample(t *testing.T) {
	var buf bytes.Buffer
	sw := report.NewSeriesWriter(&buf)
	counter := &lineCounter{buf: &buf}
	s := incident(t, nil, sw, counter)
	require.NoError(t, sw.Close())
	require.NoError(t, sw.Err())
	require.Zero(t, counter.behind, "at sample %d, only %d lines had reached the writer", counter.behind, counter.lines)

	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, header, rows[0])
	rows = rows[1:]
	require.Len(t, rows, len(s.Series), "one row per sample")
	assert.Equal(t, len(s.Series), counter.samples)
	for i, smp := range s.Series {
		require.Equal(t, row(smp), rows[i], "row %d", i)
	}

	// The last row is the state at the end, as the summary accounts for it.
	last := map[string]string{}
	for i, name := range header {
		last[name] = rows[len(rows)-1][i]
	}
	final := map[string]int64{
		"vms_true":         s.Cluster.VMs,
		"vms_reported":     s.Janitor.Reported,
		"in_use":           s.Cluster.InUse,
		"vms_never_booted": s.Cluster.ByState[cluster.NeverBooted],
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

func TestSeriesWriterErrors(t *testing.T) {
	smp := pipeline.Sample{T: 10 * time.Second, VMs: 3, Capacity: 200}
	headerLen := len(strings.Join(header, ",")) + 1
	rowLen := len(strings.Join(row(smp), ",")) + 1
	tests := []struct {
		name    string
		accept  int // bytes the writer takes before it fails
		samples int
		wantErr bool
	}{
		{"header fails", 0, 1, true},
		{"first row fails", headerLen, 1, true},
		{"a later row fails", headerLen + rowLen + 10, 3, true},
		{"no samples: Close writes the header", headerLen, 0, false},
		{"no samples, header fails on Close", 5, 0, true},
		{"all rows fit", 1 << 20, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := &failingWriter{n: tt.accept}
			sw := report.NewSeriesWriter(w)
			for range tt.samples {
				sw.Observe(smp) // must not panic after a failure
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

func TestSeriesWriterAfterClose(t *testing.T) {
	var buf bytes.Buffer
	sw := report.NewSeriesWriter(&buf)
	sw.Observe(pipeline.Sample{T: 10 * time.Second})
	sw.Mark(pipeline.Mark{T: 5 * time.Second, Name: "x"})
	require.NoError(t, sw.Close())
	before := buf.String()
	sw.Observe(pipeline.Sample{T: 20 * time.Second})
	assert.Equal(t, before, buf.String(), "rows after Close are dropped")
	assert.Equal(t, 2, strings.Count(before, "\n"), "the header and one row; a mark writes nothing")
}
