package logx

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/internal/format"
	"vmstorm/internal/sim"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2015, 7, 31, 9, 0, 0, 0, time.UTC)

// lines splits a writer's output into its lines.
func lines(b *bytes.Buffer) []string {
	s := strings.TrimSuffix(b.String(), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// consoleLine is one console line: time column, level, message, fields.
type consoleLine struct {
	time, level, msg, rest string
}

func parseConsole(t *testing.T, b *bytes.Buffer) []consoleLine {
	t.Helper()
	var out []consoleLine
	for _, l := range lines(b) {
		cols := strings.SplitN(l, "\t", 4)
		require.GreaterOrEqual(t, len(cols), 3, "console line %q", l)
		cl := consoleLine{time: cols[0], level: cols[1], msg: cols[2]}
		if len(cols) == 4 {
			cl.rest = cols[3]
		}
		out = append(out, cl)
	}
	return out
}

func parseFile(t *testing.T, b *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range lines(b) {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "file line %q", l)
		out = append(out, m)
	}
	return out
}

func countMsg(ls []consoleLine, msg string) int {
	n := 0
	for _, l := range ls {
		if l.msg == msg {
			n++
		}
	}
	return n
}

type logged struct {
	level zapcore.Level
	msg   string
	at    time.Duration // model time when logged
	name  string        // logger name
}

func TestFileAndConsole(t *testing.T) {
	tests := []struct {
		name  string
		epoch time.Time
		// time column of a line logged at model time t
		consoleTime func(t time.Duration) string
	}{
		{"no epoch", time.Time{}, func(t time.Duration) string {
			t = t.Truncate(time.Second)
			return fmt.Sprintf("T+%02d:%02d:%02d", int(t.Hours()), int(t.Minutes())%60, int(t.Seconds())%60)
		}},
		{"epoch", epoch, func(t time.Duration) string {
			return epoch.Add(t).Format(time.DateTime)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := sim.NewManualClock(tt.epoch)
			var con, file bytes.Buffer
			logs := New(Options{Clock: clock, Console: &con, ConsoleLevel: zapcore.InfoLevel, File: &file})
			lc := Lifecycle(logs.Logger)

			var want []logged
			log := func(l *zap.Logger, level zapcore.Level, msg string) {
				l.Log(level, msg, zap.String("k", msg+"-v"))
				want = append(want, logged{level, msg, clock.Now(), l.Name()})
			}
			log(logs.Logger, zapcore.DebugLevel, "debug_at_start")
			clock.Advance(90 * time.Second)
			log(logs.Logger, zapcore.InfoLevel, "info_90s")
			clock.Advance(time.Hour)
			log(logs.Logger, zapcore.WarnLevel, "warn")
			log(lc, zapcore.DebugLevel, "lifecycle_debug")
			clock.Advance(74*time.Second + 40*time.Millisecond)
			log(lc, zapcore.InfoLevel, "lifecycle_info")
			log(logs.Logger, zapcore.ErrorLevel, "error")
			require.NoError(t, logs.Sync())

			// The file: every line, as JSON, with its model time and no
			// wall-clock time.
			entries := parseFile(t, &file)
			require.Len(t, entries, len(want))
			for i, w := range want {
				e := entries[i]
				assert.Equal(t, w.msg, e["msg"])
				assert.Equal(t, w.level.String(), e["level"])
				assert.Equal(t, w.msg+"-v", e["k"], "fields are kept")
				if w.name != "" {
					assert.Equal(t, w.name, e["logger"])
				}
				assert.NotContains(t, e, "ts", "line %d: entries carry model time only", i)
				require.Contains(t, e, "model_s", "line %d", i)
				assert.InDelta(t, w.at.Seconds(), e["model_s"], 1e-6, "line %d: model_s", i)
				if tt.epoch.IsZero() {
					assert.NotContains(t, e, "model_time")
				} else {
					assert.Equal(t, tt.epoch.Add(w.at).Format(time.RFC3339), e["model_time"])
				}
			}

			// The console: Info and above, model time in the time column.
			cons := parseConsole(t, &con)
			var wantCon []logged
			for _, w := range want {
				if w.level >= zapcore.InfoLevel {
					wantCon = append(wantCon, w)
				}
			}
			require.Len(t, cons, len(wantCon), "console:\n%s", con.String())
			for i, w := range wantCon {
				c := cons[i]
				assert.Equal(t, w.msg, c.msg)
				assert.Equal(t, w.level.CapitalString(), c.level)
				assert.Equal(t, tt.consoleTime(w.at), c.time)
				assert.Contains(t, c.rest, w.msg+"-v")
				assert.NotContains(t, c.rest, "model_s", "model time is the console's time column")
			}
			assert.Zero(t, logs.Dropped())
		})
	}
}

// An entry's time is the model time it was logged at, and ModelTime reads
// it back, whatever the wall clock says.
func TestEntryTimeIsModelTime(t *testing.T) {
	clock := sim.NewManualClock(time.Time{})
	var got []time.Duration
	logs := New(Options{Clock: clock, Console: io.Discard, ConsoleLevel: zapcore.InfoLevel})
	log := logs.WithOptions(zap.Hooks(func(e zapcore.Entry) error {
		got = append(got, ModelTime(e.Time))
		return nil
	}))
	want := []time.Duration{0, 1500 * time.Millisecond, 3*time.Hour + time.Nanosecond}
	for _, at := range want {
		clock.Set(at)
		log.Info("x")
	}
	assert.Equal(t, want, got)
}

func TestConsoleLevel(t *testing.T) {
	levels := []zapcore.Level{zapcore.DebugLevel, zapcore.InfoLevel, zapcore.WarnLevel, zapcore.ErrorLevel}
	for _, minLevel := range levels {
		t.Run(minLevel.String(), func(t *testing.T) {
			clock := sim.NewManualClock(time.Time{})
			var con, file bytes.Buffer
			logs := New(Options{Clock: clock, Console: &con, ConsoleLevel: minLevel, File: &file})
			for _, l := range levels {
				logs.Log(l, "plain_"+l.String())
				Lifecycle(logs.Logger).Log(l, "lifecycle_"+l.String())
			}
			var want []string
			for _, l := range levels {
				if l >= minLevel {
					want = append(want, "plain_"+l.String(), "lifecycle_"+l.String())
				}
			}
			var got []string
			for _, c := range parseConsole(t, &con) {
				got = append(got, c.msg)
			}
			assert.Equal(t, want, got)
			assert.Len(t, lines(&file), 2*len(levels), "the file gets every level")
			assert.Zero(t, logs.Dropped(), "lines below the level are not sampling's drops")
		})
	}
}

// sampledCount is how many of n identical lines in one tick the console
// shows: the first First, then every Thereafter-th.
func sampledCount(n, first, thereafter int) int {
	if n <= first {
		return n
	}
	return first + (n-first)/thereafter
}

// The lines below are all logged at one model time, so in one tick.
func TestLifecycleSampledOnConsole(t *testing.T) {
	const n = 1000
	tests := []struct {
		name                      string
		first, thereafter         int // options; 0 for the defaults
		wantFirst, wantThereafter int
		with                      bool // log through a logger With fields
	}{
		{"defaults", 0, 0, 5, 100, false},
		{"custom", 10, 50, 10, 50, false},
		{"with fields", 0, 0, 5, 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := sim.NewManualClock(time.Time{})
			var con, file bytes.Buffer
			logs := New(Options{
				Clock: clock, Console: &con, ConsoleLevel: zapcore.InfoLevel, File: &file,
				First: tt.first, Thereafter: tt.thereafter,
			})
			lc := Lifecycle(logs.Logger)
			if tt.with {
				lc = lc.With(zap.String("stage", "build"))
			}
			for i := range n {
				lc.Info("vm_started", zap.Int("i", i))
			}
			cons := parseConsole(t, &con)
			shown := countMsg(cons, "vm_started")
			assert.Equal(t, sampledCount(n, tt.wantFirst, tt.wantThereafter), shown)
			assert.Less(t, shown, n/10, "the console shows far fewer")
			assert.Equal(t, int64(n-shown), logs.Dropped(), "Dropped counts the lines left out")
			if tt.with {
				for _, c := range cons {
					assert.Contains(t, c.rest, `"stage": "build"`)
				}
			}

			// The file has every one.
			entries := parseFile(t, &file)
			require.Len(t, entries, n)
			for i, e := range entries {
				require.Equal(t, "vm_started", e["msg"])
				require.EqualValues(t, i, e["i"])
				require.Equal(t, LifecycleLogger, e["logger"])
			}

			// Other lines with one message are never sampled.
			dropped := logs.Dropped()
			con.Reset()
			for i := range n {
				logs.Info("status", zap.Int("i", i))
			}
			assert.Equal(t, n, countMsg(parseConsole(t, &con), "status"))
			assert.Equal(t, dropped, logs.Dropped())
			assert.Len(t, lines(&file), 2*n)
		})
	}
}

func TestLifecycleSamplingIsPerMessage(t *testing.T) {
	clock := sim.NewManualClock(time.Time{})
	var con bytes.Buffer
	logs := New(Options{Clock: clock, Console: &con, ConsoleLevel: zapcore.InfoLevel})
	lc := Lifecycle(logs.Logger)
	const messages, each = 50, 5 // each message within its first 5
	for i := range messages * each {
		lc.Info(fmt.Sprintf("event_%d", i%messages))
	}
	assert.Len(t, lines(&con), messages*each)
	assert.Zero(t, logs.Dropped())
}

// The sampler's tick is model time: a new tick starts when the model's
// clock has moved on by it, and wall time passing between two bursts does
// not start one. synctest's fake clock lets an hour of wall time pass at
// once.
func TestLifecycleSamplingTick(t *testing.T) {
	const burst = 50
	tests := []struct {
		name     string
		tick     time.Duration // option
		model    time.Duration // model time between two bursts
		wall     time.Duration // wall time between two bursts
		wantShow int
	}{
		{"default tick passes", 0, time.Minute, 0, 2 * sampledCount(burst, 5, 100)},
		{"default tick not yet passed", 0, time.Minute - time.Nanosecond, 0, sampledCount(2*burst, 5, 100)},
		{"long tick not passed", 10 * time.Minute, time.Minute, 0, sampledCount(2*burst, 5, 100)},
		{"long tick passes", 10 * time.Minute, 10 * time.Minute, 0, 2 * sampledCount(burst, 5, 100)},
		{"wall time is not the tick", 0, 0, time.Hour, sampledCount(2*burst, 5, 100)},
		{"wall time is not the tick, model time is", 0, time.Minute, time.Hour, 2 * sampledCount(burst, 5, 100)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clock := sim.NewManualClock(time.Time{})
				clock.Set(17 * time.Second) // not a tick's boundary
				var con bytes.Buffer
				logs := New(Options{Clock: clock, Console: &con, ConsoleLevel: zapcore.InfoLevel, Tick: tt.tick})
				lc := Lifecycle(logs.Logger)
				for range burst {
					lc.Info("job_requeued")
				}
				clock.Advance(tt.model)
				time.Sleep(tt.wall)
				for range burst {
					lc.Info("job_requeued")
				}
				shown := len(lines(&con))
				assert.Equal(t, tt.wantShow, shown)
				assert.Equal(t, int64(2*burst-shown), logs.Dropped())
			})
		})
	}
}

func TestConcurrentLogging(t *testing.T) {
	clock := sim.NewManualClock(time.Time{})
	var con, file bytes.Buffer
	logs := New(Options{Clock: clock, Console: &con, ConsoleLevel: zapcore.InfoLevel, File: &file})
	const goroutines, each = 20, 200
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			lc := Lifecycle(logs.Logger)
			for i := range each {
				lc.Info("vm_started", zap.Int("g", g), zap.Int("i", i))
				if i%10 == 0 {
					logs.Info("status", zap.Int("g", g))
				}
			}
		})
	}
	wg.Wait()
	cons := parseConsole(t, &con)
	lifecycle := goroutines * each
	status := goroutines * each / 10
	assert.Equal(t, status, countMsg(cons, "status"))
	assert.Equal(t, int64(lifecycle), int64(countMsg(cons, "vm_started"))+logs.Dropped())
	entries := parseFile(t, &file)
	assert.Len(t, entries, lifecycle+status, "every line reaches the file whole")
}

func TestNewWithoutWriters(t *testing.T) {
	clock := sim.NewManualClock(epoch)
	tests := []struct {
		name          string
		console, file bool
	}{
		{"neither", false, false},
		{"console only", true, false},
		{"file only", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var con, file bytes.Buffer
			o := Options{Clock: clock, ConsoleLevel: zapcore.InfoLevel}
			if tt.console {
				o.Console = &con
			}
			if tt.file {
				o.File = &file
			}
			logs := New(o)
			logs.Info("hello")
			Lifecycle(logs.Logger).Info("vm_started")
			assert.NoError(t, logs.Sync())
			want := func(on bool) int {
				if on {
					return 2
				}
				return 0
			}
			assert.Len(t, lines(&con), want(tt.console))
			assert.Len(t, lines(&file), want(tt.file))
		})
	}
}

// TestConsoleTimeColumn: the console's time column is the entry's model
// time as format.ModelTime spells it on the clock's calendar: from the
// start of the run, truncated to the second, with hours past a day; or the
// calendar time in UTC, whatever the epoch's zone.
func TestConsoleTimeColumn(t *testing.T) {
	pdt := time.FixedZone("PDT", -7*3600)
	inPDT := time.Date(2015, 7, 31, 0, 0, 0, 0, pdt)
	tests := []struct {
		name  string
		epoch time.Time
		t     time.Duration
		want  string
	}{
		{"start", time.Time{}, 0, "T+00:00:00"},
		{"seconds", time.Time{}, 42 * time.Second, "T+00:00:42"},
		{"fraction truncated", time.Time{}, 1999 * time.Millisecond, "T+00:00:01"},
		{"just under an hour", time.Time{}, time.Hour - time.Nanosecond, "T+00:59:59"},
		{"hours", time.Time{}, 3*time.Hour + 4*time.Minute + 5*time.Second, "T+03:04:05"},
		{"more than a day", time.Time{}, 25*time.Hour + time.Minute + time.Second, "T+25:01:01"},
		{"days", time.Time{}, 4 * 24 * time.Hour, "T+96:00:00"},
		{"epoch start", epoch, 0, "2015-07-31 09:00:00"},
		{"epoch later", epoch, 90*time.Minute + 1500*time.Millisecond, "2015-07-31 10:30:01"},
		{"epoch next day", epoch, 4*24*time.Hour + 15*time.Hour, "2015-08-05 00:00:00"},
		{"epoch in another zone is shown in UTC", inPDT, time.Hour, "2015-07-31 08:00:00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := sim.NewManualClock(tt.epoch)
			clock.Set(tt.t)
			var con bytes.Buffer
			logs := New(Options{Clock: clock, Console: &con, ConsoleLevel: zapcore.InfoLevel})
			logs.Info("x")
			cons := parseConsole(t, &con)
			require.Len(t, cons, 1)
			assert.Equal(t, tt.want, cons[0].time)
			assert.Equal(t, format.ModelTime(tt.epoch, tt.t), cons[0].time, "spelled by format.ModelTime")
		})
	}
}
