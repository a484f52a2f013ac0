// Package logx sets up a run's logs: a human-readable console that shows
// model time and samples repetitive lines, so that a storm cannot flood the
// terminal, and an optional JSON-lines file that gets every lifecycle event,
// written unbuffered so that `tail -f FILE | jq` follows the run live. The
// file's first write error is said once, in one line, and stops the file:
// the run goes on, and FileErr tells the caller that the log is incomplete.
package logx

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/internal/format"
	"vmstorm/internal/sim"
)

// Options says where a run's logs go.
type Options struct {
	// Clock is the model's: it stamps every entry, through zap's own clock
	// option, with the model time it happened at.
	Clock sim.Clock
	// Console gets lines at ConsoleLevel and above, sampled; nil for none.
	Console      io.Writer
	ConsoleLevel zapcore.Level
	// File gets every line, as JSON; nil for none. Each line is written
	// the moment it happens, so that `tail -f` follows the run, unless
	// BufferFile is set: an unpaced run (-speed max) writes in large
	// blocks, flushed by Sync.
	File       io.Writer
	BufferFile bool
	// ErrorOutput gets one line when File cannot be written (its first
	// write error, after which nothing more is written to it: see
	// Logs.FileErr), and zap's own errors, if any; nil for os.Stderr.
	ErrorOutput io.Writer
	// Sampling on the console: per message, in each Tick of model time,
	// the first First lines and then every Thereafter-th. Zero values take
	// a model minute, 5 and 100. Model time, not wall time, so that what
	// the console shows does not depend on the speed or the machine.
	Tick              time.Duration
	First, Thereafter int
}

// Logs is a run's logger and what it knows about itself.
type Logs struct {
	*zap.Logger
	dropped atomic.Int64
	file    *fileGuard // nil without a file
}

// Dropped is how many lines the console's sampling left out (the log file,
// if any, has them all, unless FileErr says it could not be written).
func (l *Logs) Dropped() int64 { return l.dropped.Load() }

// FileErr is the first error writing the log file, nil if there was none
// (or no file). From that error on, nothing more was written to the file,
// so the file is incomplete: the run should fail (exit 1). The one line
// that says so has already gone to ErrorOutput, when the error happened.
// With BufferFile, an error may only show when Sync flushes the buffer: call
// FileErr after Sync.
func (l *Logs) FileErr() error {
	if l.file == nil {
		return nil
	}
	return l.file.Err()
}

// FileSkipped is how many lines were logged after the file's first write
// error, which the file did not get. With BufferFile, the lines that were
// in the buffer when the write failed are lost as well, and not counted.
func (l *Logs) FileSkipped() int64 {
	if l.file == nil {
		return 0
	}
	return l.file.skipped.Load()
}

// New builds the logger that Options describes.
func New(o Options) *Logs {
	l := &Logs{}
	var errOut zapcore.WriteSyncer = os.Stderr
	if o.ErrorOutput != nil {
		errOut = zapcore.AddSync(o.ErrorOutput)
	}
	errOut = zapcore.Lock(errOut)
	var cores []zapcore.Core
	if o.Console != nil {
		tick, first, thereafter := o.Tick, o.First, o.Thereafter
		if tick <= 0 {
			tick = time.Minute
		}
		if first <= 0 {
			first = 5
		}
		if thereafter <= 0 {
			thereafter = 100
		}
		core := zapcore.NewCore(zapcore.NewConsoleEncoder(consoleConfig(o.Clock)),
			zapcore.Lock(zapcore.AddSync(o.Console)), o.ConsoleLevel)
		sampled := zapcore.NewSamplerWithOptions(core, tick, first, thereafter,
			zapcore.SamplerHook(func(_ zapcore.Entry, d zapcore.SamplingDecision) {
				if d&zapcore.LogDropped != 0 {
					l.dropped.Add(1)
				}
			}))
		cores = append(cores, lifecycleSplit{lifecycle: sampled, other: core})
	}
	if o.File != nil {
		enc := zap.NewProductionEncoderConfig()
		enc.TimeKey = "" // entries are stamped with model time: see modelTimeCore
		enc.EncodeDuration = zapcore.SecondsDurationEncoder
		// One write per line, straight to the file: nothing waits in a
		// buffer, so a reader following the file sees each event at once.
		// The guard is next to the file, under the buffer, so that the
		// buffer never sees an error and never hands one to zap, which
		// would write a line to ErrorOutput for every entry.
		l.file = &fileGuard{w: o.File, errOut: errOut}
		var ws zapcore.WriteSyncer = l.file
		if o.BufferFile {
			ws = &flushOnSync{bufio.NewWriterSize(l.file, 1<<18)}
		}
		core := zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(ws), zapcore.DebugLevel)
		cores = append(cores, stopOnFileErr{Core: modelTimeCore{Core: core, clock: o.Clock}, file: l.file})
	}
	l.Logger = zap.New(zapcore.NewTee(cores...), zap.WithClock(zapClock{o.Clock}), zap.ErrorOutput(errOut))
	return l
}

// fileGuard is the log file as its core writes to it. Its first write error
// is said in one line on errOut and kept, and every write after it is
// dropped; to its writers, every write succeeds.
type fileGuard struct {
	w      io.Writer
	errOut zapcore.WriteSyncer // locked

	failed  atomic.Bool
	mu      sync.Mutex
	err     error // the first write error; guarded by mu
	skipped atomic.Int64
}

func (g *fileGuard) Write(p []byte) (int, error) {
	if g.failed.Load() {
		return len(p), nil
	}
	n, err := g.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		g.fail(err)
	}
	return len(p), nil
}

// Sync syncs the file if it can, until it has failed.
func (g *fileGuard) Sync() error {
	if s, ok := g.w.(interface{ Sync() error }); ok && !g.failed.Load() {
		return s.Sync()
	}
	return nil
}

func (g *fileGuard) fail(err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return
	}
	g.err = fmt.Errorf("log file: %w", err)
	g.failed.Store(true)
	fmt.Fprintf(g.errOut, "vmstorm: %v; no more lines are written to it\n", g.err)
	_ = g.errOut.Sync()
}

// Err is the first write error, or nil.
func (g *fileGuard) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// stopOnFileErr is the file's core, which stops taking entries once the
// file has failed: they are counted, not encoded.
type stopOnFileErr struct {
	zapcore.Core
	file *fileGuard
}

func (c stopOnFileErr) With(fields []zapcore.Field) zapcore.Core {
	return stopOnFileErr{Core: c.Core.With(fields), file: c.file}
}

func (c stopOnFileErr) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.file.failed.Load() {
		if c.Enabled(ent.Level) {
			c.file.skipped.Add(1)
		}
		return ce
	}
	return c.Core.Check(ent, ce)
}

// flushOnSync is a buffered file whose Sync flushes the buffer.
type flushOnSync struct{ *bufio.Writer }

func (f *flushOnSync) Sync() error { return f.Flush() }

// An entry's time is the model time it happened at, as an instant after
// base: zapClock gives zap the model's clock, and ModelTime reads an entry's
// time back.
var base = time.Unix(0, 0).UTC()

type zapClock struct{ c sim.Clock }

func (z zapClock) Now() time.Time                         { return base.Add(z.c.Now()) }
func (z zapClock) NewTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

// ModelTime is the model time of an entry's timestamp.
func ModelTime(t time.Time) time.Duration { return t.Sub(base) }

// LifecycleLogger is the name of the logger for lifecycle events (one per
// job arrival, VM start, requeue, ...). In a storm there are thousands of
// them, so on the console they, and only they, are sampled: status lines and
// changes of state always show.
const LifecycleLogger = "lifecycle"

// JSON returns a logger of JSON lines to w, one write a line, at Info and
// above, with no time stamp: for what goes on outside a run's model time,
// such as an experiment's progress, whose lines say their wall-clock time
// themselves where it matters.
func JSON(w io.Writer) *zap.Logger {
	enc := zap.NewProductionEncoderConfig()
	enc.TimeKey = ""
	return zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(enc), zapcore.Lock(zapcore.AddSync(w)), zapcore.InfoLevel))
}

// Lifecycle returns the logger for lifecycle events.
func Lifecycle(log *zap.Logger) *zap.Logger { return log.Named(LifecycleLogger) }

// lifecycleSplit sends lifecycle events to one core and the rest to another.
type lifecycleSplit struct {
	lifecycle, other zapcore.Core
}

func (s lifecycleSplit) Enabled(l zapcore.Level) bool { return s.other.Enabled(l) }

func (s lifecycleSplit) With(fields []zapcore.Field) zapcore.Core {
	return lifecycleSplit{lifecycle: s.lifecycle.With(fields), other: s.other.With(fields)}
}

func (s lifecycleSplit) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if ent.LoggerName == LifecycleLogger {
		return s.lifecycle.Check(ent, ce)
	}
	return s.other.Check(ent, ce)
}

// Write is only reached through Check, which hands the entry to one of the
// two cores directly.
func (s lifecycleSplit) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	return s.other.Write(ent, fields)
}

func (s lifecycleSplit) Sync() error { return s.other.Sync() }

func consoleConfig(clock sim.Clock) zapcore.EncoderConfig {
	enc := zap.NewDevelopmentEncoderConfig()
	enc.CallerKey, enc.StacktraceKey, enc.NameKey = "", "", ""
	enc.EncodeDuration = zapcore.StringDurationEncoder
	// The console's time column is model time: that is the clock a person
	// watching the incident unfold cares about.
	enc.EncodeTime = func(t time.Time, pe zapcore.PrimitiveArrayEncoder) {
		pe.AppendString(format.ModelTime(clock.Calendar(0), ModelTime(t)))
	}
	return enc
}

// modelTimeCore adds the model time of each entry to it, so that every line
// of the file can be placed on the model's clock: model_s, seconds since the
// start, and model_time, the calendar time, when the model has one.
type modelTimeCore struct {
	zapcore.Core
	clock sim.Clock
}

func (c modelTimeCore) With(fields []zapcore.Field) zapcore.Core {
	return modelTimeCore{Core: c.Core.With(fields), clock: c.clock}
}

func (c modelTimeCore) Check(ent zapcore.Entry, ce *zapcore.CheckedEntry) *zapcore.CheckedEntry {
	if c.Enabled(ent.Level) {
		return ce.AddCore(ent, c)
	}
	return ce
}

func (c modelTimeCore) Write(ent zapcore.Entry, fields []zapcore.Field) error {
	t := ModelTime(ent.Time)
	fields = append(fields, zap.Float64("model_s", float64(t.Microseconds())/1e6))
	if cal := c.clock.Calendar(t); !cal.IsZero() {
		fields = append(fields, zap.String("model_time", cal.UTC().Format(time.RFC3339)))
	}
	return c.Core.Write(ent, fields)
}
