package scenario

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadFileRejectsWhatIsNoScenarioFile: a directory, a fifo, a device
// and a file over MaxFileSize are each refused by ReadFile, and by Load,
// with one line that names the path, says what it is and what is valid;
// a regular file of MaxFileSize bytes is read whole.
func TestReadFileRejectsWhatIsNoScenarioFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	big := filepath.Join(dir, "big.yaml")
	require.NoError(t, os.WriteFile(big, nil, 0o600))
	require.NoError(t, os.Truncate(big, MaxFileSize+1))
	sub := filepath.Join(dir, "scenarios.yaml")
	require.NoError(t, os.Mkdir(sub, 0o700))

	tests := []struct {
		name, path string
		msg        []string
	}{
		{"a directory", sub, []string{"not a regular file (a directory); want a YAML file"}},
		{"a fifo", fifo, []string{"not a regular file (a fifo); want a YAML file"}},
		{"a device", "/dev/zero", []string{"not a regular file (a device); want a YAML file"}},
		{"a file over MaxFileSize", big, []string{fmt.Sprintf("%d bytes; want a file of at most %d bytes (1 MiB)", MaxFileSize+1, MaxFileSize)}},
		{"no file", filepath.Join(dir, "none.yaml"), []string{"no such file or directory"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := os.Stat(tt.path); tt.path == "/dev/zero" && err != nil {
				t.Skipf("no /dev/zero here: %v", err)
			}
			for fn, read := range map[string]func(string) error{
				"ReadFile": func(p string) error { _, err := ReadFile(p); return err },
				"Load":     func(p string) error { _, err := Load(p); return err },
			} {
				err := returns(t, tt.path, func() error { return read(tt.path) })
				require.Error(t, err, "%s(%s)", fn, tt.path)
				assert.False(t, strings.HasPrefix(err.Error(), "-"), "%s: names no flag (a scenario or an experiment's base): %v", fn, err)
				assert.Contains(t, err.Error(), tt.path, fn)
				for _, m := range tt.msg {
					assert.Contains(t, err.Error(), m, fn)
				}
				assert.NotContains(t, err.Error(), "\n", "%s: one line", fn)
			}
		})
	}

	t.Run("a file of MaxFileSize bytes", func(t *testing.T) {
		path := filepath.Join(dir, "full.yaml")
		data := []byte(small + strings.Repeat("#", MaxFileSize-len(small)))
		require.NoError(t, os.WriteFile(path, data, 0o600))
		got, err := ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, data, got)
		s, err := Load(path)
		require.NoError(t, err)
		assert.Equal(t, "small", s.Name)
	})
}

// returns runs read and returns its error; if read blocks (on a fifo with
// no writer, say), it fails the test, and opens the fifo for writing so
// that the read ends.
func returns(t *testing.T, path string, read func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- read() }()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute): // a watchdog: on success, no wait
		if w, err := os.OpenFile(path, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
		<-done
		t.Fatalf("reading %s blocks", path)
		return nil
	}
}

// TestDeepNestingIsRejectedCheaply: a value nested 100000 lists deep, in a
// file of 200 kB, is rejected at the list past MaxNesting, before the YAML
// parser (whose memory grows with the square of the nesting) sees it: in
// a few kilobytes.
func TestDeepNestingIsRejectedCheaply(t *testing.T) {
	tests := []struct {
		name      string
		value     string // of description, on line 3
		line, col int
	}{
		{"lists", strings.Repeat("[", 100000) + strings.Repeat("]", 100000), 3, 14 + MaxNesting},
		{"mappings", strings.Repeat("{a: ", 100000) + "1" + strings.Repeat("}", 100000), 3, 14 + 4*MaxNesting},
		{"lists after a quoted string", `["a [[ b", ` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "]", 3, 14 + 11 + MaxNesting - 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte("name: deep\nduration: 1h\ndescription: " + tt.value + "\n")
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Parse("deep.yaml", data)
			runtime.ReadMemStats(&after)

			var e *Error
			require.True(t, errors.As(err, &e), "want an *Error, got %T: %v", err, err)
			assert.Equal(t, []int{tt.line, tt.col}, []int{e.Line, e.Column}, "the place of the list past %d: %v", MaxNesting, err)
			assert.Contains(t, e.Msg, fmt.Sprintf("nests more than %d lists or mappings deep", MaxNesting))
			assert.NotEmpty(t, e.Hint)
			assert.NotContains(t, err.Error(), "\n", "one line")
			// The test is not parallel, so the process allocates little else
			// meanwhile; the parser would take gigabytes.
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(1<<20), "bytes allocated to reject %d bytes", len(data))
		})
	}
}

// TestOverIndentedLinesAreRejected: a line indented more than MaxIndent
// columns is rejected at the column past it; MaxIndent columns are fine.
func TestOverIndentedLinesAreRejected(t *testing.T) {
	block := func(indent int) string {
		return "name: deep\nduration: 1h\ndescription: |\n" + strings.Repeat(" ", indent) + "text\n"
	}
	s, err := Parse("indent.yaml", []byte(block(MaxIndent)))
	require.NoError(t, err)
	assert.Equal(t, "text\n", s.Description)

	for _, tt := range []struct {
		name string
		data string
		line int
	}{
		{"a block scalar", block(MaxIndent + 1), 4},
		{"a block scalar indented by tabs too", "name: deep\nduration: 1h\ndescription: |\n" + strings.Repeat(" \t", MaxIndent) + "text\n", 4},
		{"nested mappings", "name: deep\nduration: 1h\n" + nestedMappings(MaxIndent/2+2), MaxIndent/2 + 4},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("indent.yaml", []byte(tt.data))
			var e *Error
			require.True(t, errors.As(err, &e), "want an *Error, got %T: %v", err, err)
			assert.Equal(t, []int{tt.line, MaxIndent + 1}, []int{e.Line, e.Column}, "%v", err)
			assert.Contains(t, e.Msg, fmt.Sprintf("indented more than %d columns", MaxIndent))
			assert.NotContains(t, err.Error(), "\n", "one line")
		})
	}
}

// nestedMappings is n mappings within one another, each indented two
// columns more than the one before: "a:\n  a:\n    a: ...".
func nestedMappings(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat("  ", i) + "a:\n")
	}
	return b.String()
}
