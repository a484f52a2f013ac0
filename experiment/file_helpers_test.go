package experiment

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"vmstorm/scenario"
)

// The helpers of the file tests (file_test.go), as package scenario's
// tests of a scenario file have them: an experiment file's mistakes are
// reported the same way.

// edit replaces the one occurrence of from in text with to.
func edit(text, from, to string) string {
	if n := strings.Count(text, from); n != 1 {
		panic(fmt.Sprintf("edit: %q occurs %d times, want once", from, n))
	}
	return strings.Replace(text, from, to, 1)
}

// wantError is what a file that must be rejected expects of the error:
// where it points, what its message and its hint say, in part, and a
// known bug, if any.
type wantError struct {
	file      string
	line, col int
	msg, hint []string
	bug       string
}

// problems lists how err falls short of what w expects of it.
func (w wantError) problems(err error) []string {
	var e *scenario.Error
	if !errors.As(err, &e) {
		return []string{fmt.Sprintf("want an *Error, got %T: %v", err, err)}
	}
	var out []string
	if e.File != w.file {
		out = append(out, fmt.Sprintf("file %q, want %s", e.File, w.file))
	}
	if e.Line != w.line || e.Column != w.col {
		out = append(out, fmt.Sprintf("at %d:%d, want %d:%d (%v)", e.Line, e.Column, w.line, w.col, err))
	}
	for _, m := range w.msg {
		if !strings.Contains(e.Msg, m) {
			out = append(out, fmt.Sprintf("message %q does not say %q", e.Msg, m))
		}
	}
	if e.Hint == "" {
		out = append(out, fmt.Sprintf("no hint in %q: every mistake says what is valid", err))
	}
	for _, h := range w.hint {
		if !strings.Contains(e.Hint, h) {
			out = append(out, fmt.Sprintf("hint %q does not say %q", e.Hint, h))
		}
	}
	if want := fmt.Sprintf("%s:%d:%d: %s (%s)", w.file, e.Line, e.Column, e.Msg, e.Hint); err.Error() != want {
		out = append(out, fmt.Sprintf("%q, want %q", err.Error(), want))
	}
	if strings.Contains(err.Error(), "\n") {
		out = append(out, fmt.Sprintf("%q is more than one line", err))
	}
	if strings.IndexFunc(err.Error(), unsafeRune) >= 0 {
		out = append(out, fmt.Sprintf("%q holds a control character, which would reach the terminal raw", err))
	}
	return out
}

// rejected fails t unless err is what w expects; accepted describes what
// the parser made of the file, for when err is nil. A known bug skips
// while it shows, and fails once it is gone, so that its mark is removed.
func (w wantError) rejected(t *testing.T, err error, accepted func() string) {
	t.Helper()
	require.NotEmpty(t, w.msg, "say what the error says")
	var problems []string
	if err == nil {
		problems = []string{"accepted, " + accepted()}
	} else {
		problems = w.problems(err)
	}
	if w.bug != "" {
		if len(problems) == 0 {
			t.Fatalf("fixed: %s; remove the bug mark", w.bug)
		}
		t.Skipf("BUG: %s: %s", w.bug, strings.Join(problems, "; "))
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// unsafeRune reports whether r must not reach a terminal: a control
// character, or a bidirectional control (as package scenario refuses them
// in a file's values).
func unsafeRune(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}
