package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"time"
)

// The classes of issue 21 (group 5): seeds that JSON tools cannot hold,
// -analyze without its run's settings, -analyze of what no run writes,
// YAML nesting and aliases past the parser's structure and experiments'
// memory, -merge of results that are no task's or of another base, sweeps
// valid value by value but not as a whole, a report's temporary removed
// while it is written, control characters and look-alike names, and the
// variables of a Slurm job array.

// bigSeed is a seed past 2^53: jq prints 16969601660470026205 as
// 16969601660470026000.
const bigSeed = "16969601660470026205"

// held are files the harness keeps open (and locked) while a case runs.
var held []*os.File

// seriesLines writes a series of a header and rows, each row from its
// model_s and marks, the other columns zero, as a run of an older vmstorm
// would (no settings).
func seriesLines(name string, rows int, row func(i int) (modelS, marks string)) func(string) error {
	return func(d string) error {
		cols := strings.Split("model_s,vms_true,vms_reported,capacity,in_use,vms_cloned,vms_booting,vms_running,vms_finished,vms_orphaned,vms_never_booted,backlog,arrived_total,completed_total,failed_total,requeues_total,in_flight,busy_build,busy_run,busy_cleanup,cpu_in_use,cpu_capacity,oldest_wait_s,rate_limited_total,queues_paused,phase,alerts_firing,queues_reduced,janitor_failing,marks,model_time", ",")
		f, err := os.Create(filepath.Join(d, name))
		if err != nil {
			return err
		}
		defer f.Close()
		fmt.Fprintln(f, strings.Join(cols, ","))
		fields := make([]string, len(cols))
		for i := range rows {
			for k, c := range cols {
				switch c {
				case "phase":
					fields[k] = "healthy"
				case "alerts_firing", "model_time":
					fields[k] = ""
				case "janitor_failing":
					fields[k] = "false"
				case "capacity":
					fields[k] = "200"
				default:
					fields[k] = "0"
				}
			}
			fields[0], fields[len(cols)-2] = row(i)
			if _, err := fmt.Fprintln(f, strings.Join(fields, ",")); err != nil {
				return err
			}
		}
		return nil
	}
}

// slurmArray is the environment of task id of the array low-high:step
// (Slurm 22.05 sets these, and more of the job's).
func slurmArray(id, low, high, step int) []string {
	return []string{"SLURM_ARRAY_JOB_ID=9000", fmt.Sprintf("SLURM_ARRAY_TASK_ID=%d", id), fmt.Sprintf("SLURM_ARRAY_TASK_COUNT=%d", (high-low)/step+1),
		fmt.Sprintf("SLURM_ARRAY_TASK_MIN=%d", low), fmt.Sprintf("SLURM_ARRAY_TASK_MAX=%d", high), fmt.Sprintf("SLURM_ARRAY_TASK_STEP=%d", step),
		fmt.Sprintf("SLURM_JOB_ID=%d", 9001+id), fmt.Sprintf("SLURM_JOBID=%d", 9001+id), "SLURM_JOB_NAME=vmstorm", "SLURM_CPUS_ON_NODE=2", "SLURM_NTASKS=1",
		"SLURM_JOB_NUM_NODES=1", "SLURM_NODELIST=n1", "SLURMD_NODENAME=n1", "SLURM_SUBMIT_DIR=/tmp", "SLURM_PROCID=0", "SLURM_LOCALID=0"}
}

func without(env []string, name string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// editLine rewrites the first line of a file with f.
func editLine(name string, f func(string) string) func(string) error {
	return func(d string) error {
		p := filepath.Join(d, name)
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		first, rest, _ := strings.Cut(string(b), "\n")
		return os.WriteFile(p, []byte(f(first)+"\n"+rest), 0o644)
	}
}

// exists: the file is still there after the run.
func exists(name string) func(r *Result) []string {
	return func(r *Result) []string {
		if _, err := os.Stat(filepath.Join(r.Dir, name)); err != nil {
			return []string{name + " was removed by the run"}
		}
		return nil
	}
}

func fileMatches(name string, re string) func(r *Result) []string {
	return func(r *Result) []string {
		b, err := os.ReadFile(filepath.Join(r.Dir, name))
		if err != nil {
			return []string{name + ": " + err.Error()}
		}
		if !regexp.MustCompile(re).Match(b) {
			return []string{fmt.Sprintf("%s does not match %s", name, re)}
		}
		return nil
	}
}

func hardeningCases() []*Case {
	var cs []*Case
	add := group(&cs, 5, "h", 30*time.Second)
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }

	// 1. Seeds as strings.
	add(&Case{Name: "seeds: -seed " + bigSeed + " -log-file: run_started's seed is a string jq keeps", Args: run("-seed", bigSeed, "-duration", "10m", "-log-file", "l.log"),
		Expect: Accept, Check: checks(logComplete("l.log"), fileHas("l.log", `"seed":"`+bigSeed+`"`))})
	add(&Case{Name: "seeds: an experiment of seed " + bigSeed + ": every result's seed a string", Args: []string{"-experiment", "e.yaml", "-results", "r.jsonl", "-quiet"},
		Setup: steps(write("base.yaml", baseYAML), write("e.yaml", expYAML+"seed: "+bigSeed+"\n")), SetupD: "e.yaml with seed: " + bigSeed,
		Expect: Accept, NoSum: true, Check: checks(stdoutHas("experiment e"), fileMatches("r.jsonl", `^(\{[^\n]*"seed":"\d+"[^\n]*\}\n)+$`))})
	add(&Case{Name: "seeds: the experiment page's JSON seed is a string", Args: []string{"-experiment", "e.yaml", "-report", "r.html", "-quiet"},
		Setup: steps(write("base.yaml", baseYAML), write("e.yaml", expYAML+"seed: "+bigSeed+"\n")), SetupD: "e.yaml with seed: " + bigSeed,
		Expect: Accept, NoSum: true, Check: fileHas("r.html", `"seed":"`+bigSeed+`"`)})

	// 2. -analyze needs the run's settings.
	add(&Case{Name: "-analyze alone of a run judged with -window 7m: judged with 7m", Args: []string{"-analyze", "s.csv"},
		Setup: runBin(run("-window", "7m", "-break-cleanup", "-duration", "3h", "-series", "s.csv")...), SetupD: "vmstorm -window 7m -break-cleanup -duration 3h -series s.csv",
		Expect: Accept, NoSum: true, Check: stdoutHas("judged with a window of 7m")})
	add(&Case{Name: "-analyze alone of a built-in scenario's series: its checks", Args: []string{"-analyze", "s.csv"},
		Setup: runBin(run("-scenario", "travis-2018-gce", "-series", "s.csv")...), SetupD: "vmstorm -scenario travis-2018-gce -series s.csv",
		Expect: Accept, NoSum: true, Check: stdoutHas("FAITHFULNESS (travis-2018-gce)", "5 of 5 checks hold")})
	add(&Case{Name: "-analyze with a -window the run did not have", Args: []string{"-analyze", "s.csv", "-window", "20m"},
		Setup: runBin(run("-window", "7m", "-duration", "2h", "-series", "s.csv")...), SetupD: "vmstorm -window 7m -duration 2h -series s.csv",
		Expect: Reject, Needle: []string{"-analyze", "-window"}})
	add(&Case{Name: "-analyze with another scenario than the run's", Args: []string{"-analyze", "s.csv", "-scenario", "travis-2019-gce"},
		Setup: runBin(run("-scenario", "travis-2018-gce", "-duration", "6h", "-series", "s.csv")...), SetupD: "vmstorm -scenario travis-2018-gce -duration 6h -series s.csv",
		Expect: Reject, Needle: []string{"-analyze"}})
	add(&Case{Name: "-analyze alone of a scenario file's series: the file is asked for", Args: []string{"-analyze", "s.csv"},
		Setup:  steps(write("my.yaml", sc("alerts:\n  for: 3m\nchecks:\n  - {name: c, calibration: true, metric: vms_true, stat: max, max: 1e9}\n")), runBin(run("-scenario", "my.yaml", "-series", "s.csv")...)),
		SetupD: "my.yaml (alerts.for 3m, a check); vmstorm -scenario my.yaml -series s.csv", Expect: Reject, Needle: []string{"-scenario my.yaml"}})

	// 3. -analyze of what no run writes.
	an := func(name string, setup func(string) error, setupD string, memKB int64, needle ...string) {
		add(&Case{Name: "-analyze: " + name, Args: []string{"-analyze", "x.csv"}, Setup: setup, SetupD: setupD, Expect: Reject, Needle: append([]string{"-analyze"}, needle...), MemKB: memKB})
	}
	an("400,000 rows 1 ns apart", seriesLines("x.csv", 400_000, func(i int) (string, string) { return fmt.Sprintf("1.%09d", i), "" }), "rows at model_s 1.000000000, 1.000000001, ...", 200*1024)
	an("a negative time", seriesLines("x.csv", 3, func(i int) (string, string) { return fmt.Sprint(-10 + 10*i), "" }), "rows at -10, 0, 10", 0)
	an("time that goes back", seriesLines("x.csv", 3, func(i int) (string, string) { return fmt.Sprint(30 - 10*i), "" }), "rows at 30, 20, 10", 0)
	an("two rows at one time", seriesLines("x.csv", 3, func(i int) (string, string) { return "10", "" }), "rows at 10, 10, 10", 0)
	an("a model_s of 10 digits (past int64's nanoseconds)", seriesLines("x.csv", 2, func(i int) (string, string) { return []string{"10", "9999999999"}[i], "" }), "rows at 10 and 9999999999", 0)
	an("a model_s past the longest run (87600h)", seriesLines("x.csv", 2, func(i int) (string, string) { return []string{"10", "400000000"}[i], "" }), "rows at 10 and 400000000", 0)
	an("2,000 rows of 5,000 marks each", seriesLines("x.csv", 2000, func(i int) (string, string) {
		t := 10 * (i + 1)
		m := make([]string, 5000)
		for k := range m {
			m[k] = fmt.Sprintf("x%d@%d", k, t)
		}
		return fmt.Sprint(t), strings.Join(m, "+")
	}), "rows 10 s apart, each with 5,000 marks at its time (112 MB)", 1024*1024)
	an("a mark after its row", seriesLines("x.csv", 2, func(i int) (string, string) { return fmt.Sprint(10 * (i + 1)), "restart_janitor@500" }), "rows at 10 and 20 with a mark at 500", 0)
	an("a quoted field over 3 million short lines", steps(seriesLines("x.csv", 1, func(int) (string, string) { return "10", "" }), appendTo("x.csv", "\""+strings.Repeat("9\n", 3_000_000))),
		"a row, then a quote and 6 MB of lines", 300*1024)
	add(&Case{Name: "-epoch 9999-12-31 -duration 48h: the run passes year 9999", Args: run("-epoch", "9999-12-31T00:00:00Z", "-duration", "48h", "-series", "s.csv"),
		Expect: Reject, Needle: []string{"-epoch"}})
	add(&Case{Name: "-analyze of a run that ends on 9999-12-31", Args: []string{"-analyze", "s.csv"},
		Setup: runBin(run("-epoch", "9999-12-30T00:00:00Z", "-duration", "24h", "-series", "s.csv")...), SetupD: "vmstorm -epoch 9999-12-30T00:00:00Z -duration 24h -series s.csv",
		Expect: Accept, NoSum: true, Check: stdoutHas("vmstorm analysis")})

	// 4. YAML past the parser's structure; experiments' memory.
	scenBad := func(name, content string, memKB int64) {
		add(&Case{Name: "scenario: " + name, Args: run("-scenario", "s.yaml"), Setup: write("s.yaml", content), SetupD: "s.yaml: " + name, Expect: Reject, LineCol: true, MemKB: memKB})
	}
	scenBad("a literal block opening a double quote, then 30,000 nested lists (60 KB)", sc("description: |-\n  \"hi\ncluster: "+deep(30000)+"\n"), 500*1024)
	scenBad("a folded block opening a single quote, then 100,000 nested lists (200 KB)", sc("description: >-\n  'hi\ncluster: "+deep(100000)+"\n"), 500*1024)
	scenBad("a quoted key holding a bracket, then 50,000 nested mappings", sc("\"a[\": 1\ncluster: "+strings.Repeat("{a: ", 50000)+"1"+strings.Repeat("}", 50000)+"\n"), 500*1024)
	scenBad("a 1 MB flow list of 500,000 values (more than 400,000 tokens)", sc("description: ["+strings.Repeat("1,", 500_000)+"1]\n"), 350*1024)
	var lm strings.Builder
	for i := range 60 {
		lm.WriteString(strings.Repeat("  ", i) + "a:\n" + strings.Repeat("  ", i) + "- \n")
	}
	scenBad("60 lists of mappings within one another, each at its mapping's column", sc("nested:\n"+lm.String()), 0)
	expBad := func(name, content string, memKB int64, timeout time.Duration) {
		add(&Case{Name: "experiment: " + name, Args: []string{"-experiment", "x.yaml", "-quiet"}, Setup: steps(write("base.yaml", baseYAML), write("x.yaml", content)),
			SetupD: "base.yaml; x.yaml: " + name, Expect: Reject, LineCol: true, NoSum: true, MemKB: memKB, Timeout: timeout})
	}
	var vs1000 strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&vs1000, "  - name: v%04d\n", i)
	}
	expBad("a timeline of 14,000 aliased entries times 1,000 variants (110 KB)", "name: e\nbase: base.yaml\nreplicas: 1\ntimeline:\n  - &e {at: 1s, action: restart_janitor}\n"+
		strings.Repeat("  - *e\n", 14000)+"variants:\n"+vs1000.String(), 1024*1024, 60*time.Second)
	var tl1000 strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&tl1000, "  - {at: %ds, action: restart_janitor}\n", i)
	}
	expBad("a timeline of 1,000 entries times 1,000 variants (56 KB, no alias)", "name: e\nbase: base.yaml\nreplicas: 1\ntimeline:\n"+tl1000.String()+"variants:\n"+vs1000.String(), 1024*1024, 30*time.Second)
	var vs20 strings.Builder
	for i := range 20 {
		fmt.Fprintf(&vs20, "  - name: v%02d\n", i)
	}
	add(&Case{Name: "experiment: -report of 20 variants x 1,000 replicas (curves within their budget)", Args: []string{"-experiment", "x.yaml", "-report", "r.html", "-quiet"},
		Setup:  steps(write("tiny.yaml", "name: t\nduration: 10m\ncluster:\n  vms: 20\n"), write("x.yaml", "name: e\nbase: tiny.yaml\nreplicas: 1000\nvariants:\n"+vs20.String())),
		SetupD: "tiny.yaml: 10 minutes of 20 VMs; x.yaml: 20 variants of 1,000 replicas", Expect: Accept, NoSum: true, MemKB: 400 * 1024, Timeout: 300 * time.Second,
		Check: checks(stdoutHas("experiment e"), fileHas("r.html", "</html>"))})

	// 5. -merge of no task's result, or of another base.
	sweepExp := expYAML + "sweep:\n  variant: a\n  replicas: 1\n  x: {key: workload.arrival_rate, values: [3, 6]}\n"
	emptyPoint := func(line string) string { return strings.Replace(line, `"replica":`, `"point":[],"replica":`, 1) }
	add(&Case{Name: "-merge: a result of point [] (an experiment with a sweep)", Args: []string{"-experiment", "e.yaml", "-merge", "r.jsonl", "-quiet"},
		Setup:  steps(write("base.yaml", baseYAML), write("e.yaml", sweepExp), runBin("-experiment", "e.yaml", "-results", "r.jsonl", "-quiet"), editLine("r.jsonl", emptyPoint)),
		SetupD: "e.yaml with a sweep; its -results, the first line given \"point\":[]", Expect: Reject, Needle: []string{"-merge"}})
	add(&Case{Name: "-merge: a result of point [] (an experiment with no sweep)", Args: []string{"-experiment", "e.yaml", "-merge", "r.jsonl", "-quiet"},
		Setup:  steps(expSetup, runBin("-experiment", "e.yaml", "-results", "r.jsonl", "-quiet"), editLine("r.jsonl", emptyPoint)),
		SetupD: "e.yaml; its -results, the first line given \"point\":[]", Expect: Reject, Needle: []string{"-merge"}})
	add(&Case{Name: "-merge: shards run against two versions of the base scenario", Args: []string{"-experiment", "e.yaml", "-merge", "r0.jsonl", "-merge", "r1.jsonl", "-quiet"},
		Setup: steps(expSetup, runBin("-experiment", "e.yaml", "-shard", "0/2", "-results", "r0.jsonl", "-quiet"),
			write("base.yaml", strings.Replace(baseYAML, "vms: 50", "vms: 5000", 1)), runBin("-experiment", "e.yaml", "-shard", "1/2", "-results", "r1.jsonl", "-quiet")),
		SetupD: "shard 0/2 with base.yaml of 50 VMs; then base.yaml of 5000 VMs; shard 1/2", Expect: Reject, Needle: []string{"-merge"}})

	// 6. Sweeps checked as a whole.
	sweepBad := func(name, sweep string) {
		add(&Case{Name: "sweep: " + name, Args: []string{"-experiment", "x.yaml", "-quiet"}, Setup: steps(write("base.yaml", baseYAML), write("x.yaml", expYAML+sweep)),
			SetupD: "x.yaml: " + name, Expect: Reject, LineCol: true, NoSum: true})
	}
	sweepBad("backoff_base [1m, 8m] x backoff_cap [2m, 10m]", "sweep:\n  variant: a\n  replicas: 1\n  x: {key: mitigations.backoff_base, values: [1m, 8m]}\n  y: {key: mitigations.backoff_cap, values: [2m, 10m]}\n")
	sweepBad("duration [1h, 2h] x trigger_removed [30m, 90m] (90m after a 1h run's end)", "recovery:\n  removed_by: [restart_janitor]\n  within: 10m\ntimeline:\n  - {at: 10m, action: rotate_cleanup_password}\n  - {at: 50m, action: restart_janitor}\n"+
		"sweep:\n  variant: a\n  replicas: 1\n  x: {key: duration, values: [1h, 2h]}\n  y: {key: recovery.trigger_removed, values: [30m, 90m]}\n")
	sweepBad("one key on both axes", "sweep:\n  variant: a\n  replicas: 1\n  x: {key: cluster.vms, values: [10, 20]}\n  y: {key: cluster.vms, values: [30, 40]}\n")
	sweepBad("seed as a sweep key", "sweep:\n  variant: a\n  replicas: 1\n  x: {key: seed, values: [1, 2]}\n")
	sweepBad("speed as a sweep key", "sweep:\n  variant: a\n  replicas: 1\n  x: {key: speed, values: [1, max]}\n")
	add(&Case{Name: "sweep: backoff_base [1m, 12m] x backoff_cap [15m, 20m] (12m over the default cap alone, valid at every point)", Args: []string{"-experiment", "x.yaml", "-quiet"},
		Setup:  steps(write("base.yaml", "name: b\nduration: 30m\ncluster:\n  vms: 20\n"), write("x.yaml", "name: e\nbase: base.yaml\nreplicas: 1\nvariants:\n  - name: a\n    set: {mitigations: {backoff: true}}\nsweep:\n  variant: a\n  replicas: 1\n  x: {key: mitigations.backoff_base, values: [1m, 12m]}\n  y: {key: mitigations.backoff_cap, values: [15m, 20m]}\n")),
		SetupD: "a 30-minute base; a sweep of backoff base and cap", Expect: Accept, NoSum: true, Check: stdoutHas("experiment e")})

	// 7. A report's temporary while it is written: a second run with the
	// same -report, started while the first writes its temporary (a wall
	// time moment: the harness starts the second as soon as it sees the
	// temporary, which lasts a few hundred milliseconds).
	add(&Case{Name: "-report r.png while a first run with -report r.png writes its temporary: the first's report is not lost", Args: run("-duration", "1m", "-report", "r.png"),
		Setup: firstWriting("r.png"), SetupD: "vmstorm -scenario travis-2015-osx -speed max -quiet -report r.png &, until its .r.png.tmp-* appears (a second or so)",
		Expect: Accept, Check: firstRunKept("r.png"), Timeout: 90 * time.Second})
	add(&Case{Name: "-report r.html beside a temporary another process holds a lock on", Args: run("-report", "r.html"),
		Setup: func(d string) error {
			p := filepath.Join(d, ".r.html.tmp-99999999-2")
			f, err := os.Create(p)
			if err != nil {
				return err
			}
			held = append(held, f)
			return syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		}, SetupD: "a temporary .r.html.tmp-99999999-2, flock'ed by the harness", Expect: Accept, Check: checks(exists(".r.html.tmp-99999999-2"), fileHas("r.html", "</html>"))})

	// 8. Control characters and look-alike names.
	for _, c := range []struct{ name, content string }{
		{"a name that clears the screen (\\e[2J)", "name: \"\\e[2J\\e[Hx\"\nduration: 1h\n"},
		{"a description that sets the window's title (\\e]0;TITLE\\a)", sc("description: \"\\e]0;owned\\a\"\n")},
		{"a queue's name with a carriage return", sc("workload:\n  queues:\n    - {name: \"com\\rorg\", share: 1}\n")},
		{"a check's name with a NUL (\\u0000)", sc("checks:\n  - {name: \"a\\u0000b\", calibration: true, metric: vms_true, stat: max, max: 1e9}\n")},
		{"a note with a right-to-left override (\\u202e)", sc("timeline:\n  - {at: 10m, action: restart_janitor, note: \"\\u202Edetaeper\"}\n")},
		{"a note with a tab", sc("timeline:\n  - {at: 10m, action: restart_janitor, note: \"a\\tb\"}\n")},
		{"a description as a literal block of two lines", sc("description: |-\n  one\n  two\n")},
		{"two queues, one name (fullwidth c, NFKC)", sc("workload:\n  queues:\n    - {name: com, share: 1}\n    - {name: \"\\uFF43om\", share: 1}\n")},
	} {
		scenBad(c.name, c.content, 0)
	}
	for _, c := range []struct{ name, variants string }{
		{"two variants, one name (e and an accent, and é: NFC)", "  - name: \"caf\\u00e9\"\n  - name: \"cafe\\u0301\"\n"},
		{"two variants, one name (the ligature ﬁ: NFKC)", "  - name: fix\n  - name: \"\\uFB01x\"\n"},
		{"a variant's name that clears the screen", "  - name: \"\\e[2Ja\"\n"},
	} {
		expBad(c.name, "name: e\nbase: base.yaml\nreplicas: 2\nvariants:\n"+c.variants, 0, 0)
	}

	// 9. A Slurm job array's variables.
	shards := steps(expSetup, runBin("-experiment", "e.yaml", "-shard", "0/2", "-results", "r0.jsonl", "-quiet"), runBin("-experiment", "e.yaml", "-shard", "1/2", "-results", "r1.jsonl", "-quiet"))
	add(&Case{Name: "Slurm: -merge submitted from inside task 1 of the array 0-1", Args: []string{"-experiment", "e.yaml", "-merge", "r*.jsonl", "-quiet"},
		Setup: shards, SetupD: "two shards' results; the array's variables", Env: slurmArray(1, 0, 1, 1), Expect: Accept, NoSum: true, Check: stdoutHas("experiment e")})
	add(&Case{Name: "Slurm: -merge -report submitted from inside task 0 of the array 0-1", Args: []string{"-experiment", "e.yaml", "-merge", "r*.jsonl", "-report", "m.html", "-quiet"},
		Setup: shards, SetupD: "two shards' results; the array's variables", Env: slurmArray(0, 0, 1, 1), Expect: Accept, NoSum: true, Check: fileHas("m.html", "</html>")})
	add(&Case{Name: "Slurm: SLURM_ARRAY_TASK_ID with no SLURM_ARRAY_TASK_COUNT", Args: []string{"-experiment", "e.yaml", "-results", "r.jsonl", "-quiet"},
		Setup: expSetup, Env: without(slurmArray(3, 0, 7, 1), "SLURM_ARRAY_TASK_COUNT"), Expect: Reject, Needle: []string{"SLURM_ARRAY_TASK_COUNT"}})
	add(&Case{Name: "Kubernetes: JOB_COMPLETION_INDEX with no -shard", Args: []string{"-experiment", "e.yaml", "-results", "r.jsonl", "-quiet"},
		Setup: expSetup, Env: []string{"JOB_COMPLETION_INDEX=2"}, Expect: Reject, Needle: []string{"JOB_COMPLETION_INDEX"}})
	add(&Case{Name: "Slurm: an array given as a list (--array=1,4,9), its first task", Args: []string{"-experiment", "e.yaml", "-results", "r.jsonl", "-quiet"},
		Setup: expSetup, Env: append(without(slurmArray(1, 1, 9, 1), "SLURM_ARRAY_TASK_COUNT"), "SLURM_ARRAY_TASK_COUNT=3"), Expect: Reject, Needle: []string{"SLURM_ARRAY_TASK"}})
	add(&Case{Name: "Slurm: -shard /4 in an array of 8 tasks", Args: []string{"-experiment", "e.yaml", "-shard", "/4", "-results", "r.jsonl", "-quiet"},
		Setup: expSetup, Env: slurmArray(3, 0, 7, 1), Expect: Reject, Needle: []string{"SLURM_ARRAY_TASK_COUNT"}})
	add(&Case{Name: "Slurm: task 3 of the array 0-7 runs its shard", Args: []string{"-experiment", "e.yaml", "-results", "r.jsonl", "-quiet"},
		Setup: expSetup, Env: slurmArray(3, 0, 7, 1), Expect: Accept, NoSum: true, Check: stdoutHas("experiment e")})
	add(&Case{Name: "Slurm: a job that is no array runs the whole experiment", Args: []string{"-experiment", "e.yaml", "-results", "r.jsonl", "-quiet"},
		Setup: expSetup, Env: []string{"SLURM_JOB_ID=9001", "SLURM_CPUS_ON_NODE=2", "SLURM_NTASKS=1"}, Expect: Accept, NoSum: true,
		Check: checks(stdoutHas("experiment e"), func(r *Result) []string {
			if n := len(lines(readString(filepath.Join(r.Dir, "r.jsonl")))); n != 4 {
				return []string{fmt.Sprintf("%d results, want the 4 of the whole experiment", n)}
			}
			return nil
		})})
	return cs
}

// firstRun is a run a case's setup started, still going when the case's
// own command runs.
type firstRun struct {
	cmd    *exec.Cmd
	stderr *bytes.Buffer
	done   chan struct{}
}

var firstRuns = map[string]*firstRun{}

// firstWriting starts a run of travis-2015-osx with -report report in the
// case's directory, and returns once that run's temporary of the report is
// there: the moment it writes it.
func firstWriting(report string) func(string) error {
	return func(d string) error {
		cmd := exec.Command(bin, "-scenario", "travis-2015-osx", "-speed", "max", "-quiet", "-report", report)
		cmd.Dir, cmd.Env = d, caseEnv(nil)
		f := &firstRun{cmd: cmd, stderr: &bytes.Buffer{}, done: make(chan struct{})}
		cmd.Stderr = f.stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		firstRuns[d] = f
		go func() { cmd.Wait(); close(f.done) }()
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			select {
			case <-f.done:
				return fmt.Errorf("the first run ended before its temporary was seen: %s", head(f.stderr.String(), 200))
			default:
			}
			entries, _ := os.ReadDir(d)
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), "."+report+".tmp-") {
					return nil
				}
			}
			time.Sleep(200 * time.Microsecond)
		}
		cmd.Process.Kill()
		return errors.New("the first run's temporary never appeared in 60s")
	}
}

// firstRunKept: the first run ended well (its checks' status aside), its
// report (a PNG) renamed into place, and the report is whole.
func firstRunKept(report string) func(r *Result) []string {
	return func(r *Result) []string {
		f := firstRuns[r.Dir]
		select {
		case <-f.done:
		case <-time.After(60 * time.Second):
			f.cmd.Process.Kill()
			<-f.done
			return []string{"the first run did not end within 60s of the second"}
		}
		var p []string
		if code := f.cmd.ProcessState.ExitCode(); code != 0 && code != 3 {
			p = append(p, fmt.Sprintf("the first run exited %d: %s", code, head(f.stderr.String(), 200)))
		}
		if b, err := os.ReadFile(filepath.Join(r.Dir, report)); err != nil || !bytes.Contains(b[max(len(b)-16, 0):], []byte("IEND")) {
			p = append(p, report+" is not a whole PNG")
		}
		return p
	}
}
