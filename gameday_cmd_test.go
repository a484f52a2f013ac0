package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBinaryRefusesBadGamedayInput runs the binary with every kind of bad
// value of the game day's flags, and with flags a game cannot take: each
// is refused with exit 2 and one line on stderr that names what is wrong
// and what is valid, before anything is served or run (no "game day on"
// line, no URL, nothing on stdout, no file written), and at once.
func TestBinaryRefusesBadGamedayInput(t *testing.T) {
	bin := buildBinary(t)
	// A port in use: held by the test while the binary tries it.
	held, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer held.Close()
	badFile := "name: x\nbogus: 1\n"
	const game = "travis-2015-osx"
	tests := []struct {
		name string
		args []string
		want []string // parts of the one line
	}{
		{"unknown scenario", []string{"-gameday", "nosuch"}, []string{`-gameday: no built-in scenario "nosuch"`, "-list-scenarios"}},
		{"bad file", []string{"-gameday", "bad.yaml"}, []string{`bad.yaml:2:1: unknown key "bogus"`, "docs/scenarios.md"}},
		{"missing file", []string{"-gameday", "missing.yaml"}, []string{"-gameday: open missing.yaml: no such file"}},
		{"empty", []string{"-gameday", ""}, []string{"-gameday is given an empty value"}},

		{"addr unparsable", []string{"-gameday", game, "-gameday-addr", "abc"}, []string{`-gameday-addr "abc": want host:port`}},
		{"addr port out of range", []string{"-gameday", game, "-gameday-addr", "127.0.0.1:99999"}, []string{`-gameday-addr "127.0.0.1:99999": want a port number from 0 to 65535`}},
		{"addr negative port", []string{"-gameday", game, "-gameday-addr", "127.0.0.1:-1"}, []string{"want a port number from 0 to 65535"}},
		{"addr no host", []string{"-gameday", game, "-gameday-addr", ":8080"}, []string{`-gameday-addr ":8080" would listen on every interface: give 127.0.0.1:8080`}},
		{"addr a name", []string{"-gameday", game, "-gameday-addr", "example.com:8080"}, []string{"want an IP address or localhost as the host"}},
		{"addr in use", []string{"-gameday", game, "-gameday-addr", held.Addr().String()}, []string{
			`-gameday-addr "` + held.Addr().String() + `": address already in use: want a free port`, "port 0: any free one"}},
		{"addr not this machine's", []string{"-gameday", game, "-gameday-addr", "192.0.2.1:8080"}, []string{"cannot assign requested address: want a free port on an address of this machine"}},

		{"start not a time", []string{"-gameday", game, "-gameday-start", "soon"}, []string{`-gameday-start "soon": want a duration from the run's start (e.g. 110h)`, "2015-08-04T14:00:00Z"}},
		{"start before the start", []string{"-gameday", game, "-gameday-start", "2015-07-30T00:00:00Z"}, []string{
			"-gameday-start 2015-07-30T00:00:00Z: want a model time from the run's start, 2015-07-31 00:00:00, to before its end, 2015-08-06 06:00:00"}},
		{"start negative", []string{"-gameday", game, "-gameday-start", "-1h"}, []string{"-gameday-start -1h: want a model time from the run's start"}},
		{"start at the end", []string{"-gameday", game, "-gameday-start", "2015-08-06T06:00:00Z"}, []string{"to before its end, 2015-08-06 06:00:00"}},
		{"start after the end", []string{"-gameday", game, "-gameday-start", "200h"}, []string{"-gameday-start 200h: want a model time"}},
		{"start after a shorter -duration", []string{"-gameday", game, "-duration", "10h", "-gameday-start", "11h"}, []string{"to before its end, 2015-07-31 10:00:00"}},

		{"pace negative", []string{"-gameday", game, "-gameday-pace", "-1s"}, []string{"-gameday-pace -1s: want the wall time of a model hour, above 0 and at most 1h"}},
		{"pace zero", []string{"-gameday", game, "-gameday-pace", "0"}, []string{"-gameday-pace 0s: want the wall time of a model hour"}},
		{"pace absurd", []string{"-gameday", game, "-gameday-pace", "2h"}, []string{"-gameday-pace 2h0m0s: want the wall time of a model hour"}},
		{"pace not a duration", []string{"-gameday", game, "-gameday-pace", "fast"}, []string{`invalid value "fast" for flag -gameday-pace: want the wall time of a model hour`}},

		{"idle negative", []string{"-gameday", game, "-gameday-idle", "-1s"}, []string{"-gameday-idle -1s: want 1s to 24h"}},
		{"idle zero", []string{"-gameday", game, "-gameday-idle", "0"}, []string{"-gameday-idle 0s: want 1s to 24h"}},
		{"idle absurd", []string{"-gameday", game, "-gameday-idle", "1000000h"}, []string{"-gameday-idle 1000000h0m0s: want 1s to 24h"}},
		{"idle not a duration", []string{"-gameday", game, "-gameday-idle", "never"}, []string{`invalid value "never" for flag -gameday-idle: want 1s to 24h`}},

		{"with -experiment", []string{"-gameday", game, "-experiment", "travis-2015-what-if"}, []string{"-experiment would do nothing", "-gameday-addr, -gameday-start, -gameday-pace, -gameday-idle only"}},
		{"with -analyze", []string{"-gameday", game, "-analyze", "x.csv"}, []string{"-analyze would do nothing"}},
		{"with -scenario", []string{"-gameday", game, "-scenario", game}, []string{"-scenario would do nothing"}},
		{"with -series", []string{"-gameday", game, "-series", "s.csv"}, []string{"-series would do nothing"}},
		{"with -speed", []string{"-gameday", game, "-speed", "max"}, []string{"-speed would do nothing; give -gameday-pace"}},
		{"a game's flag without -gameday", []string{"-scenario", game, "-gameday-pace", "10s"}, []string{"-gameday-pace goes with -gameday, which is not given"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			require.NoError(t, os.WriteFile(filepath.Join(dir, "bad.yaml"), []byte(badFile), 0o644))
			// A game accepted would wait at its start for a browser, for
			// minutes: killed at 10 s, it fails the test rather than hang it.
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tt.args...)
			cmd.Dir = dir
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "stderr: %s", stderr.String())
			assert.Equal(t, exitBadInput, exit.ExitCode())
			assert.Empty(t, stdout.String())
			line := stderr.String()
			assert.Equal(t, 1, strings.Count(line, "\n"), "one line: %q", line)
			assert.True(t, strings.HasPrefix(line, "vmstorm: "), line)
			for _, w := range tt.want {
				assert.Contains(t, line, w)
			}
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, entries, 1, "nothing written beside bad.yaml")
		})
	}
}
