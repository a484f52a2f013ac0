package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/incident"
)

// FuzzParse: Parse never panics (nor turns a panic of its own into an
// error: it recovers only the YAML decoder's, on a tag), rejects only with
// an *Error that has a place, and never accepts an invalid file: whatever
// it accepts is a valid Config whose timeline is in order, within the run,
// and right for the queues.
func FuzzParse(f *testing.F) {
	for _, b := range Builtins() {
		src, ok := Source(b.Name)
		require.True(f, ok, b.Name)
		f.Add(src)
	}
	f.Add([]byte(small))
	for _, tc := range badFiles {
		f.Add([]byte(tc.text()))
	}
	paths, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	require.NoError(f, err)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(b)
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseOrPanic(t, data)
		if err != nil {
			var e *Error
			require.True(t, errors.As(err, &e), "want an *Error, got %T: %v", err, err)
			assert.Equal(t, "fuzz.yaml", e.File)
			assert.NotEmpty(t, e.Msg)
			assert.Positive(t, e.Line, "line of %v", err)
			assert.Positive(t, e.Column, "column of %v", err)
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("more than one line: %q", err)
			}
			if strings.HasPrefix(e.Msg, "the YAML decoder failed") && !strings.Contains(string(data), "!") {
				t.Errorf("Parse recovered a panic on a file with no tag: %v", err)
			}
			return
		}
		checkAccepted(t, data, s)
	})
}

// parseOrPanic is Parse, but a panic fails the test with its stack.
func parseOrPanic(t *testing.T, data []byte) (s *Scenario, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("Parse panics: %v\n%s", r, debug.Stack())
		}
	}()
	return Parse("fuzz.yaml", data)
}

// multilineValue is an error that echoes a parameter's value over more
// than one line: "cluster.vms 3\n00: want ...".
// TestParseFileOfNoDocument: a file that holds no document is rejected as
// such, not as a failure of the YAML decoder.
func TestParseFileOfNoDocument(t *testing.T) {
	for _, in := range []string{"...\n", "# only a comment\n...\n"} {
		t.Run(in, func(t *testing.T) {
			_, err := parseOrPanic(t, []byte(in))
			var e *Error
			require.True(t, errors.As(err, &e), "want an *Error, got %T: %v", err, err)
			assert.Equal(t, []int{1, 1}, []int{e.Line, e.Column})
			assert.Equal(t, "the file holds no YAML document", e.Msg)
		})
	}
}

// TestParseTaggedListDoesNotPanic: a tag where a list belongs is an *Error,
// not a panic.
func TestParseTaggedListDoesNotPanic(t *testing.T) {
	tests := []struct {
		in   string
		line int // where the tag stands
	}{
		{"timeline: !!seq\n", 3},
		{"timeline: !foo\n", 3},
		{"checks: !\n", 3},
		{"workload:\n  queues: ! 0\n", 4},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := parseOrPanic(t, []byte("name: n\nduration: 1h\n"+tt.in))
			var e *Error
			require.True(t, errors.As(err, &e), "want an *Error, got %T: %v", err, err)
			assert.Equal(t, tt.line, e.Line)
		})
	}
}

// checkAccepted checks what Parse accepted: that it is a valid scenario,
// with one event for each timeline entry and one check for each checks
// entry.
func checkAccepted(t *testing.T, data []byte, s *Scenario) {
	t.Helper()
	cfg := s.Config
	require.NoError(t, cfg.Validate(), "Parse accepted an invalid Config")
	var lists struct {
		Timeline []any `yaml:"timeline"`
		Checks   []any `yaml:"checks"`
	}
	require.NoError(t, yaml.Unmarshal(data, &lists), "the file Parse accepted is YAML")
	require.Len(t, cfg.Timeline, len(lists.Timeline), "one event for each timeline entry")
	require.Len(t, s.Checks, len(lists.Checks), "one check for each checks entry")
	for i, ev := range cfg.Timeline {
		require.NoError(t, ev.Validate(cfg.QueueNames()), "timeline[%d]", i)
		require.GreaterOrEqual(t, ev.At, cfg.Timeline[max(i-1, 0)].At, "timeline[%d] goes back in time", i)
		require.GreaterOrEqual(t, int64(ev.At), int64(0), "timeline[%d]", i)
		require.LessOrEqual(t, ev.At, cfg.Duration, "timeline[%d] after the end of the run", i)
	}
}

// TestNotesAreReadAsWritten: a timeline note, whatever its characters
// (YAML's indicators among them), is read as the file quotes it.
func TestNotesAreReadAsWritten(t *testing.T) {
	for _, note := range []string{"? a", "a: b", "# no comment", "- x", "'single'", `"double"`, "[a, b]", "{a: b}", "*alias", "&anchor", "!tag", " around ", "%", "@", "`", "\u00e9\u4e2d"} {
		t.Run(note, func(t *testing.T) {
			s, err := Parse("note.yaml", []byte("name: n\nduration: 1h\ntimeline:\n  - at: 1m\n    action: restart_janitor\n    note: "+strconv.Quote(note)+"\n"))
			require.NoError(t, err)
			require.Equal(t, note, s.Config.Timeline[0].Note)
		})
	}
}

// TestTestdataScenarios: the seed files under testdata are valid scenarios,
// so that the fuzzer starts from files Parse accepts, every key and action
// among them.
func TestTestdataScenarios(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.yaml"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	used := map[string]bool{}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			b, err := os.ReadFile(p)
			require.NoError(t, err)
			s, err := Parse(p, b)
			require.NoError(t, err)
			checkAccepted(t, b, s)
			for _, ev := range s.Config.Timeline {
				used[ev.Action] = true
			}
		})
	}
	for _, a := range incident.Actions {
		assert.True(t, used[a.Name], "no seed under testdata uses %s", a.Name)
	}
}
