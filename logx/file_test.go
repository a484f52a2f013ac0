package logx

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/internal/sim"
)

var errFull = errors.New("disk full")

// failAfter is a file that takes limit bytes, then fails every write: the
// one that reaches the limit writes what fits.
type failAfter struct {
	mu                 sync.Mutex
	limit, n           int
	got                bytes.Buffer
	writes             int // that succeeded
	writesAfterFailure int // tried after the first failure
	failed             bool
}

func (f *failAfter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failed {
		f.writesAfterFailure++
		return 0, errFull
	}
	if f.n+len(p) > f.limit {
		k := f.limit - f.n
		f.n, f.failed = f.limit, true
		f.got.Write(p[:k])
		return k, errFull
	}
	f.n += len(p)
	f.got.Write(p)
	f.writes++
	return len(p), nil
}

// TestFileWriteErrorIsOneLine: the file's first write error is one line on
// ErrorOutput, however many lines are logged after it; nothing more is
// written to the file; FileErr and FileSkipped say what happened; the
// console goes on.
func TestFileWriteErrorIsOneLine(t *testing.T) {
	const n, after = 3000, 25 // lines logged, then after Sync
	tests := []struct {
		name     string
		buffered bool
		limit    int
		fails    bool
		// exactSkipped: how many lines the file skipped, as a function of
		// the writes that succeeded; nil to check only that some were.
		exactSkipped func(writes int) int64
	}{
		{"unbuffered, first write fails", false, 0, true, func(int) int64 { return n - 1 + after }},
		{"unbuffered, fails mid-line", false, 10_000, true, func(w int) int64 { return int64(n - (w + 1) + after) }},
		{"unbuffered, never fails", false, 1 << 30, false, func(int) int64 { return 0 }},
		{"buffered, fails mid-run", true, 300_000, true, nil},
		{"buffered, fails at Sync", true, 0, true, nil},
		{"buffered, never fails", true, 1 << 30, false, func(int) int64 { return 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := sim.NewManualClock(time.Time{})
			file := &failAfter{limit: tt.limit}
			var con, errOut bytes.Buffer
			logs := New(Options{Clock: clock, Console: &con, ConsoleLevel: zapcore.InfoLevel,
				File: file, BufferFile: tt.buffered, ErrorOutput: &errOut})
			for i := range n {
				logs.Info("status", zap.Int("i", i), zap.String("pad", strings.Repeat("x", 80)))
			}
			require.NoError(t, logs.Sync(), "the error is FileErr's, not Sync's")
			for range after {
				logs.Warn("later")
			}
			require.NoError(t, logs.Sync())

			assert.Equal(t, n+after, len(lines(&con)), "the console goes on")
			assert.Zero(t, file.writesAfterFailure, "nothing is written to the file after its first error")
			if !tt.fails {
				assert.Empty(t, errOut.String())
				assert.NoError(t, logs.FileErr())
				assert.Equal(t, tt.exactSkipped(file.writes), logs.FileSkipped())
				assert.Len(t, parseFile(t, &file.got), n+after, "the file has every line")
				return
			}
			out := lines(&errOut)
			require.Len(t, out, 1, "one line of error output:\n%s", errOut.String())
			assert.Equal(t, "vmstorm: log file: disk full; no more lines are written to it", out[0])
			require.ErrorIs(t, logs.FileErr(), errFull)
			assert.Equal(t, "log file: disk full", logs.FileErr().Error())
			if tt.exactSkipped != nil {
				assert.Equal(t, tt.exactSkipped(file.writes), logs.FileSkipped())
				// Unbuffered, the file has the lines written before the
				// error, and the part of the failing one that fitted.
				whole := file.got.String()[:strings.LastIndexByte(file.got.String(), '\n')+1]
				assert.Len(t, parseFile(t, bytes.NewBufferString(whole)), file.writes)
			} else {
				assert.GreaterOrEqual(t, logs.FileSkipped(), int64(after))
				assert.Less(t, logs.FileSkipped(), int64(n+after))
			}
		})
	}
}

// TestFileWriteErrorConcurrently: goroutines logging at once into a file
// that fails still give one line.
func TestFileWriteErrorConcurrently(t *testing.T) {
	for _, buffered := range []bool{false, true} {
		t.Run(fmt.Sprintf("buffered=%v", buffered), func(t *testing.T) {
			file := &failAfter{limit: 5000}
			var errOut bytes.Buffer
			logs := New(Options{Clock: sim.NewManualClock(time.Time{}), File: file, BufferFile: buffered, ErrorOutput: &errOut})
			var wg sync.WaitGroup
			for g := range 16 {
				wg.Go(func() {
					for i := range 500 {
						Lifecycle(logs.Logger).Info("vm_started", zap.Int("g", g), zap.Int("i", i))
					}
				})
			}
			wg.Wait()
			require.NoError(t, logs.Sync())
			assert.Len(t, lines(&errOut), 1)
			assert.ErrorIs(t, logs.FileErr(), errFull)
			assert.Zero(t, file.writesAfterFailure)
		})
	}
}

// TestDevFull: the audit's case, -log-file /dev/full.
func TestDevFull(t *testing.T) {
	for _, tt := range []struct {
		buffered    bool
		wantSkipped int64 // of the 500 lines
	}{
		{false, 499}, // the first line fails
		{true, 0},    // every line is in the buffer when Sync fails
	} {
		buffered := tt.buffered
		t.Run(fmt.Sprintf("buffered=%v", buffered), func(t *testing.T) {
			f, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
			if err != nil {
				t.Skipf("no /dev/full here: %v", err)
			}
			defer f.Close()
			var errOut bytes.Buffer
			logs := New(Options{Clock: sim.NewManualClock(time.Time{}), File: f, BufferFile: buffered, ErrorOutput: &errOut})
			for i := range 500 {
				Lifecycle(logs.Logger).Info("vm_started", zap.Int("i", i))
			}
			_ = logs.Sync() // fsync of a device may fail; that is not a write error
			out := lines(&errOut)
			require.Len(t, out, 1, "one line of error output:\n%s", errOut.String())
			assert.Contains(t, out[0], "/dev/full")
			require.ErrorIs(t, logs.FileErr(), syscall.ENOSPC)
			assert.Equal(t, tt.wantSkipped, logs.FileSkipped())
			Lifecycle(logs.Logger).Info("after")
			assert.Equal(t, tt.wantSkipped+1, logs.FileSkipped())
			assert.Len(t, lines(&errOut), 1)
		})
	}
}

func TestNoFileNoFileErr(t *testing.T) {
	logs := New(Options{Clock: sim.NewManualClock(time.Time{}), Console: &bytes.Buffer{}})
	logs.Info("x")
	assert.NoError(t, logs.FileErr())
	assert.Zero(t, logs.FileSkipped())
}
