package live

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/series"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testClock is a clock with no calendar: model times show as T+hh:mm:ss.
func testClock() sim.Clock { return sim.NewManualClock(time.Time{}) }

// row is a row at model time t with the given counts, the rest zero.
func row(t time.Duration, inUse, capacity int64) series.Row {
	return series.Row{Sample: series.Sample{T: t, InUse: inUse, Capacity: capacity, VMs: inUse}}
}

// forced is a View drawing into a buffer as a terminal of the given width,
// redrawing on every sample.
func forced(width int) (*View, *bytes.Buffer) {
	var buf bytes.Buffer
	return New(&buf, testClock(), ForceTerminal(width), RedrawEvery(0)), &buf
}

// erase3 erases a status area of 3 lines with the cursor below it: back to
// the first column, then three times up one line and clear it.
const erase3 = "\r" + "\x1b[1A\x1b[2K" + "\x1b[1A\x1b[2K" + "\x1b[1A\x1b[2K"

func TestEscapeSequences(t *testing.T) {
	v, buf := forced(80)
	w := v.LogWriter()

	_, err := io.WriteString(w, "before any sample\n")
	require.NoError(t, err)
	assert.Equal(t, "before any sample\n", buf.String(), "no status area until there is a sample")
	buf.Reset()

	v.Row(series.Row{Sample: series.Sample{T: 90 * time.Second, VMs: 120, ReportedVMs: 100, InUse: 100, Capacity: 200, Backlog: 7}})
	status := "── T+00:01:30 ──\n" +
		"in use [" + strings.Repeat("█", 14) + strings.Repeat("░", 15) + "] 100/200   VMs true 120   reported 100\n" +
		"backlog 7   requeues 0.0/min   completions 0.0/min\n"
	assert.Equal(t, status, buf.String())
	buf.Reset()

	_, err = io.WriteString(w, "one\ntwo\n")
	require.NoError(t, err)
	assert.Equal(t, erase3+"one\ntwo\n"+status, buf.String(),
		"a log write erases the 3 status lines, writes the lines, then redraws")
	buf.Reset()

	require.NoError(t, v.Close())
	assert.Equal(t, erase3+status, buf.String(), "Close draws the final status once more")
	buf.Reset()

	_, err = io.WriteString(w, "after close\n")
	require.NoError(t, err)
	assert.Equal(t, "after close\n", buf.String(), "after Close, log lines pass through")
}

func TestScreen(t *testing.T) {
	type step struct {
		log  string      // written to LogWriter, if not empty
		row  *series.Row // watched, if not nil
		mark string      // marked, if not empty
	}
	s := func(t time.Duration, inUse int64) *series.Row {
		x := row(t, inUse, 200)
		return &x
	}
	tests := []struct {
		name  string
		steps []step
		logs  []string // the screen's lines above the status area
		head  string   // the status area's first line
	}{
		{
			name:  "logs before and after samples",
			steps: []step{{log: "a\n"}, {row: s(10*time.Second, 1)}, {log: "b\nc\n"}, {row: s(20*time.Second, 2)}, {log: "d\n"}},
			logs:  []string{"a", "b", "c", "d"},
			head:  "── T+00:00:20 ──",
		},
		{
			name:  "a line written in pieces is shown whole",
			steps: []step{{row: s(10*time.Second, 1)}, {log: "hel"}, {row: s(20*time.Second, 2)}, {log: "lo\nwor"}, {log: "ld\n"}},
			logs:  []string{"hello", "world"},
			head:  "── T+00:00:20 ──",
		},
		{
			name:  "a partial line is finished by Close",
			steps: []step{{row: s(10*time.Second, 1)}, {log: "no newline"}},
			logs:  []string{"no newline"},
			head:  "── T+00:00:10 ──",
		},
		{
			name:  "last mark shows",
			steps: []step{{mark: "early"}, {row: s(10*time.Second, 1)}, {log: "x\n"}, {mark: "cleanup_password_rotated"}},
			logs:  []string{"x"},
			head:  "── T+00:00:10 ── last event: cleanup_password_rotated",
		},
		{
			name: "the phase and the last mark show",
			steps: []step{
				{row: &series.Row{Sample: series.Sample{T: 10 * time.Second, Capacity: 200}, Phase: analysis.PhaseHealthy}},
				{mark: "cleanup_password_rotated"},
				{log: "x\n"},
				{row: &series.Row{Sample: series.Sample{T: 20 * time.Second, Capacity: 200}, Phase: analysis.PhaseStorm}},
			},
			logs: []string{"x"},
			head: "── T+00:00:20 ── phase: storm ── last event: cleanup_password_rotated",
		},
		{
			name: "what changes at a sample is the last event too",
			steps: []step{
				{mark: "rotate_cleanup_password"},
				{row: &series.Row{Sample: series.Sample{T: 10 * time.Second, Capacity: 200}, Changes: []series.Change{{Event: "cluster_full"}}}},
				{log: "x\n"},
				{row: &series.Row{Sample: series.Sample{T: 20 * time.Second, Capacity: 200}, Phase: analysis.PhaseStorm,
					Changes: []series.Change{{Event: "alert_firing", Name: "requeue_rate_high"}, {Event: "phase_changed", Name: analysis.PhaseStorm}}}},
			},
			logs: []string{"x"},
			head: "── T+00:00:20 ── phase: storm ── last event: alert_firing requeue_rate_high",
		},
		{
			name:  "many redraws in a row leave one status area",
			steps: []step{{log: "a\n"}, {row: s(10*time.Second, 1)}, {row: s(20*time.Second, 2)}, {row: s(30*time.Second, 3)}, {log: "b\n"}, {row: s(40*time.Second, 4)}},
			logs:  []string{"a", "b"},
			head:  "── T+00:00:40 ──",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, buf := forced(80)
			for _, st := range tt.steps {
				if st.log != "" {
					_, err := io.WriteString(v.LogWriter(), st.log)
					require.NoError(t, err)
				}
				if st.row != nil {
					v.Row(*st.row)
				}
				if st.mark != "" {
					v.Mark(series.Mark{Name: st.mark})
				}
			}
			require.NoError(t, v.Close())

			scr := newScreen(t, buf.String())
			lines := scr.lines()
			require.Len(t, lines, len(tt.logs)+3, "log lines, then one status area of 3 lines:\n%s", strings.Join(lines, "\n"))
			assert.Equal(t, tt.logs, lines[:len(tt.logs)])
			assert.Equal(t, tt.head, lines[len(tt.logs)])
			assert.True(t, strings.HasPrefix(lines[len(tt.logs)+1], "in use ["), lines[len(tt.logs)+1])
			assert.True(t, strings.HasPrefix(lines[len(tt.logs)+2], "backlog "), lines[len(tt.logs)+2])
			assert.True(t, scr.cursorBelow(), "the cursor is left below the status area")
		})
	}
}

func TestLinesClippedToWidth(t *testing.T) {
	for _, width := range []int{1, 2, 10, 20, 40, 80, 100, 300} {
		t.Run(fmt.Sprint(width), func(t *testing.T) {
			v, buf := forced(width)
			v.Mark(series.Mark{Name: strings.Repeat("very_long_event_name_", 20)})
			v.Row(series.Row{
				Sample: series.Sample{
					T: 99 * time.Hour, VMs: 1 << 40, ReportedVMs: 1 << 40, InUse: 1 << 40, Capacity: 1 << 41,
					Backlog: 1 << 40, Requeues: 1 << 40, Completed: 1 << 40,
				},
				Rates: series.Rates{Requeues: 1 << 40, Completions: 1 << 40},
			})
			require.NoError(t, v.Close())
			lines := newScreen(t, buf.String()).lines()
			require.Len(t, lines, 3)
			for _, l := range lines {
				assert.LessOrEqual(t, utf8.RuneCountInString(l), width-1, "%q", l)
			}
			if width >= 300 {
				assert.True(t, strings.HasSuffix(lines[1], "VMs true 1099511627776   reported 1099511627776"),
					"a wide enough terminal shows the whole gauge line: %q", lines[1])
			}
		})
	}
}

// The bar shrinks before the numbers next to it are clipped.
func TestGaugeLineFits(t *testing.T) {
	tests := []struct {
		width     int
		vms, rep  int64
		wantCells int
	}{
		{60, 4178, 0, 10}, // the README's broken run at its end
		{80, 41780, 1234, 29},
		{100, 41780, 1234, 40},
		{200, 41780, 1234, 40},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.width), func(t *testing.T) {
			v, buf := forced(tt.width)
			v.Row(series.Row{Sample: series.Sample{T: time.Hour, VMs: tt.vms, ReportedVMs: tt.rep, InUse: 200, Capacity: 200}})
			require.NoError(t, v.Close())
			lines := newScreen(t, buf.String()).lines()
			require.Len(t, lines, 3)
			want := fmt.Sprintf("in use [%s] 200/200   VMs true %d   reported %d", strings.Repeat("█", tt.wantCells), tt.vms, tt.rep)
			assert.Equal(t, want, lines[1])
		})
	}
}

func TestBar(t *testing.T) {
	tests := []struct {
		name            string
		inUse, capacity int64
		want            string
	}{
		{"empty", 0, 200, "[░░░░░░░░░░]"},
		{"half", 100, 200, "[█████░░░░░]"},
		{"rounded down", 199, 200, "[█████████░]"},
		{"full", 200, 200, "[██████████]"},
		{"over capacity", 250, 200, "[██████████]"},
		{"negative", -5, 200, "[░░░░░░░░░░]"},
		{"no capacity", 5, 0, "[░░░░░░░░░░]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, bar(tt.inUse, tt.capacity, 10))
		})
	}
	assert.Equal(t, "[]", bar(1, 2, 0))
	assert.Equal(t, "[]", bar(1, 2, -3), "a negative width must not panic")
}

func TestBarInStatus(t *testing.T) {
	v, buf := forced(80) // 80 columns: 29 cells
	v.Row(row(time.Minute, 230, 200))
	require.NoError(t, v.Close())
	lines := newScreen(t, buf.String()).lines()
	require.Len(t, lines, 3)
	assert.Equal(t, "in use ["+strings.Repeat("█", 29)+"] 230/200   VMs true 230   reported 0", lines[1])
}

// TestRatesAreTheRows: the view shows the rates the analysis put in the
// row, to one decimal, and derives none from the totals.
func TestRatesAreTheRows(t *testing.T) {
	tests := []struct {
		name  string
		row   series.Row
		rates string
	}{
		{"none yet", series.Row{Sample: series.Sample{T: 10 * time.Second, Requeues: 50, Completed: 5}}, "requeues 0.0/min   completions 0.0/min"},
		{"to one decimal", series.Row{Sample: series.Sample{T: time.Minute}, Rates: series.Rates{Requeues: 89.26, Completions: 6.04}},
			"requeues 89.3/min   completions 6.0/min"},
		{"whatever the totals say", series.Row{Sample: series.Sample{T: time.Minute, Requeues: 1000, Completed: 1000}, Rates: series.Rates{Requeues: 2, Completions: 1}},
			"requeues 2.0/min   completions 1.0/min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, buf := forced(100)
			v.Row(tt.row)
			require.NoError(t, v.Close())
			lines := newScreen(t, buf.String()).lines()
			require.Len(t, lines, 3)
			assert.Equal(t, "backlog 0   "+tt.rates, lines[2])
		})
	}
}

// TestRatesFromTheAnalysis: watching a run through the analysis (a window
// of a minute here), the view shows at each sample the rates over the
// window before it.
func TestRatesFromTheAnalysis(t *testing.T) {
	type obs struct {
		t                   time.Duration
		requeues, completed int64
		wantReq, wantCompl  string
	}
	// steady is a sample every 10s up to T=2m: 15 requeues and 1
	// completion each, 90 and 6 a minute.
	steady := func() []obs {
		var seq []obs
		for i := int64(1); i <= 12; i++ {
			seq = append(seq, obs{t: time.Duration(i) * 10 * time.Second, requeues: 15 * i, completed: i, wantReq: "90.0", wantCompl: "6.0"})
		}
		return seq
	}
	tests := []struct {
		name string
		seq  []obs
	}{
		{"first sample counts from zero at T=0", []obs{
			{t: 10 * time.Second, requeues: 5, completed: 1, wantReq: "30.0", wantCompl: "6.0"},
		}},
		{"samples a window or more apart: between consecutive samples", []obs{
			{t: time.Minute, requeues: 10, completed: 3, wantReq: "10.0", wantCompl: "3.0"},
			{t: 2 * time.Minute, requeues: 40, completed: 3, wantReq: "30.0", wantCompl: "0.0"},
			{t: 5 * time.Minute, requeues: 100, completed: 9, wantReq: "20.0", wantCompl: "2.0"},
		}},
		{"closer samples: over the last window", []obs{
			{t: 10 * time.Second, requeues: 15, completed: 1, wantReq: "90.0", wantCompl: "6.0"},
			{t: 20 * time.Second, requeues: 30, completed: 2, wantReq: "90.0", wantCompl: "6.0"},
			{t: 60 * time.Second, requeues: 90, completed: 6, wantReq: "90.0", wantCompl: "6.0"},
			// From T=10s, the newest sample a minute old: (90-15)/1m.
			{t: 70 * time.Second, requeues: 90, completed: 7, wantReq: "75.0", wantCompl: "6.0"},
			// From T=60s: nothing requeued since.
			{t: 120 * time.Second, requeues: 90, completed: 12, wantReq: "0.0", wantCompl: "6.0"},
		}},
		{"steady rates stay steady", steady()},
		{"a last sample just after the one before keeps a window's rate", append(steady(),
			// The run's end sample: half a second later, nothing new. From
			// T=60s: 90 requeues and 6 completions in 1m0.5s.
			obs{t: 120*time.Second + 500*time.Millisecond, requeues: 180, completed: 12, wantReq: "89.3", wantCompl: "6.0"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Window = time.Minute
			v, buf := forced(100)
			an := analysis.New(cfg, incident.Classify, nil, v)
			for i, o := range tt.seq {
				buf.Reset()
				an.Sample(series.Sample{T: o.t, Requeues: o.requeues, Completed: o.completed, Capacity: 200})
				lines := newScreen(t, buf.String()).lines()
				require.NotEmpty(t, lines, "sample %d redrew", i)
				assert.Equal(t, fmt.Sprintf("backlog 0   requeues %s/min   completions %s/min", o.wantReq, o.wantCompl),
					lines[len(lines)-1], "sample %d at %v", i, o.t)
			}
			require.NoError(t, v.Close())
		})
	}
}

// The throttle runs on the wall clock; synctest's fake clock moves it
// exactly, with no real waiting.
func TestRedrawThrottle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		v := New(&buf, testClock(), ForceTerminal(80)) // the default 100ms
		observe := func(sec int) string {
			buf.Reset()
			v.Row(row(time.Duration(sec)*time.Second, int64(sec), 200))
			return buf.String()
		}

		assert.Contains(t, observe(10), "T+00:00:10", "the first sample draws at once")
		assert.Empty(t, observe(20), "within 100ms nothing is drawn")
		time.Sleep(99 * time.Millisecond)
		assert.Empty(t, observe(30), "still within 100ms")
		time.Sleep(time.Millisecond)
		out := observe(40)
		assert.Contains(t, out, "T+00:00:40", "after 100ms the newest sample is drawn")
		assert.True(t, strings.HasPrefix(out, erase3), "erasing the old area first: %q", out)

		time.Sleep(50 * time.Millisecond)
		buf.Reset()
		_, err := io.WriteString(v.LogWriter(), "log\n")
		require.NoError(t, err)
		assert.Contains(t, buf.String(), "T+00:00:40", "a log write always redraws")
		time.Sleep(50 * time.Millisecond)
		assert.Empty(t, observe(50), "the log write's redraw restarted the 100ms")

		v.Mark(series.Mark{Name: "m"})
		assert.Empty(t, buf.String(), "marks are throttled too")

		buf.Reset()
		require.NoError(t, v.Close())
		assert.Contains(t, buf.String(), "T+00:00:50 ── last event: m", "Close draws what the throttle held back")
	})
}

func TestNotATerminal(t *testing.T) {
	pr, pw, err := os.Pipe()
	require.NoError(t, err)
	defer pr.Close()
	var buf bytes.Buffer

	tests := []struct {
		name string
		out  io.Writer
		read func() string
	}{
		{"buffer", &buf, buf.String},
		{"pipe", pw, func() string {
			require.NoError(t, pw.Close())
			b, err := io.ReadAll(pr)
			require.NoError(t, err)
			return string(b)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := New(tt.out, testClock(), RedrawEvery(0))
			w := v.LogWriter()
			assert.True(t, w == tt.out, "LogWriter is out itself")
			in := "first line\npartial"
			_, err := io.WriteString(w, in)
			require.NoError(t, err)
			v.Mark(series.Mark{Name: "m"})
			v.Row(row(time.Minute, 10, 200))
			require.NoError(t, v.Close())
			assert.Equal(t, in, tt.read(), "bytes pass through unchanged, and nothing else is written")
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	const writers, perWriter, samples = 8, 200, 500
	v, buf := forced(100)
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			w := v.LogWriter()
			for i := range perWriter {
				// One write a line, as zap does.
				_, _ = fmt.Fprintf(w, "g%d line %d\n", g, i)
			}
		})
	}
	wg.Go(func() {
		for i := range samples {
			v.Row(row(time.Duration(i+1)*time.Second, int64(i), 1000))
		}
	})
	wg.Go(func() {
		for i := range 50 {
			v.Mark(series.Mark{Name: fmt.Sprintf("mark_%d", i)})
		}
	})
	wg.Wait()
	require.NoError(t, v.Close())

	lines := newScreen(t, buf.String()).lines()
	require.Len(t, lines, writers*perWriter+3)
	next := make(map[int]int)
	for _, l := range lines[:writers*perWriter] {
		var g, i int
		_, err := fmt.Sscanf(l, "g%d line %d", &g, &i)
		require.NoError(t, err, "a whole log line: %q", l)
		assert.Equal(t, next[g], i, "goroutine %d's lines in order", g)
		next[g] = i + 1
	}
	assert.Len(t, next, writers)
	assert.Equal(t, "── T+00:08:20 ── last event: mark_49", lines[writers*perWriter], "the final status shows the last sample and mark")
}
