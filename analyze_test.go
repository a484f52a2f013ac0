package main

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// judgedPart is what a run's summary and -analyze both print of a run's
// analysis: whether it stormed, with the requeues and arrivals, the
// incident's times, the phases and the checks, with runs of spaces made
// one (the tables' columns are as wide as each table's rows), and a value
// wrapped under its column joined to its line again (the summary's values
// start further right than -analyze's, at 28 columns and 20: a checks'
// figure wraps at 16 in both).
func judgedPart(t *testing.T, out string) string {
	t.Helper()
	i := strings.Index(out, "REQUEUE STORM")
	require.GreaterOrEqual(t, i, 0, "no storm line in:\n%s", out)
	var lines []string
	for line := range strings.Lines(out[i:]) {
		flat := strings.Join(strings.Fields(line), " ")
		if n := len(lines); n > 0 && strings.HasPrefix(line, strings.Repeat(" ", 18)) {
			lines[n-1] += " " + flat
			continue
		}
		lines = append(lines, flat)
	}
	return strings.Join(lines, "\n")
}

// myScenario judges its run otherwise than the defaults: another window,
// alert rules and drained, three queues, and checks of its own.
const myScenario = `name: my-storm
duration: 6h
epoch: 2020-02-02T00:00:00Z
cluster:
  vms: 150
workload:
  queues:
    - {name: a, share: 1}
    - {name: b, share: 1}
    - {name: c, share: 1}
alerts:
  for: 3m
  requeue_rate_max: 20
reporting:
  window: 7m
  drained: 20m
timeline:
  - {at: 30m, action: rotate_cleanup_password}
  - {at: 3h, action: fix_cleanup_credentials}
  - {at: 3h, action: restart_janitor}
checks:
  - {name: the cluster fills, calibration: true, metric: in_use, stat: max, from: 30m, to: 3h, min: 150}
  - {name: some requeues, calibration: true, metric: requeues, stat: delta, from: 30m, to: 6h, min: 1}
`

// TestAnalyzeAloneJudgesAsTheRunDid: a series carries what judged its
// run, so that -analyze of it alone prints what the run printed of its
// analysis (the storm, the incident's times, the phases, the checks):
// for a built-in scenario, cut short or not, and for a run of no
// scenario with flags that judge it; a scenario file must be given, as
// it was. Flags or a scenario that would judge it otherwise are refused,
// in one line; a series of an older vmstorm is judged with what is given,
// and a line says so.
func TestAnalyzeAloneJudgesAsTheRunDid(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "my.yaml"), []byte(myScenario), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "edited.yaml"), []byte(strings.Replace(myScenario, "min: 150}", "min: 149}", 1)), 0o644))

	runs := []struct {
		name    string
		run     []string // writes its series to NAME.csv
		analyze []string // besides -analyze NAME.csv
	}{
		{"built-in", []string{"-scenario", "travis-2018-gce"}, nil},
		{"built-in-cut", []string{"-scenario", "travis-2018-gce", "-duration", "13h"}, nil},
		// Cut at the instant of the first crash, whose builds are requeued
		// after the sample at that instant: the series ends with a second
		// row, the state at the end, and the storm line counts as the
		// summary's JOBS do (106 requeues; the analysis said 0 before).
		{"built-in-cut-at-a-crash", []string{"-scenario", "travis-2018-gce", "-duration", "12h"}, nil},
		{"no-scenario", []string{"-break-cleanup", "-break-at", "10m", "-window", "7m", "-alert-for", "2m", "-drained", "12m", "-duration", "4h"}, nil},
		{"file", []string{"-scenario", "my.yaml"}, []string{"-scenario", "my.yaml"}},
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			ran := vmstorm(t, bin, dir, nil, append(r.run, "-speed", "max", "-quiet", "-seed", "3", "-series", r.name+".csv")...)
			require.Contains(t, []int{0, 3}, ran.code, ran.stderr)
			got := vmstorm(t, bin, dir, nil, append([]string{"-analyze", r.name + ".csv"}, r.analyze...)...)
			require.Equal(t, 0, got.code, got.stderr)
			assert.Empty(t, got.stderr)
			assert.Equal(t, judgedPart(t, ran.stdout), judgedPart(t, got.stdout), "-analyze prints what the run printed of its analysis")
			requeued := regexp.MustCompile(`requeued +(\d+) events`).FindStringSubmatch(ran.stdout)
			storm := regexp.MustCompile(`REQUEUE STORM +(?:yes|no): (\d+) requeues`).FindStringSubmatch(ran.stdout)
			require.Len(t, requeued, 2, ran.stdout)
			require.Len(t, storm, 2, ran.stdout)
			assert.Equal(t, requeued[1], storm[1], "the storm line counts the requeues JOBS counts")
			if strings.Contains(strings.Join(r.run, " "), "-scenario") {
				assert.Contains(t, got.stdout, "CALIBRATIONS", "the scenario's checks")
			}
		})
	}

	before := snapshot(t, dir)
	for _, tt := range []struct {
		name string
		args []string
		says []string
	}{
		{"a window the run did not have", []string{"-analyze", "no-scenario.csv", "-window", "10m"}, []string{"the run was judged with -window 7m0s, not 10m0s"}},
		{"the window the run had, and an alert rule it did not", []string{"-analyze", "no-scenario.csv", "-window", "7m", "-alert-for", "5m"}, []string{"-alert-for 2m0s, not 5m0s"}},
		{"another built-in scenario", []string{"-analyze", "built-in.csv", "-scenario", "travis-2019-gce"}, []string{"the run was judged with"}},
		{"a scenario for a run of none", []string{"-analyze", "no-scenario.csv", "-scenario", "travis-2018-gce"}, []string{"the run was judged with"}},
		{"a scenario file, not given", []string{"-analyze", "file.csv"}, []string{"the run replayed the scenario file my.yaml", "give -scenario my.yaml"}},
		{"the scenario file, its checks edited", []string{"-analyze", "file.csv", "-scenario", "edited.yaml"}, []string{"judged by checks of fingerprint", "give the scenario the run replayed"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := vmstorm(t, bin, dir, nil, tt.args...)
			refused(t, r, before, snapshot(t, dir), tt.says...)
		})
	}

	t.Run("an older vmstorm's series", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join(dir, "no-scenario.csv"))
		require.NoError(t, err)
		var old []string
		for line := range strings.Lines(string(data)) {
			fields := strings.Split(strings.TrimSuffix(line, "\n"), ",")
			old = append(old, strings.Join(fields[:len(fields)-1], ",")) // without the settings
		}
		require.False(t, slices.ContainsFunc(old, func(l string) bool { return strings.Contains(l, "settings") }))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "old.csv"), []byte(strings.Join(old, "\n")+"\n"), 0o644))
		r := vmstorm(t, bin, dir, nil, "-analyze", "old.csv", "-window", "7m", "-alert-for", "2m", "-drained", "12m")
		require.Equal(t, 0, r.code, r.stderr)
		assert.Equal(t, "vmstorm: -analyze old.csv: the series carries no settings of its run (an older vmstorm's, or no rows): judged with the flags and scenario given\n", r.stderr)
		want := vmstorm(t, bin, dir, nil, "-analyze", "no-scenario.csv")
		assert.Equal(t, want.stdout, r.stdout, "judged with the flags given, which are the run's")
	})
}
