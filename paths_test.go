package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/scenario"
)

func TestConflictingFlagsAreRefused(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"-list-scenarios", "-print-scenario", "travis-2015-osx"}, "-list-scenarios and -print-scenario cannot go together"},
		{[]string{"-print-scenario", "travis-2015-osx", "-analyze", "x.csv"}, "-print-scenario and -analyze cannot go together"},
		{[]string{"-list-scenarios", "-scenario", "travis-2015-osx"}, "-list-scenarios prints and exits: -scenario would do nothing; give -list-scenarios alone"},
		{[]string{"-print-scenario", "travis-2015-osx", "-vms", "3"}, "-print-scenario prints and exits: -vms would do nothing"},
		{[]string{"-analyze", "x.csv", "-vms", "3"}, "-analyze judges a series a run wrote and runs no model: -vms would do nothing"},
		{[]string{"-analyze", "x.csv", "-report", "x.html"}, "-analyze judges a series a run wrote and runs no model: -report would do nothing"},
		{[]string{"-break-at", "5m"}, "-break-at times -break-cleanup, which is not given"},
		{[]string{"-break-cleanup=false", "-break-at", "5m"}, "-break-at times -break-cleanup, which is not given"},
		{[]string{"-pprof"}, "-pprof serves the profiler on -metrics-addr, which is not given"},
		// A mitigation's setting without the mitigation does nothing.
		{[]string{"-backoff-base", "1m"}, "-backoff-base sets -backoff, which is off (not given, nor turned on by the scenario or its timeline): add -backoff, or drop -backoff-base"},
		{[]string{"-breaker-probes", "3"}, "-breaker-probes sets -breaker, which is off"},
		{[]string{"-reaper-ttl", "1h"}, "-reaper-ttl sets -reaper, which is off"},
		{[]string{"-shed-after", "1h"}, "-shed-after sets -shed, which is off"},
		{[]string{"-retry-budget-tokens", "5"}, "-retry-budget-tokens sets -retry-budget, which is off"},
		{[]string{"-backoff=false", "-backoff-cap", "1h"}, "-backoff-cap sets -backoff, which is off"},
		{[]string{"-api-burst", "10"}, "-api-burst sets -api-rate, which is off"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			_, _, _, err := parseFlags(tt.args, io.Discard)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "\n")
		})
	}
	// What -analyze does take: the flags that judge a run.
	dir := t.TempDir()
	csv := filepath.Join(dir, "run.csv")
	require.NoError(t, os.WriteFile(csv, nil, 0o644))
	_, _, _, err := parseFlags([]string{"-analyze", csv, "-scenario", "travis-2015-osx", "-alert-for", "2m", "-window", "5m", "-drained", "20m"}, io.Discard)
	assert.NoError(t, err)
	_, _, _, err = parseFlags([]string{"-break-cleanup", "-break-at", "5m"}, io.Discard)
	assert.NoError(t, err)
	// A setting whose switch is on, or is turned on by the timeline, is
	// not inert.
	for _, args := range [][]string{
		{"-backoff", "-backoff-base", "1m"},
		{"-api-rate", "5", "-api-burst", "10"},
		{"-scenario", writeScenario(t, "on.yaml", "mitigations:\n  shed: true\n"), "-shed-after", "2h"},
		{"-scenario", writeScenario(t, "later.yaml", "timeline:\n  - at: 30m\n    action: enable_mitigation\n    mitigation: reaper\n"), "-reaper-ttl", "2h"},
	} {
		_, _, _, err = parseFlags(args, io.Discard)
		assert.NoError(t, err, args)
	}
}

// writeScenario writes a scenario of one hour with body added, and returns
// its path.
func writeScenario(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte("name: t\nduration: 1h\n"+body), 0o644))
	return path
}

// A path that cannot serve is refused before anything is written: every
// file keeps its contents, no file is made, and the exit status is 2.
func TestBadPathsAreRefusedBeforeAnythingIsWritten(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	write := func(name, content string) string {
		path := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
		return path
	}
	src, ok := scenario.Source("travis-2015-osx")
	require.True(t, ok)
	mine := write("my.yaml", string(src))
	oldLog := write("old.log", "keep me\n")
	require.NoError(t, os.Mkdir(filepath.Join(dir, "dir.html"), 0o755))
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer taken.Close()

	tests := []struct {
		name string
		args []string
		want string
	}{
		{"report in a missing directory", []string{"-report", "/nonexistent/dir/x.html"}, "-report /nonexistent/dir/x.html: directory /nonexistent/dir/: no such file or directory"},
		{"report in /proc", []string{"-report", "/proc/F.html"}, "-report /proc/F.html: cannot create files in /proc/"},
		{"report at a directory", []string{"-report", "dir.html"}, "-report dir.html: is a directory"},
		{"log over its scenario", []string{"-scenario", mine, "-log-file", "my.yaml"}, "-scenario " + mine + " and -log-file my.yaml are the same file"},
		{"log and series one file", []string{"-log-file", "a.csv", "-series", "a.csv"}, "-log-file a.csv and -series a.csv are the same file"},
		{"log and report one file", []string{"-log-file", "b.html", "-report", "b.html"}, "-log-file b.html and -report b.html are the same file"},
		{"series over the log", []string{"-log-file", "old.log", "-series", "new.csv", "-metrics-addr", taken.Addr().String()}, "-metrics-addr: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, dir)
			cmd := exec.Command(bin, append(tt.args, "-speed", "max", "-duration", "10m")...)
			cmd.Dir = dir
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit)
			assert.Equal(t, exitBadInput, exit.ExitCode(), stderr.String())
			assert.Contains(t, stderr.String(), tt.want)
			assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
			assert.Empty(t, stdout.String())
			assert.Equal(t, before, snapshot(t, dir), "every file as it was, no file made")
		})
	}
	data, err := os.ReadFile(oldLog)
	require.NoError(t, err)
	assert.Equal(t, "keep me\n", string(data))
}

// snapshot is every file in dir with its contents.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			files[e.Name()] = "(dir)"
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		files[e.Name()] = string(data)
	}
	return files
}

// The first signal cancels the run with the signal as its cause; the
// second calls again, which stops at once; the watcher returns when told.
func TestSecondSignalStopsAtOnce(t *testing.T) {
	sigs := make(chan os.Signal)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	again := make(chan os.Signal, 1)
	stop := watchSignals(sigs, cancel, func(s os.Signal) { again <- s })

	sigs <- syscall.SIGINT
	<-ctx.Done()
	var sig signalled
	require.True(t, errors.As(context.Cause(ctx), &sig))
	assert.Equal(t, syscall.SIGINT, sig.sig)
	assert.Empty(t, again, "one signal: the run stops and says what it did")

	sigs <- syscall.SIGTERM
	assert.Equal(t, syscall.SIGTERM, <-again)
	stop()
}

// A run that would hold more jobs and VMs than its budget stops there,
// prints its summary, says why in one line, and exits 1.
func TestMemoryBudgetStopsTheRunAndSaysSo(t *testing.T) {
	bin := buildBinary(t)
	cmd := exec.Command(bin, "-arrival-rate", "1e7", "-max-held", "1000", "-speed", "max", "-quiet")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, exitFailed, exit.ExitCode())
	assert.Contains(t, stdout.String(), "ended                     memory budget reached")
	assert.Contains(t, stdout.String(), "nothing lost              yes")
	assert.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
	assert.Contains(t, stderr.String(), "vmstorm: memory budget reached: the model held ")
	assert.Contains(t, stderr.String(), "the most -max-held 1000 allows; raise -max-held, or shorten the run")
}
