// Package filetest holds what the tests of a file's refusals share: the
// place, message and hint a refusal must give (Want), checked the same way
// for a scenario file (package scenario) and an experiment file (package
// experiment), whose errors are of one form, FILE:LINE:COL: message
// (hint). It imports nothing of vmstorm but internal/format, so that
// package scenario's own tests may use it.
package filetest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"vmstorm/internal/format"
)

// Refusal is what a refusal said: its place, its message and its hint.
type Refusal struct {
	File         string
	Line, Column int
	Msg, Hint    string
}

// Want is what a file that must be refused expects of the refusal: where
// it points, what its message and its hint say, in part, and a known bug,
// if any.
type Want struct {
	File      string
	Line, Col int
	Msg, Hint []string
	Bug       string
}

// Problems lists how err, which said r (ok false: err is not a refusal of
// a file), falls short of what w expects of it.
func (w Want) Problems(err error, r Refusal, ok bool) []string {
	if !ok {
		return []string{fmt.Sprintf("want a file's refusal, got %T: %v", err, err)}
	}
	var out []string
	if r.File != w.File {
		out = append(out, fmt.Sprintf("file %q, want %s", r.File, w.File))
	}
	if r.Line != w.Line || r.Column != w.Col {
		out = append(out, fmt.Sprintf("at %d:%d, want %d:%d (%v)", r.Line, r.Column, w.Line, w.Col, err))
	}
	for _, m := range w.Msg {
		if !strings.Contains(r.Msg, m) {
			out = append(out, fmt.Sprintf("message %q does not say %q", r.Msg, m))
		}
	}
	if r.Hint == "" {
		out = append(out, fmt.Sprintf("no hint in %q: every mistake says what is valid", err))
	}
	for _, h := range w.Hint {
		if !strings.Contains(r.Hint, h) {
			out = append(out, fmt.Sprintf("hint %q does not say %q", r.Hint, h))
		}
	}
	if want := fmt.Sprintf("%s:%d:%d: %s (%s)", w.File, r.Line, r.Column, r.Msg, r.Hint); err.Error() != want {
		out = append(out, fmt.Sprintf("%q, want %q", err.Error(), want))
	}
	if strings.Contains(err.Error(), "\n") {
		out = append(out, fmt.Sprintf("%q is more than one line", err))
	}
	if strings.IndexFunc(err.Error(), format.Unsafe) >= 0 {
		out = append(out, fmt.Sprintf("%q holds a control character, which would reach the terminal raw", err))
	}
	return out
}

// Rejected fails t unless err is what w expects; refusal reads what err
// said, and accepted describes what the parser made of the file, for when
// err is nil. A known bug skips while it shows, and fails once it is gone,
// so that its mark is removed.
func (w Want) Rejected(t *testing.T, err error, refusal func(error) (Refusal, bool), accepted func() string) {
	t.Helper()
	require.NotEmpty(t, w.Msg, "say what the error says")
	var problems []string
	if err == nil {
		problems = []string{"accepted, " + accepted()}
	} else {
		r, ok := refusal(err)
		problems = w.Problems(err, r, ok)
	}
	if w.Bug != "" {
		if len(problems) == 0 {
			t.Fatalf("fixed: %s; remove the bug mark", w.Bug)
		}
		t.Skipf("BUG: %s: %s", w.Bug, strings.Join(problems, "; "))
	}
	for _, p := range problems {
		t.Error(p)
	}
}
