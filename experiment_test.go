package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/experiment"
)

// The tests of -experiment run the binary as a user does, on a small
// experiment of their own: a base scenario of 200 VMs whose janitor is
// broken for two hours of a four-hour run, three variants, and a sweep of
// two parameters.

// smallBase is the experiments' base scenario.
const smallBase = `name: small-storm
description: 200 VMs, the janitor broken for two hours, then fixed
duration: 4h
seed: 11
workload:
  arrival_rate: 5
cluster:
  vms: 200
timeline:
  - at: 10m
    action: rotate_cleanup_password
  - at: 2h
    action: fix_cleanup_credentials
  - at: 2h
    action: restart_janitor
`

// smallExperiment has every part of an experiment file: variants by set
// and drop, a recovery question, and a sweep over a parameter and the
// trigger's removal. 3 x 8 + 2 x 2 x 3 = 36 tasks, a few seconds in all.
const smallExperiment = `name: small-what-if
description: a small storm, fixed or not, with a breaker
base: base.yaml
replicas: 8
seed: 5
recovery:
  removed_by: [fix_cleanup_credentials, restart_janitor]
  within: 90m
variants:
  - name: fix at 2h
  - name: never fixed
    drop: [fix_cleanup_credentials, restart_janitor]
  - name: breaker
    set: {mitigations: {breaker: true}}
sweep:
  variant: fix at 2h
  replicas: 3
  x:
    key: workload.arrival_rate
    values: [3, 8]
  y:
    key: recovery.trigger_removed
    values: [1h, 2h]
`

// smallTasks are its runs: each replica's and its control's, but never
// fixed's, whose trigger is never removed.
const smallTasks = 2*8*2 + 8 + 2*2*3*2

// writeExperiment writes the base scenario and an experiment file into dir.
func writeExperiment(t *testing.T, dir, name, text string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "base.yaml"), []byte(smallBase), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644))
}

// environ is the test's environment without the variables a Kubernetes
// Indexed Job or a Slurm job sets (the tests give them, or leave them out,
// explicitly), plus env.
func environ(env ...string) []string {
	out := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "JOB_COMPLETION_INDEX=") || strings.HasPrefix(kv, "SLURM_")
	})
	return append(out, env...)
}

// slurmTask is the environment Slurm gives a task of the job array
// --array=low-high:step (job 4711, on a node of 2 CPUs): the variables a
// real array sets, the array's and the job's.
func slurmTask(task, low, high, step int) []string {
	count := (high-low)/step + 1
	return []string{
		"SLURM_ARRAY_JOB_ID=4711", fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", task), fmt.Sprintf("SLURM_ARRAY_TASK_COUNT=%d", count),
		fmt.Sprintf("SLURM_ARRAY_TASK_MIN=%d", low), fmt.Sprintf("SLURM_ARRAY_TASK_MAX=%d", high), fmt.Sprintf("SLURM_ARRAY_TASK_STEP=%d", step),
		fmt.Sprintf("SLURM_JOB_ID=%d", 4711+task), fmt.Sprintf("SLURM_JOBID=%d", 4711+task), "SLURM_JOB_NAME=vmstorm-mine",
		"SLURM_CPUS_ON_NODE=2", "SLURM_JOB_CPUS_PER_NODE=2", "SLURM_NTASKS=1", "SLURM_NPROCS=1", "SLURM_NNODES=1", "SLURM_JOB_NUM_NODES=1",
		"SLURM_NODELIST=node01", "SLURM_JOB_NODELIST=node01", "SLURMD_NODENAME=node01", "SLURM_SUBMIT_DIR=/home/me", "SLURM_SUBMIT_HOST=login01",
		"SLURM_CLUSTER_NAME=cluster", "SLURM_JOB_PARTITION=debug", "SLURM_PROCID=0", "SLURM_LOCALID=0", "SLURM_TASK_PID=12345",
	}
}

type ran struct {
	stdout, stderr string
	code           int
}

// vmstorm runs the binary in dir with env added to a clean environment.
func vmstorm(t *testing.T, bin, dir string, env []string, args ...string) ran {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Env = dir, environ(env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return ran{stdout.String(), stderr.String(), code}
}

// resultLines reads a results file's lines.
func resultLines(t *testing.T, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

func TestExperimentShardsMergedGiveTheTableAndReportOfOneProcess(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	writeExperiment(t, dir, "exp.yaml", smallExperiment)
	// A temporary a killed experiment left of its report: the next one
	// removes it, as a run does its report's.
	stale := filepath.Join(dir, ".one.html.tmp-4242")
	require.NoError(t, os.WriteFile(stale, nil, 0o644))

	one := vmstorm(t, bin, dir, nil, "-experiment", "exp.yaml", "-results", "one.jsonl", "-report", "one.html", "-verdicts", "one-verdicts.jsonl")
	require.Equal(t, 0, one.code, one.stderr)
	assert.NoFileExists(t, stale, "the stale temporary of the report")
	for _, part := range []string{"experiment small-what-if\n", "JOBS_DELAYED (jobs)", "RECOVERS BY ITSELF", "SWEEP of fix at 2h"} {
		require.Contains(t, one.stdout, part)
	}
	all := resultLines(t, filepath.Join(dir, "one.jsonl"))
	require.Len(t, all, smallTasks, "a line per task")
	slices.Sort(all)
	report, err := os.ReadFile(filepath.Join(dir, "one.html"))
	require.NoError(t, err)
	verdicts, err := os.ReadFile(filepath.Join(dir, "one-verdicts.jsonl"))
	require.NoError(t, err)
	require.Contains(t, string(verdicts), `{"kind":"family","experiment":"small-what-if"`)

	// Each way of telling a process its shard: the flag, a Kubernetes
	// Indexed Job (index from 0) and a Slurm job array (--array=1-3).
	tests := []struct {
		name string
		args func(i int) []string
		env  func(i int) []string
	}{
		{"-shard i/3",
			func(i int) []string { return []string{"-shard", fmt.Sprintf("%d/3", i)} },
			func(int) []string { return nil }},
		{"-shard /3 with JOB_COMPLETION_INDEX",
			func(int) []string { return []string{"-shard", "/3"} },
			func(i int) []string { return []string{fmt.Sprintf("JOB_COMPLETION_INDEX=%d", i)} }},
		{"no -shard in a Slurm job array",
			func(int) []string { return nil },
			func(i int) []string { return slurmTask(i+1, 1, 3, 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub := t.TempDir()
			writeExperiment(t, sub, "exp.yaml", smallExperiment)
			var union []string
			for i := range 3 {
				args := append([]string{"-experiment", "exp.yaml", "-results", fmt.Sprintf("shard-%d.jsonl", i)}, tt.args(i)...)
				shard := vmstorm(t, bin, sub, tt.env(i), args...)
				require.Equal(t, 0, shard.code, "shard %d: %s", i, shard.stderr)
				assert.NotEqual(t, one.stdout, shard.stdout, "shard %d's table is of its share alone", i)
				lines := resultLines(t, filepath.Join(sub, fmt.Sprintf("shard-%d.jsonl", i)))
				assert.NotEmpty(t, lines, "shard %d runs every third pair of tasks", i)
				assert.Less(t, len(lines), smallTasks/2, "shard %d runs every third pair of tasks", i)
				// A replica's control runs in its shard: each line of a
				// replica with a control comes with it.
				type run struct {
					Variant string
					Point   []int
					Replica int
					Control bool
				}
				runs := make([]run, len(lines))
				replicas := map[string]bool{}
				for j, line := range lines {
					require.NoError(t, json.Unmarshal([]byte(line), &runs[j]))
					if r := runs[j]; !r.Control {
						replicas[fmt.Sprint(r.Variant, r.Point, r.Replica)] = true
					}
				}
				controls := 0
				for _, r := range runs {
					if r.Control {
						controls++
						assert.True(t, replicas[fmt.Sprint(r.Variant, r.Point, r.Replica)], "shard %d: a control without its replica", i)
					}
				}
				assert.Positive(t, controls)
				union = append(union, lines...)
			}
			slices.Sort(union)
			assert.Equal(t, all, union, "the shards ran the tasks of one process, each once, with the same results")

			// The merge as a job submitted from inside the array (its last
			// task's variables, inherited): it reads every shard all the same.
			merged := vmstorm(t, bin, sub, tt.env(2), "-experiment", "exp.yaml", "-merge", "shard-*.jsonl", "-report", "merged.html", "-verdicts", "merged.jsonl")
			require.Equal(t, 0, merged.code, merged.stderr)
			assert.Equal(t, one.stdout, merged.stdout, "the merged table is one process's, byte for byte")
			mergedReport, err := os.ReadFile(filepath.Join(sub, "merged.html"))
			require.NoError(t, err)
			assert.True(t, bytes.Equal(report, mergedReport), "the merged report is one process's, byte for byte")
			mergedVerdicts, err := os.ReadFile(filepath.Join(sub, "merged.jsonl"))
			require.NoError(t, err)
			assert.Equal(t, string(verdicts), string(mergedVerdicts), "the merged verdicts are one process's, byte for byte")
		})
	}
}

// refused checks a run was bad input: exit 2, nothing on stdout, one line
// on stderr that holds want, and every file as it was (see snapshot).
func refused(t *testing.T, r ran, before, after map[string]string, want ...string) {
	t.Helper()
	assert.Equal(t, 2, r.code, "exit 2: %s", r.stderr)
	assert.Empty(t, r.stdout)
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	assert.True(t, strings.HasPrefix(r.stderr, "vmstorm: "), r.stderr)
	for _, w := range want {
		assert.Contains(t, r.stderr, w)
	}
	assert.Equal(t, before, after, "nothing written")
}

// hinted is an error of a file: FILE:LINE:COL: what is wrong (hint).
var hinted = regexp.MustCompile(`^vmstorm: -experiment: bad\.yaml:\d+:\d+: .+ \(.+\)\n$`)

func TestExperimentBadFileIsRefusedWithItsPlace(t *testing.T) {
	bin := buildBinary(t)
	head := "name: bad\nbase: base.yaml\nreplicas: 2\n"
	one := head + "variants:\n  - name: x\n"
	tests := []struct {
		name, file string
		at         string // FILE:LINE:COL:
		want       string
	}{
		{"unknown key", "name: bad\nbase: base.yaml\nreplica: 2\nvariants:\n  - name: x\n",
			"bad.yaml:3:1: ", `unknown key "replica"`},
		{"replicas out of range", "name: bad\nbase: base.yaml\nreplicas: 0\nvariants:\n  - name: x\n",
			"bad.yaml:3:11: ", "replicas 0: want from 1 to"},
		{"unknown measure", one + "measures: [wait_p95, waits]\n",
			"bad.yaml:6:22: ", `unknown measure "waits"`},
		{"unknown parameter in set", head + "variants:\n  - name: x\n    set: {cluster: {vmz: 3}}\n",
			"bad.yaml:6:21: ", "did you mean cluster.vms?"},
		{"bad value in set", head + "variants:\n  - name: x\n    set: {duration: 1x}\n",
			"bad.yaml:6:21: ", "duration 1x: want a duration"},
		{"unknown action in drop", head + "variants:\n  - name: x\n    drop: [fix_everything]\n",
			"bad.yaml:6:12: ", `unknown action "fix_everything"`},
		{"unknown action in add", head + "variants:\n  - name: x\n    add:\n      - at: 1h\n        action: restart_janitr\n",
			"bad.yaml:8:17: ", `unknown action "restart_janitr"`},
		{"set gives the timeline", head + "variants:\n  - name: x\n    set: {timeline: []}\n",
			"bad.yaml:6:10: ", "set cannot give timeline"},
		{"a variant's name twice", head + "variants:\n  - name: x\n  - name: x\n",
			"bad.yaml:6:11: ", `the variant name "x" is given twice`},
		{"recovery within not a duration", one + "recovery:\n  removed_by: [fix_cleanup_credentials]\n  within: soon\n",
			"bad.yaml:8:11: ", `"soon" is not a duration`},
		{"sweep of an unknown key", one + "sweep:\n  variant: x\n  x: {key: workload.arival_rate, values: [1]}\n",
			"bad.yaml:8:12: ", "did you mean workload.arrival_rate?"},
		{"sweep of an unknown variant", one + "sweep:\n  variant: y\n  x: {key: workload.arrival_rate, values: [1]}\n",
			"bad.yaml:7:12: ", `no variant "y"`},
		{"base with a mistake of its own", "name: bad\nbase: badbase.yaml\nreplicas: 2\nvariants:\n  - name: x\n",
			"bad.yaml:2:7: ", `badbase.yaml:4:3: unknown key "cluster.vmz"`},
		{"a sweep point whose backoff base is above its cap", one + "sweep:\n  variant: x\n  x: {key: mitigations.backoff_base, values: [1m, 8m]}\n  y: {key: mitigations.backoff_cap, values: [2m, 10m]}\n",
			"bad.yaml:9:46: ", "the sweep's point mitigations.backoff_base 8m, mitigations.backoff_cap 2m is no valid run"},
		{"trigger removed after the run's end", one + "recovery:\n  removed_by: [fix_cleanup_credentials, restart_janitor]\n  within: 1h\n" +
			"sweep:\n  variant: x\n  x: {key: recovery.trigger_removed, values: [1h, 9h]}\n",
			"bad.yaml:11:51: ", "recovery.trigger_removed 9h: want a model time within the run's duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			writeExperiment(t, dir, "bad.yaml", tt.file)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "badbase.yaml"), []byte("name: b\nduration: 1h\ncluster:\n  vmz: 3\n"), 0o644))
			before := snapshot(t, dir)
			r := vmstorm(t, bin, dir, nil, "-experiment", "bad.yaml", "-results", "out.jsonl")
			refused(t, r, before, snapshot(t, dir), "vmstorm: -experiment: "+tt.at, tt.want)
			assert.Regexp(t, hinted, r.stderr, "FILE:LINE:COL: what is wrong (hint)")
			assert.NoFileExists(t, filepath.Join(dir, "out.jsonl"))
		})
	}
}

// TestExperimentTableOutlivesItsResultsFile: results that cannot be
// written fail the experiment (exit 1, one line), after the table of the
// replicas that ran.
func TestExperimentTableOutlivesItsResultsFile(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full here")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	writeExperiment(t, dir, "exp.yaml", smallExperiment)
	r := vmstorm(t, bin, dir, nil, "-experiment", "exp.yaml", "-results", "/dev/full", "-quiet")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "experiment small-what-if")
	assert.Equal(t, "vmstorm: -results: write /dev/full: no space left on device\n", r.stderr)
}

func TestExperimentBadFlagsAreRefused(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	writeExperiment(t, dir, "exp.yaml", smallExperiment)
	// Two shards' results to merge: shard 0 of 2, and a copy of it.
	r := vmstorm(t, bin, dir, nil, "-experiment", "exp.yaml", "-shard", "0/2", "-results", "shard-0.jsonl")
	require.Equal(t, 0, r.code, r.stderr)
	data, err := os.ReadFile(filepath.Join(dir, "shard-0.jsonl"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "copy-of-0.jsonl"), data, 0o644))
	// The results of another experiment: the same, renamed.
	writeExperiment(t, dir, "other.yaml", strings.Replace(smallExperiment, "name: small-what-if", "name: other", 1))
	r = vmstorm(t, bin, dir, nil, "-experiment", "other.yaml", "-shard", "1/2", "-results", "other.jsonl")
	require.Equal(t, 0, r.code, r.stderr)
	// Shard 1 of the same experiment file run against another base: the
	// same file, its base's description edited.
	elsewhere := t.TempDir()
	writeExperiment(t, elsewhere, "exp.yaml", smallExperiment)
	require.NoError(t, os.WriteFile(filepath.Join(elsewhere, "base.yaml"), []byte(strings.Replace(smallBase, "then fixed", "then fixed (edited)", 1)), 0o644))
	r = vmstorm(t, bin, elsewhere, nil, "-experiment", "exp.yaml", "-shard", "1/2", "-results", filepath.Join(dir, "other-base.jsonl"))
	require.Equal(t, 0, r.code, r.stderr)
	// A result whose sweep point is [], which is none: of an experiment
	// with a sweep, and of one without.
	withEmptyPoint := func(from, to string) {
		lines := resultLines(t, filepath.Join(dir, from))
		require.NotContains(t, lines[0], `"point"`)
		lines[0] = strings.Replace(lines[0], `"replica":`, `"point":[],"replica":`, 1)
		require.NoError(t, os.WriteFile(filepath.Join(dir, to), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	}
	withEmptyPoint("shard-0.jsonl", "empty-point.jsonl")
	noSweep := strings.Replace(smallExperiment[:strings.Index(smallExperiment, "sweep:")], "name: small-what-if", "name: no-sweep", 1)
	writeExperiment(t, dir, "nosweep.yaml", strings.Replace(noSweep, "replicas: 8", "replicas: 2", 1))
	r = vmstorm(t, bin, dir, nil, "-experiment", "nosweep.yaml", "-results", "nosweep.jsonl")
	require.Equal(t, 0, r.code, r.stderr)
	withEmptyPoint("nosweep.jsonl", "nosweep-empty-point.jsonl")

	exp := []string{"-experiment", "exp.yaml"}
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"shard past n", nil, append(exp, "-shard", "5/3", "-results", "out.jsonl"), []string{"-shard", "want an index from 0 to 2"}},
		{"shard not a number", nil, append(exp, "-shard", "x/2", "-results", "out.jsonl"), []string{"-shard", `shard "x" of 2: want an index from 0 to 1`}},
		{"shard of none", nil, append(exp, "-shard", "/0", "-results", "out.jsonl"), []string{"-shard", `"/0": want i/n`}},
		{"shard /n with no index", nil, append(exp, "-shard", "/3", "-results", "out.jsonl"), []string{"-shard", "neither is set"}},
		{"shard /n with an index past n", []string{"JOB_COMPLETION_INDEX=3"}, append(exp, "-shard", "/3", "-results", "out.jsonl"), []string{"-shard", "want an index from 0 to 2"}},
		{"results over the base scenario", nil, append(exp, "-results", "base.yaml"), []string{"-experiment's base base.yaml and -results base.yaml are the same file"}},
		{"Slurm count of none", []string{"SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_COUNT=0"}, append(exp, "-results", "out.jsonl"), []string{`SLURM_ARRAY_TASK_COUNT "0" (read as there is no -shard): want a count of tasks from 1 to 1000000`}},
		{"Slurm index not a number", []string{"SLURM_ARRAY_TASK_ID=one", "SLURM_ARRAY_TASK_COUNT=3"}, append(exp, "-results", "out.jsonl"), []string{"-shard", "SLURM_ARRAY_TASK_ID"}},
		{"merge a file that is not results", nil, append(exp, "-merge", "shard-0.jsonl", "-merge", "exp.yaml"), []string{"-merge", "exp.yaml:1: not a vmstorm result"}},
		{"merge the same shard twice", nil, append(exp, "-merge", "shard-*.jsonl", "-merge", "copy-of-0.jsonl"), []string{"-merge", "is given twice: merge each shard once"}},
		{"merge another experiment's results", nil, append(exp, "-merge", "shard-0.jsonl", "-merge", "other.jsonl"), []string{"-merge", `experiment "other"`}},
		{"merge shards run against two bases", nil, append(exp, "-merge", "shard-0.jsonl", "-merge", "other-base.jsonl"), []string{"-merge", "another version of the file or of its base scenario"}},
		{"merge a result of point [] with a sweep", nil, append(exp, "-merge", "empty-point.jsonl"), []string{"-merge", "has the sweep point [], which is none"}},
		{"merge a result of point [] without a sweep", nil, []string{"-experiment", "nosweep.yaml", "-merge", "nosweep-empty-point.jsonl"}, []string{"-merge", "has the sweep point [], which is none"}},
		{"merge a glob that matches nothing", nil, append(exp, "-merge", "none-*.jsonl"), []string{"-merge", "none-*.jsonl"}},
		{"merge with -results", nil, append(exp, "-merge", "shard-0.jsonl", "-results", "out.jsonl"), []string{"-merge reads results and runs nothing"}},
		{"merge with -shard", nil, append(exp, "-merge", "shard-0.jsonl", "-shard", "0/2"), []string{"-merge reads results and runs nothing"}},
		{"a parameter with -experiment", nil, append(exp, "-vms", "10", "-results", "out.jsonl"), []string{"-vms would do nothing"}},
		{"a run's output with -experiment", nil, append(exp, "-series", "out.csv", "-results", "out.jsonl"), []string{"-series would do nothing"}},
		{"a chart for an experiment's report", nil, append(exp, "-report", "out.svg", "-results", "out.jsonl"), []string{"-report out.svg", "want a file ending in .html"}},
		{"a report of a shard", nil, append(exp, "-shard", "0/2", "-report", "out.html"), []string{"-shard runs a part of the replicas"}},
		{"a report of a Slurm array's shard", []string{"SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_COUNT=2"}, append(exp, "-report", "out.html"), []string{"a part of the replicas"}},
		{"verdicts of a shard", nil, append(exp, "-shard", "0/2", "-verdicts", "v.jsonl"), []string{"-shard runs a part of the replicas: it has no verdicts"}},
		{"verdicts of a Slurm array's shard", []string{"SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_COUNT=2"}, append(exp, "-verdicts", "v.jsonl"), []string{"-verdicts: this is shard 0 of 2, which has no verdicts"}},
		{"verdicts over the results", nil, append(exp, "-results", "v.jsonl", "-verdicts", "v.jsonl"), []string{"-results v.jsonl and -verdicts v.jsonl"}},
		{"verdicts over the experiment file", nil, append(exp, "-verdicts", "exp.yaml"), []string{"exp.yaml"}},
		{"verdicts over the base scenario", nil, append(exp, "-verdicts", "base.yaml"), []string{"-experiment's base base.yaml and -verdicts base.yaml are the same file"}},
		{"verdicts in a directory that is not there", nil, append(exp, "-verdicts", "no/such/dir/v.jsonl"), []string{"-verdicts"}},
		{"verdicts over a merged shard", nil, append(exp, "-merge", "shard-0.jsonl", "-verdicts", "shard-0.jsonl"), []string{"shard-0.jsonl"}},
		{"-verdicts without -experiment", nil, []string{"-verdicts", "v.jsonl"}, []string{"-verdicts goes with -experiment"}},
		{"-verdicts empty", nil, append(exp, "-verdicts", ""), []string{"-verdicts is given an empty value"}},
		{"a Slurm array's index with no count", slices.DeleteFunc(slurmTask(3, 0, 7, 1), func(kv string) bool { return strings.HasPrefix(kv, "SLURM_ARRAY_TASK_COUNT=") }),
			append(exp, "-results", "out.jsonl"), []string{"SLURM_ARRAY_TASK_ID is \"3\"", "SLURM_ARRAY_TASK_COUNT is not set", "-shard /N"}},
		{"a Kubernetes index with no -shard", []string{"JOB_COMPLETION_INDEX=2"}, append(exp, "-results", "out.jsonl"), []string{"JOB_COMPLETION_INDEX is \"2\"", "-shard /N"}},
		{"a Slurm array given as a list (1,4,9)", append(slurmTask(4, 1, 9, 1)[:2], "SLURM_ARRAY_TASK_COUNT=3", "SLURM_ARRAY_TASK_MIN=1", "SLURM_ARRAY_TASK_MAX=9", "SLURM_ARRAY_TASK_STEP=1"),
			append(exp, "-results", "out.jsonl"), []string{"not 3 in the range from SLURM_ARRAY_TASK_MIN 1"}},
		{"-results without -experiment", nil, []string{"-results", "out.jsonl"}, []string{"-results goes with -experiment"}},
		{"-shard without -experiment", nil, []string{"-shard", "0/2", "-speed", "max"}, []string{"-shard goes with -experiment"}},
		{"-merge without -experiment", nil, []string{"-merge", "shard-0.jsonl"}, []string{"-merge goes with -experiment"}},
		{"-parallel without -experiment", nil, []string{"-parallel", "2", "-log-file", "out.jsonl"}, []string{"-parallel goes with -experiment"}},
		{"an unknown experiment", nil, []string{"-experiment", "no-such-what-if", "-results", "out.jsonl"}, []string{"travis-2015-what-if"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, dir)
			r := vmstorm(t, bin, dir, tt.env, tt.args...)
			refused(t, r, before, snapshot(t, dir), tt.want...)
		})
	}
}

// TestExperimentInterruptedPrintsWhatFinished interrupts a long experiment
// once its first result is written, and checks it prints the table of the
// replicas that finished (the ones in the results file) and exits 130.
func TestExperimentInterruptedPrintsWhatFinished(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	// Minutes of work, unless the signal stops it.
	long := strings.Replace(smallExperiment[:strings.Index(smallExperiment, "sweep:")], "replicas: 8", "replicas: 2000", 1)
	writeExperiment(t, dir, "long.yaml", long)

	// The results file is a fifo, so that the test sees each line as it is
	// written, with no polling; the test holds it open for writing too, so
	// that its reads never end early, and ends them with a line of its own
	// once the run has exited.
	results := filepath.Join(dir, "results.jsonl")
	require.NoError(t, syscall.Mkfifo(results, 0o600))
	fifo, err := os.OpenFile(results, os.O_RDWR, 0)
	require.NoError(t, err)
	defer fifo.Close()
	const end = "end of the test\n"
	first := make(chan struct{})
	lines := make(chan []string, 1)
	go func() {
		var got []string
		rd := bufio.NewReader(fifo)
		for {
			line, err := rd.ReadString('\n')
			if err != nil || line == end {
				lines <- got
				return
			}
			if got = append(got, line); len(got) == 1 {
				close(first)
			}
		}
	}()

	cmd := exec.Command(bin, "-experiment", "long.yaml", "-results", results, "-verdicts", "verdicts.jsonl")
	cmd.Dir, cmd.Env = dir, environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-first:
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		err = <-exited
	case err = <-exited:
		t.Fatalf("the experiment ended before its first result: %v: %s", err, stderr.String())
	}
	_, werr := fifo.WriteString(end)
	require.NoError(t, werr)
	written := <-lines

	var exit *exec.ExitError
	require.ErrorAs(t, err, &exit)
	assert.Equal(t, 130, exit.ExitCode(), stderr.String())
	total := 5 * 2000 // never fixed has no control: its trigger is never removed
	require.NotEmpty(t, written)
	require.Less(t, len(written), total, "the signal stopped the experiment")
	assert.Contains(t, stderr.String(), fmt.Sprintf("vmstorm: interrupted: the table holds the %d of %d runs (replicas and their controls) that finished, and no verdict for a variant that did not finish\n", len(written), total))

	// The table is of the replicas in the results file: its n per variant.
	// A replica's line is written once its control's is, the two together.
	perVariant, controls := map[string]int{}, map[string]int{}
	for _, line := range written {
		var r struct {
			Variant, Outcome string
			Control          bool
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r), "each line is whole: %s", line)
		if r.Control {
			controls[r.Variant]++
			continue
		}
		perVariant[r.Variant]++
		assert.NotEmpty(t, r.Outcome, "a replica's line has its outcome: %s", line)
	}
	for v, n := range controls {
		assert.Equal(t, perVariant[v], n, "%s: each replica written with its control", v)
	}
	table := stdout.String()
	require.True(t, strings.HasPrefix(table, "experiment small-what-if\n"), table)
	assert.Contains(t, table, "RECOVERS BY ITSELF")
	block := table[strings.Index(table, "JOBS_DELAYED"):strings.Index(table, "WAIT_P95")]
	for _, v := range []string{"fix at 2h", "never fixed", "breaker"} {
		n := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(v) + `\s.*\s(\d+)$`).FindStringSubmatch(block)
		require.NotNil(t, n, "a row for %s in\n%s", v, block)
		assert.Equal(t, fmt.Sprint(perVariant[v]), n[1], "%s: the table's n is the results written", v)
	}
	// Every variant is short of its 2,000 replicas: no verdict anywhere,
	// each row saying why, and no verdicts file.
	rows := 0
	for _, line := range strings.Split(table, "\n") {
		for _, v := range []string{"fix at 2h", "never fixed", "breaker"} {
			if !strings.HasPrefix(line, "  "+v+" ") {
				continue
			}
			rows++
			for _, word := range []string{"better", "worse", "equivalent", "inconclusive"} {
				assert.NotContains(t, line, word, "a verdict for an incomplete variant")
			}
		}
	}
	assert.Equal(t, 3*11, rows, "a row per variant in each measure's block and the recovery's")
	for _, v := range []string{"never fixed", "breaker"} {
		missing := "not run"
		if perVariant[v] > 0 {
			missing = fmt.Sprintf("incomplete (%d of 2000)", perVariant[v])
		}
		assert.Regexp(t, `(?m)^  `+regexp.QuoteMeta(v)+`\s.*\s`+regexp.QuoteMeta(missing)+`\s+\d+$`, block)
	}
	recovery := table[strings.Index(table, "RECOVERS BY ITSELF"):]
	assert.Regexp(t, `(?m)^  fix at 2h\s+(incomplete \(\d+ of 2000\)|not run)(\s+\d+){6}$`, recovery, "no share for an incomplete variant: its counts alone")
	assert.Contains(t, table, "family: no comparison has a verdict")
	assert.NoFileExists(t, filepath.Join(dir, "verdicts.jsonl"), "an interrupted experiment writes no verdicts")
}

// TestExperimentDocExampleParses keeps the example of docs/experiments.md,
// which gives every key of a file, a valid experiment on the base of these
// tests.
func TestExperimentDocExampleParses(t *testing.T) {
	doc, err := os.ReadFile("docs/experiments.md")
	require.NoError(t, err)
	text := string(doc)
	start := strings.Index(text, "```yaml\nname: ")
	require.GreaterOrEqual(t, start, 0, "the example")
	example := text[start+len("```yaml\n"):]
	example = example[:strings.Index(example, "```")]
	dir := t.TempDir()
	writeExperiment(t, dir, "example.yaml", example)
	e, err := experiment.LoadExperiment(filepath.Join(dir, "example.yaml"))
	require.NoError(t, err)
	assert.Len(t, e.Variants, 4)
	assert.Equal(t, []string{"jobs_delayed", "wait_max", "time_to_recover"}, e.Measures)
	require.NotNil(t, e.Sweep)
	assert.Equal(t, experiment.TriggerRemovedKey, e.Sweep.Y.Key)
}

// TestExperimentRecoveryOfAFaultNeverDetected: a fault removed before it
// did any visible harm (never detected, no backlog) leaves runs whose
// phases end in "recovered" soon after the fix; they returned to healthy
// by themselves, and the share must say so.
func TestExperimentRecoveryOfAFaultNeverDetected(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	writeExperiment(t, dir, "quiet.yaml", `name: quiet-fault
base: base.yaml
replicas: 3
measures: [time_to_detect, peak_backlog]
recovery:
  removed_by: [fix_cleanup_credentials, restart_janitor]
  within: 90m
variants:
  - name: fixed at 1h at 3 a minute
    set: {workload: {arrival_rate: 3}}
    drop: [fix_cleanup_credentials, restart_janitor]
    add:
      - at: 1h
        action: fix_cleanup_credentials
      - at: 1h
        action: restart_janitor
`)
	r := vmstorm(t, bin, dir, nil, "-experiment", "quiet.yaml")
	require.Equal(t, 0, r.code, r.stderr)
	// The premise: no replica was detected (each censored at the end of
	// its run), and none had a backlog.
	require.Regexp(t, `(?m)^  fixed at 1h at 3 a minute\s+not reached \[3\.8, ∞\]\s+3\s+3$`, r.stdout, "never detected")
	require.Regexp(t, `(?m)^  fixed at 1h at 3 a minute\s+0 \[0, 0\]\s+3$`, r.stdout, "no backlog")
	recovery := r.stdout[strings.Index(r.stdout, "RECOVERS BY ITSELF"):]
	row := regexp.MustCompile(`(?m)^  fixed at 1h at 3 a minute\s+(\S+)\s+(\d+) \(1 \[`).FindStringSubmatch(recovery)
	require.NotNil(t, row, "the recovery's row, of 3 replicas:\n%s", r.stdout)
	assert.Equal(t, []string{"recovered", "3"}, row[1:], "every replica was healthy again after the fix:\n%s", r.stdout)
}

// TestShardOf: -shard, or the index a Kubernetes Indexed Job or a Slurm job
// array gives, read as shard i of n.
func TestShardOf(t *testing.T) {
	tests := []struct {
		flag  string
		env   map[string]string
		i, n  int
		fails string
	}{
		{flag: "", i: 0, n: 1},
		{flag: "2/4", i: 2, n: 4},
		{flag: "/3", env: map[string]string{"JOB_COMPLETION_INDEX": "1"}, i: 1, n: 3},
		{flag: "", env: map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "5", "SLURM_ARRAY_TASK_MIN": "0"}, i: 4, n: 5},
		{flag: "", env: map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1"}, i: 2, n: 3},
		// An array 1-9:2 runs tasks 1, 3, 5, 7, 9.
		{flag: "", env: map[string]string{"SLURM_ARRAY_TASK_ID": "7", "SLURM_ARRAY_TASK_COUNT": "5", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_STEP": "2"}, i: 3, n: 5},
		{flag: "", env: map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "5", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_STEP": "2"},
			fails: `SLURM_ARRAY_TASK_ID "4" is not in the array from 1 by 2`},
		{flag: "", env: map[string]string{"SLURM_ARRAY_TASK_ID": "0", "SLURM_ARRAY_TASK_COUNT": "0"}, fails: `SLURM_ARRAY_TASK_COUNT "0"`},
		{flag: "5/3", fails: "want an index from 0 to 2"},
		// The variables of real arrays: --array=0-7 (throttled or not:
		// 0-7%4 sets the same), 1-9:2, and a list, 1,4,9.
		{flag: "", env: slurmEnv(slurmTask(3, 0, 7, 1)), i: 3, n: 8},
		{flag: "/8", env: slurmEnv(slurmTask(7, 0, 7, 1)), i: 7, n: 8},
		{flag: "", env: slurmEnv(slurmTask(7, 1, 9, 2)), i: 3, n: 5},
		{flag: "", env: map[string]string{"SLURM_ARRAY_TASK_ID": "4", "SLURM_ARRAY_TASK_COUNT": "3", "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_MAX": "9", "SLURM_ARRAY_TASK_STEP": "1"},
			fails: "not 3 in the range from SLURM_ARRAY_TASK_MIN 1 to _MAX \"9\" by _STEP 1"},
		{flag: "/4", env: slurmEnv(slurmTask(3, 0, 7, 1)), fails: `shards /4, but the Slurm job array has SLURM_ARRAY_TASK_COUNT "8" tasks`},
		// An index with no count: no share to tell, so no run of it all.
		{flag: "", env: map[string]string{"SLURM_ARRAY_TASK_ID": "3", "SLURM_ARRAY_JOB_ID": "4711"}, fails: "SLURM_ARRAY_TASK_COUNT is not set"},
		{flag: "", env: map[string]string{"JOB_COMPLETION_INDEX": "0"}, fails: "JOB_COMPLETION_INDEX is \"0\" (a pod of a Kubernetes Indexed Job) but -shard is not given"},
		// A Slurm job that is no array: the whole experiment.
		{flag: "", env: map[string]string{"SLURM_JOB_ID": "4711", "SLURM_CPUS_ON_NODE": "2"}, i: 0, n: 1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.flag, tt.env), func(t *testing.T) {
			i, n, err := shardOf(tt.flag, func(k string) string { return tt.env[k] })
			if tt.fails != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.fails)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, [2]int{tt.i, tt.n}, [2]int{i, n})
		})
	}
}

// TestExperimentTippingRoundsMergeAndRefuseShards: an experiment with a
// tipping point runs its rounds in one process, each replica's line with
// its outcome and each control's with "control": true; -merge of its
// results gives its table byte for byte (the rounds' points recomputed
// from the results before them), and refuses a line whose outcome its
// traces do not give, or a round's result missing; -shard is refused, as
// the rounds depend on the results before them.
func TestExperimentTippingRoundsMergeAndRefuseShards(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	for _, name := range []string{"tipping.yaml", "sustaining-loop.yaml"} {
		data, err := os.ReadFile(filepath.Join("experiment", "testdata", name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), data, 0o644))
	}
	one := vmstorm(t, bin, dir, nil, "-experiment", "tipping.yaml", "-results", "one.jsonl")
	require.Equal(t, 0, one.code, one.stderr)
	require.Contains(t, one.stdout, "refined: ", "the rounds added points")
	require.Regexp(t, `tipping point along recovery\.trigger_removed: \S+ into the run \[`, one.stdout)
	lines := resultLines(t, filepath.Join(dir, "one.jsonl"))
	controls, outcomes, refined := 0, 0, 0
	for _, line := range lines {
		var r struct {
			Control bool
			Outcome string
			Refine  *struct{ Round int }
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		switch {
		case r.Control:
			controls++
			assert.Empty(t, r.Outcome, "a control has no outcome of its own")
		default:
			outcomes++
			assert.Contains(t, []string{"recovered", "draining", "stuck", "overloaded", "not_removed"}, r.Outcome)
		}
		if r.Refine != nil {
			refined++
		}
	}
	assert.Equal(t, outcomes, controls, "each replica with its control")
	assert.Positive(t, refined)

	merged := vmstorm(t, bin, dir, nil, "-experiment", "tipping.yaml", "-merge", "one.jsonl")
	require.Equal(t, 0, merged.code, merged.stderr)
	assert.Equal(t, one.stdout, merged.stdout, "the merged table is one process's, byte for byte")

	write := func(name string, lines []string) {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	}
	i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, `"outcome":"stuck"`) })
	require.GreaterOrEqual(t, i, 0)
	forged := slices.Clone(lines)
	forged[i] = strings.Replace(forged[i], `"outcome":"stuck"`, `"outcome":"recovered"`, 1)
	write("forged.jsonl", forged)
	r := vmstorm(t, bin, dir, nil, "-experiment", "tipping.yaml", "-merge", "forged.jsonl")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "says it was recovered, and its trace and its control's say stuck")

	j := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, `"round":2`) })
	require.GreaterOrEqual(t, j, 0)
	write("short.jsonl", slices.Delete(slices.Clone(lines), j, j+1))
	r = vmstorm(t, bin, dir, nil, "-experiment", "tipping.yaml", "-merge", "short.jsonl")
	assert.Equal(t, 2, r.code)
	assert.Contains(t, r.stderr, "a shard is missing, or was interrupted")

	r = vmstorm(t, bin, dir, nil, "-experiment", "tipping.yaml", "-shard", "0/2", "-results", "s.jsonl")
	assert.Equal(t, 2, r.code)
	assert.Equal(t, 1, strings.Count(r.stderr, "\n"), r.stderr)
	assert.Contains(t, r.stderr, "vmstorm: -shard: the sweep's tipping point adds points round by round")
	assert.NoFileExists(t, filepath.Join(dir, "s.jsonl"))
}

// slurmEnv is a list of NAME=value as a map.
func slurmEnv(kvs []string) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}
