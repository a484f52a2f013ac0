package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEstimate(t *testing.T) {
	for _, tc := range []struct {
		name        string
		done, total int
		elapsed     time.Duration
		perSecond   float64
		left        time.Duration
		ok          bool
	}{
		{"nothing done yet: no estimate", 0, 210, 5 * time.Second, 0, 0, false},
		{"no time passed: no estimate", 3, 210, 0, 0, 0, false},
		{"the mean rate so far", 10, 210, 4 * time.Second, 2.5, 80 * time.Second, true},
		{"settles as runs finish", 100, 210, 25 * time.Second, 4, 27*time.Second + 500*time.Millisecond, true},
		{"rounded to the second", 1, 4, 3 * time.Second, 1.0 / 3, 9 * time.Second, true},
		{"all done: none left", 210, 210, time.Minute, 3.5, 0, true},
		{"more done than planned: none left", 5, 4, time.Second, 5, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			perSecond, left, ok := estimate(tc.done, tc.total, tc.elapsed)
			assert.Equal(t, tc.ok, ok)
			assert.InDelta(t, tc.perSecond, perSecond, 1e-9)
			assert.Equal(t, tc.left.Round(time.Second), left)
		})
	}
}

func TestAbout(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{time.Second, "about 5 seconds"},
		{12 * time.Second, "about 10 seconds"},
		{30 * time.Second, "about 30 seconds"},
		{99 * time.Second, "about 100 seconds"},
		{100 * time.Second, "about 2 minutes"},
		{3 * time.Minute, "about 3 minutes"},
		{61 * time.Second * 60, "about 61 minutes"},
		{100 * time.Minute, "about 1.5 hours"},
		{150 * time.Minute, "about 2.5 hours"},
		{9 * time.Hour, "about 9 hours"},
	} {
		assert.Equal(t, tc.want, about(tc.d), "%v", tc.d)
	}
}

// TestPacedNote: a long paced run says how long it will take before it
// starts; an unpaced one, or a short one, says nothing.
func TestPacedNote(t *testing.T) {
	for _, tc := range []struct {
		model time.Duration
		speed float64
		jobs  bool
		want  string
	}{
		{150 * time.Hour, 3000, false, "150h of model time at -speed 3000: about 3 minutes of wall-clock time; -speed max for the fastest"},
		{150 * time.Hour, 9000, false, "150h of model time at -speed 9000: about 60 seconds of wall-clock time; -speed max for the fastest"},
		{time.Hour, 120, true, "1h of model time at -speed 120: up to about 30 seconds of wall-clock time; -speed max for the fastest"},
		{44 * time.Hour, 2.5, false, "44h of model time at -speed 2.5: about 17.5 hours of wall-clock time; -speed max for the fastest"},
		{150 * time.Hour, 0, false, ""}, // -speed max
		{time.Hour, 3600, false, ""},    // one second: nothing to wait for
		{10 * time.Minute, 60, false, "10m of model time at -speed 60: about 10 seconds of wall-clock time; -speed max for the fastest"},
	} {
		got, ok := pacedNote(tc.model, tc.speed, tc.jobs)
		assert.Equal(t, tc.want != "", ok, "%v at %v", tc.model, tc.speed)
		assert.Equal(t, tc.want, got)
	}
}

// TestProgressLogsJSONLinesOffATerminal: off a terminal, the progress is a
// JSON line at most every progressEvery, as runs end, and one at the end,
// with the runs done, the rate and the time left.
func TestProgressLogsJSONLinesOffATerminal(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	p := newProgress(&out, 20, true, clock)
	for range 8 { // 8 runs in 8 s: no line yet
		now = now.Add(time.Second)
		p.add()
	}
	assert.Empty(t, out.String())
	for range 8 { // 2 more make 10 s: one line; the next 6 none
		now = now.Add(time.Second)
		p.add()
	}
	p.done()
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	require.Len(t, lines, 2, out.String())
	var first, last map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &last))
	assert.Equal(t, map[string]any{"level": "info", "msg": "experiment_progress",
		"runs_done": 10.0, "runs": 20.0, "elapsed_s": 10.0, "runs_per_s": 1.0, "left_s": 10.0}, first)
	assert.Equal(t, map[string]any{"level": "info", "msg": "experiment_progress",
		"runs_done": 16.0, "runs": 20.0, "elapsed_s": 16.0, "runs_per_s": 1.0, "left_s": 4.0}, last)
}

// TestProgressOnATerminalIsABar: on a terminal the bar says the runs done,
// the rate and the time left, redrawn in place.
func TestProgressOnATerminalIsABar(t *testing.T) {
	var out bytes.Buffer
	now := time.Unix(1000, 0)
	p := &progress{w: &out, total: 40, now: func() time.Time { return now }, start: now, bar: true}
	now = now.Add(4 * time.Second)
	for range 10 {
		p.add()
	}
	p.done()
	last := out.String()[strings.LastIndex(out.String(), "\r")+1:]
	assert.Equal(t, "runs 10/40 [#######.......................]  25%  2.5 runs/s  about 12s left\033[K\n", last)
}

func TestProgressQuietShowsNothing(t *testing.T) {
	var out bytes.Buffer
	p := newProgress(&out, 3, false, time.Now)
	for range 3 {
		p.add()
	}
	p.done()
	assert.Empty(t, out.String())
}
