// Package format writes the model's figures for people, in one place: model
// times (on the incident's calendar, or from the start of the run),
// durations rounded to what a person reads, and counts.
package format

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ModelTime writes model time t on the calendar whose model time zero is
// epoch, to the second ("2015-08-04 17:45:00", UTC), or, with no epoch, as
// T+hh:mm:ss from the start of the run.
func ModelTime(epoch time.Time, t time.Duration) string {
	if !epoch.IsZero() {
		return epoch.Add(t).UTC().Format("2006-01-02 15:04:05")
	}
	t = t.Truncate(time.Second)
	return fmt.Sprintf("T+%02d:%02d:%02d", int(t/time.Hour), int(t/time.Minute)%60, int(t/time.Second)%60)
}

// Minute writes model time t to the minute ("2015-08-04 17:45", or
// T+02:05 with no epoch): for times compared with a report's.
func Minute(epoch time.Time, t time.Duration) string {
	if !epoch.IsZero() {
		return epoch.Add(t).UTC().Format("2006-01-02 15:04")
	}
	t = t.Round(time.Minute)
	return fmt.Sprintf("T+%02d:%02d", int(t/time.Hour), int(t/time.Minute)%60)
}

// Duration writes d as a person reads it: milliseconds under a second,
// otherwise rounded to the second, without the zero units at its end
// (2m, not 2m0s; 1h, not 1h0m0s; 1h5m, not 1h5m0s).
func Duration(d time.Duration) string {
	switch {
	case d == 0:
		return "0s"
	case d < time.Second && d > -time.Second:
		return d.Round(time.Millisecond).String()
	}
	out := d.Round(time.Second).String()
	if strings.HasSuffix(out, "m0s") {
		out = strings.TrimSuffix(out, "0s")
	}
	if strings.HasSuffix(out, "h0m") {
		out = strings.TrimSuffix(out, "0m")
	}
	return out
}

// Num writes a figure of a summary or a check as Figure does: so that a
// figure that is not zero never prints as 0.0 (4 requeues for 540
// arrivals is 0.0074, not 0.0), and none prints as -0.0.
func Num(v float64) string { return Figure(v) }

// Figure writes a figure of an experiment's table: a whole number as it
// is, others to one decimal from 1 up and to two significant digits below
// 1, so that a small difference (0.017 requeues per arrival) does not
// print as 0; "∞" and "-∞" for the infinities of an unbounded interval.
func Figure(v float64) string {
	switch {
	case math.IsInf(v, 1):
		return "∞"
	case math.IsInf(v, -1):
		return "-∞"
	case v == math.Trunc(v) && math.Abs(v) < 1e15:
		return strconv.FormatFloat(v+0, 'f', 0, 64) // +0: no "-0"
	case math.Abs(v) >= 1:
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 1-int(math.Floor(math.Log10(math.Abs(v)))), 64)
}

// Round1 rounds v to one decimal, for log fields.
func Round1(v float64) float64 {
	if v < 0 {
		return -Round1(-v)
	}
	return float64(int64(v*10+0.5)) / 10
}

// TextWidth is the widest line of the text a run prints (the summary, the
// checks, -analyze's judgement): it reads in a terminal of 100 columns,
// and so in a postmortem document or a CI log, without a line running off
// the side.
const TextWidth = 100

// Wrap breaks text into lines of at most width columns (a rune a column),
// at spaces: the first line starts after first columns already written
// (a label), and each line after it is indented by indent spaces. A word
// longer than a line has a line of its own, and a calendar time
// (ModelTime's "2015-08-04 17:45:00") is one word. No line ends in a space.
func Wrap(text string, first, indent, width int) []string {
	var words []string
	for _, w := range strings.Fields(text) {
		if n := len(words); n > 0 && isDate(words[n-1]) && w != "" && w[0] >= '0' && w[0] <= '9' {
			words[n-1] += " " + w
			continue
		}
		words = append(words, w)
	}
	var lines []string
	line, used := "", first
	for _, word := range words {
		n := utf8.RuneCountInString(word)
		switch {
		case line == "":
			line, used = word, used+n
		case used+1+n <= width:
			line, used = line+" "+word, used+1+n
		default:
			lines = append(lines, line)
			line, used = word, indent+n
		}
	}
	return append(lines, line)
}

// isDate reports whether w is a date as ModelTime writes it: 2015-08-04.
func isDate(w string) bool {
	if len(w) != 10 || w[4] != '-' || w[7] != '-' {
		return false
	}
	for i, c := range w {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// Unsafe reports whether r must not reach a terminal from a file: a
// control character (C0, DEL, C1; a tab and a line break too), or a
// bidirectional control, which reorders the text around it.
func Unsafe(r rune) bool {
	switch {
	case unicode.IsControl(r):
		return true
	case r == '\u061c', r == '\u200e', r == '\u200f', r >= '\u202a' && r <= '\u202e', r >= '\u2066' && r <= '\u2069':
		return true
	}
	return false
}
