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

// TestDeepNestingIsRejectedCheaply: a value nested 100000 deep, in a file
// of 200 kB, is rejected at the level past MaxNesting, before the YAML
// parser (whose memory grows with the square of the nesting) sees it, in
// what the lexer's tokens of the file take (the parser would take
// gigabytes). The depth is the lexer's, so that a quote or a bracket in a
// block scalar or a quoted string, which the lexer reads as text, hides
// nothing and counts for nothing.
func TestDeepNestingIsRejectedCheaply(t *testing.T) {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	tests := []struct {
		name      string
		file      string // after "name: deep\nduration: 1h\n"
		line, col int
	}{
		// description: is the first level, its lists the others.
		{"lists", "description: " + deep + "\n", 3, 14 + MaxNesting - 1},
		{"mappings", "description: " + strings.Repeat("{a: ", 50000) + "1" + strings.Repeat("}", 50000) + "\n", 3, 14 + 4*(MaxNesting-1)},
		{"lists after a quoted string", `description: ["a [[ b", ` + deep + "]\n", 3, 14 + 11 + MaxNesting - 2},
		{"lists after a block scalar that opens a double quote", "description: |-\n  \"hi\ncluster: " + deep + "\n", 5, 10 + MaxNesting - 1},
		{"lists after a block scalar that opens a single quote", "description: >-\n  'hi\ncluster: " + deep + "\n", 5, 10 + MaxNesting - 1},
		{"lists after a quote in a plain value", "description: a 5\" floppy\ncluster: " + deep + "\n", 4, 10 + MaxNesting - 1},
		{"lists after an apostrophe in a list", "description: [a'b, " + deep + "]\n", 3, 14 + 6 + MaxNesting - 2},
		{"block lists on one line", "description:\n  " + strings.Repeat("- ", 100000) + "x\n", 4, 3 + 2*(MaxNesting-1)},
		// The key past the limit.
		{"block mappings by indentation", nestedMappings(MaxNesting + 10), MaxNesting + 3, 2*MaxNesting + 1},
		{"block lists of mappings", nestedListsOfMappings(MaxNesting + 10), MaxNesting + 3, MaxNesting + 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := []byte("name: deep\nduration: 1h\n" + tt.file)
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := Parse("deep.yaml", data)
			runtime.ReadMemStats(&after)

			var e *Error
			require.True(t, errors.As(err, &e), "want an *Error, got %T: %v", err, err)
			assert.Equal(t, []int{tt.line, tt.col}, []int{e.Line, e.Column}, "the place of the level past %d: %v", MaxNesting, err)
			assert.Contains(t, e.Msg, fmt.Sprintf("nests more than %d lists or mappings deep", MaxNesting))
			assert.NotEmpty(t, e.Hint)
			assert.NotContains(t, err.Error(), "\n", "one line")
			// The test is not parallel, so the process allocates little else
			// meanwhile: the lexer's tokens, a few hundred bytes a byte.
			assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(400*len(data)), "bytes allocated to reject %d bytes", len(data))
		})
	}
}

// TestNestingAtTheLimitIsAccepted: MaxNesting levels, inline or by
// indentation, parse; and indentation alone is no nesting (a block scalar
// indented a thousand columns is one value).
func TestNestingAtTheLimitIsAccepted(t *testing.T) {
	lists := strings.Repeat("[", MaxNesting-1) + strings.Repeat("]", MaxNesting-1)
	for name, file := range map[string]string{
		"lists":                   "name: deep\nduration: 1h\nnested: " + lists + "\n",
		"block mappings":          "name: deep\nduration: 1h\n" + nestedMappings(MaxNesting),
		"a block scalar indented": "name: deep\nduration: 1h\ndescription: |-\n" + strings.Repeat(" ", 1000) + "text\n",
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("deep.yaml", []byte(file))
			var e *Error
			if errors.As(err, &e) {
				assert.NotContains(t, e.Msg, "nests more than", "%v", err)
			}
		})
	}
	s, err := Parse("deep.yaml", []byte("name: deep\nduration: 1h\ndescription: |-\n"+strings.Repeat(" ", 1000)+"text\n"))
	require.NoError(t, err)
	assert.Equal(t, "text", s.Description)
}

// TestTooManyTokensAreRejected: a file of more than MaxTokens tokens is
// rejected at the token past them, before the parser sees it.
func TestTooManyTokensAreRejected(t *testing.T) {
	data := []byte("name: many\nduration: 1h\ndescription: [" + strings.Repeat("1,", MaxTokens/2) + "1]\n")
	require.LessOrEqual(t, len(data), MaxFileSize)
	_, err := Parse("many.yaml", data)
	var e *Error
	require.True(t, errors.As(err, &e), "want an *Error, got %T: %v", err, err)
	assert.Contains(t, e.Msg, fmt.Sprintf("more than %d YAML tokens", MaxTokens))
	assert.Equal(t, 3, e.Line)
}

// TestAliasesThatExpandTooFarAreRejected: aliases that expand a file past
// MaxValues values (a billion laughs; a long timeline repeated by alias)
// are refused at once; a few aliases are fine.
func TestAliasesThatExpandTooFarAreRejected(t *testing.T) {
	laughs := "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	for i := 'b'; i <= 'i'; i++ {
		laughs += fmt.Sprintf("%c: &%c [*%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c, *%c]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	var entries strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&entries, "  - {at: %ds, action: restart_janitor}\n", i)
	}
	repeated := "timeline: &t\n" + entries.String() + "extra: [" + strings.TrimSuffix(strings.Repeat("*t, ", 1000), ", ") + "]\n"
	for name, file := range map[string]string{"a billion laughs": laughs, "a timeline repeated a thousand times": repeated} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("alias.yaml", []byte("name: a\nduration: 2h\n"+file))
			var e *Error
			require.True(t, errors.As(err, &e), "want an *Error, got %T: %v", err, err)
			assert.Contains(t, e.Msg, fmt.Sprintf("aliases (*name) expand it to more than %d values", MaxValues))
		})
	}
	s, err := Parse("alias.yaml", []byte("name: a\nduration: 2h\ntimeline:\n  - &e {at: 1m, action: restart_janitor}\n  - *e\n"))
	require.NoError(t, err)
	assert.Len(t, s.Config.Timeline, 2)
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

// nestedListsOfMappings is n lists of a mapping within one another, each
// list at its mapping's column: "a:\n- a:\n  - a:\n    - ...".
func nestedListsOfMappings(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(strings.Repeat("  ", i) + "a:\n" + strings.Repeat("  ", i) + "- ")
		b.WriteString("\n")
	}
	return b.String()
}
