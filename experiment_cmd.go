package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"vmstorm/experiment"
	"vmstorm/internal/paths"
	"vmstorm/report"
)

// runExperiment is -experiment: it runs the experiment's replicas (or its
// shard of them), or merges the results of shards (-merge), and prints the
// table; -results keeps every replica's measures, -verdicts the table's
// verdicts, -report draws them. A results file that cannot be written
// fails the run (exit 1) after the table. It plans (planExperiment), runs
// the replicas (runReplicas) or merges the shards' results (mergeShards),
// and finishes (finishExperiment).
func runExperiment(opt options, stdout, stderr io.Writer) (code int) {
	p, code := planExperiment(opt, stderr)
	if p == nil {
		return code
	}
	defer p.close()
	if len(opt.merge) > 0 {
		r, code := mergeShards(p, opt.merge, stderr)
		if r == nil {
			return code
		}
		return finishExperiment(p, r, opt, stdout, stderr)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	// A signal's status wins over any other (after the table, as after a
	// run's summary): this runs after every later defer.
	defer func() {
		var sig signalled
		if errors.As(context.Cause(ctx), &sig) {
			code = sig.exitCode()
		}
	}()
	defer catchSignals(cancel, exitAtOnce(stderr, "the table"))()
	defer experiment.CollectLessOften()()
	r, code := runReplicas(ctx, p, opt, stderr)
	if r == nil {
		return code
	}
	code = finishExperiment(p, r, opt, stdout, stderr)
	if r.writeFailed {
		return exitFailed // the table was still printed: the replicas ran
	}
	return code
}

// experimentPlan is what runExperiment has settled before anything runs:
// the experiment, its tasks (this shard's), and the results file opened.
type experimentPlan struct {
	e       *experiment.Experiment
	tasks   []experiment.Task
	shard   int // this process's shard, of shards; 0 of 1 unsharded
	shards  int
	out     *os.File // -results, or nil
	drawing bool     // -report: keep the curves it draws
}

// planExperiment loads the experiment, checks its base file against the
// outputs, takes this process's shard of its tasks (refusing what a shard
// cannot do), and opens the -results file. On bad input it says what is
// wrong and returns nil with the exit status.
func planExperiment(opt options, stderr io.Writer) (*experimentPlan, int) {
	e, err := experiment.LoadExperiment(opt.experiment)
	if err != nil {
		fmt.Fprintf(stderr, "vmstorm: -experiment: %v\n", err)
		return nil, exitBadInput
	}
	if e.BaseFile != "" {
		// The base scenario is an input too: no output may overwrite it.
		all := append([]paths.File{{Flag: "experiment's base", Path: e.BaseFile}}, files(opt)...)
		if err := paths.Check(all); err != nil {
			fmt.Fprintf(stderr, "vmstorm: %v\n", err)
			return nil, exitBadInput
		}
	}
	p := &experimentPlan{e: e, tasks: experiment.Plan(e), shards: 1, drawing: opt.report != ""}
	// A merge reads every shard's results: a job array's variables, which
	// a merge submitted from an array task inherits, say nothing of it.
	if len(opt.merge) == 0 {
		if p.shard, p.shards, err = shardOf(opt.shard, os.Getenv); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -shard: %v\n", err)
			return nil, exitBadInput
		}
	}
	if p.shards > 1 {
		if msg := shardRefusal(e, opt, p.shard, p.shards); msg != "" {
			fmt.Fprintf(stderr, "vmstorm: %s\n", msg)
			return nil, exitBadInput
		}
		p.tasks = experiment.Shard(p.tasks, p.shard, p.shards)
	}
	if len(opt.merge) == 0 && opt.results != "" {
		if p.out, err = os.Create(opt.results); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -results: %v\n", err)
			return nil, exitBadInput
		}
	}
	return p, exitOK
}

// shardRefusal is why shard i of n cannot run as opt asks (its flag
// first), or "" when it can.
func shardRefusal(e *experiment.Experiment, opt options, i, n int) string {
	switch {
	case e.Sweep != nil && e.Sweep.Tipping != nil:
		return "-shard: the sweep's tipping point adds points round by round, each chosen from the results of the rounds before it, so an experiment with tipping runs in one process; run it without -shard, or remove tipping to shard its grid"
	case opt.report != "":
		return fmt.Sprintf("-report: this is shard %d of %d, whose report would compare a part of the replicas; write -results, and -report when you -merge the shards", i, n)
	case opt.verdicts != "":
		return fmt.Sprintf("-verdicts: this is shard %d of %d, which has no verdicts (each variant incomplete); write -results, and -verdicts when you -merge the shards", i, n)
	}
	return ""
}

// close closes the -results file, if one was opened.
func (p *experimentPlan) close() {
	if p.out != nil {
		p.out.Close()
	}
}

// keep is what is kept of a result: its curves only for the report to
// draw, and then no larger than they are (a decoder's slices have room to
// grow); -results has them all. (A replica's outcome is judged from its
// trace and its control's, which hold what the judgement needs.)
func (p *experimentPlan) keep(r experiment.Result) experiment.Result {
	if !p.drawing || !experiment.Drawn(p.e, r) {
		r.Curves = experiment.Curves{}
		return r
	}
	r.Curves.VMs, r.Curves.Backlog, r.Curves.Requeues = slices.Clone(r.Curves.VMs), slices.Clone(r.Curves.Backlog), slices.Clone(r.Curves.Requeues)
	return r
}

// experimentRun is what a run or a merge gives the finish.
type experimentRun struct {
	results     []experiment.Result
	total       int  // the runs planned (with tipping, those of the rounds started)
	interrupted bool // a signal stopped the run
	writeFailed bool // the -results file could not be written (said already)
}

// mergeShards reads the shards' results files and checks that they are
// the whole experiment's. On bad input it says what is wrong and returns
// nil with the exit status.
func mergeShards(p *experimentPlan, merge []string, stderr io.Writer) (*experimentRun, int) {
	results, err := readResults(merge, p.e.Runs(), p.keep)
	if err == nil {
		err = experiment.Check(p.e, results)
	}
	if err != nil {
		fmt.Fprintf(stderr, "vmstorm: -merge: %v\n", err)
		return nil, exitBadInput
	}
	all := 0
	for _, round := range experiment.Rounds(p.e, results) {
		all += len(round)
	}
	if len(results) != all {
		fmt.Fprintf(stderr, "vmstorm: -merge: the results of %d of the experiment's %d tasks: a shard is missing, or was interrupted; merge every shard's -results\n", len(results), all)
		return nil, exitBadInput
	}
	return &experimentRun{results: results, total: len(p.tasks)}, exitOK
}

// runReplicas runs the plan's tasks (a shard's, or every round of the
// whole experiment's), writing each result to -results as its pair is
// complete, with a progress bar. A failure it says and returns nil with
// the exit status; an interruption is the run's, for the finish to say.
func runReplicas(ctx context.Context, p *experimentPlan, opt options, stderr io.Writer) (*experimentRun, int) {
	r := &experimentRun{total: len(p.tasks)}
	bar := newProgress(stderr, 0, !opt.quiet, time.Now)
	var writeErr, pairErr error
	pairs := experiment.NewPairs(p.e, func(res experiment.Result) {
		if p.out != nil && writeErr == nil {
			writeErr = experiment.WriteJSON(p.out, res)
		}
		r.results = append(r.results, p.keep(res))
	})
	each := func(res experiment.Result) {
		if pairErr == nil {
			pairErr = pairs.Add(res)
		}
		bar.add()
	}
	var err error
	if p.shards > 1 {
		bar.grow(len(p.tasks))
		err = experiment.Run(ctx, p.e, p.tasks, opt.parallel, each)
	} else {
		r.total = 0 // with tipping rounds, each round's runs are added as it starts
		err = experiment.RunAll(ctx, p.e, opt.parallel, func(round []experiment.Task) {
			bar.grow(len(round))
			r.total += len(round)
		}, each)
	}
	bar.done()
	if pairErr != nil {
		fmt.Fprintf(stderr, "vmstorm: %v\n", pairErr)
		return nil, exitFailed
	}
	if writeErr != nil {
		fmt.Fprintf(stderr, "vmstorm: -results: %v\n", writeErr)
		r.writeFailed = true
	}
	if errors.Is(err, experiment.ErrInterrupted) {
		r.interrupted = true
	} else if err != nil {
		fmt.Fprintf(stderr, "vmstorm: %v\n", err)
		return nil, exitFailed
	}
	return r, exitOK
}

// finishExperiment prints the table of the results, says what an
// interruption left out, and writes -verdicts and -report; it returns the
// exit status.
func finishExperiment(p *experimentPlan, r *experimentRun, opt options, stdout, stderr io.Writer) int {
	table, err := experiment.Summarize(p.e, r.results)
	if err != nil {
		fmt.Fprintf(stderr, "vmstorm: -merge: %v\n", err)
		return exitBadInput
	}
	if err := experiment.WriteTable(stdout, p.e, table); err != nil {
		fmt.Fprintf(stderr, "vmstorm: writing the table: %v\n", err)
		return exitFailed
	}
	if r.interrupted {
		fmt.Fprintf(stderr, "vmstorm: interrupted: the table holds the %d of %d runs (replicas and their controls) that finished, and no verdict for a variant that did not finish\n", len(r.results), r.total)
		return exitFailed // runExperiment gives the signal's status
	}
	if opt.verdicts != "" {
		if err := report.RemoveStaleTemporaries(opt.verdicts); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -verdicts: %v\n", err) // only litter: the verdicts are still written
		}
		if err := report.WriteVerdictsFile(opt.verdicts, table); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -verdicts: %v\n", err)
			return exitFailed
		}
	}
	if opt.report != "" {
		return writeExperimentReport(p, r, table, opt.report, stderr)
	}
	return exitOK
}

// writeExperimentReport draws the table and the results as the -report
// page at path; it returns the exit status.
func writeExperimentReport(p *experimentPlan, r *experimentRun, table *experiment.Table, path string, stderr io.Writer) int {
	if err := report.RemoveStaleTemporaries(path); err != nil {
		fmt.Fprintf(stderr, "vmstorm: -report: %v\n", err) // only litter: the report is still written
	}
	page, err := experiment.NewPage(p.e, table, r.results)
	if err != nil {
		fmt.Fprintf(stderr, "vmstorm: -report: report: %v\n", err)
		return exitFailed
	}
	if err := report.WriteExperimentFile(path, page); err != nil {
		fmt.Fprintf(stderr, "vmstorm: -report: %v\n", err)
		return exitFailed
	}
	return exitOK
}

// shardOf reads -shard i/n, or /n with i from a Kubernetes Indexed Job's
// or a Slurm job array's variables; with no -shard, a Slurm job array
// gives both. It returns 0 and 1 for no sharding. A process that a Job or
// an array started as one of many, but that cannot tell its share (an
// index with no count, no -shard), is refused rather than run the whole
// experiment, as each of the others would; so is an array whose tasks are
// not the range its count says (a list such as 1,4,9).
func shardOf(flag string, env func(string) string) (i, n int, err error) {
	count := env("SLURM_ARRAY_TASK_COUNT")
	if flag == "" {
		switch id := env("SLURM_ARRAY_TASK_ID"); {
		case id != "" && count != "":
			if n, err := strconv.Atoi(count); err != nil || n < 1 || n > maxShards {
				return 0, 0, fmt.Errorf("SLURM_ARRAY_TASK_COUNT %q (read as there is no -shard): want a count of tasks from 1 to %d", count, maxShards)
			}
			flag = "/" + count
		case id != "":
			return 0, 0, fmt.Errorf("SLURM_ARRAY_TASK_ID is %q (a task of a Slurm job array) but SLURM_ARRAY_TASK_COUNT is not set, so this task cannot tell its share, and would run the whole experiment as every other task would: give -shard /N, N the array's tasks, or unset SLURM_ARRAY_TASK_ID to run it all here", id)
		case env("JOB_COMPLETION_INDEX") != "":
			return 0, 0, fmt.Errorf("JOB_COMPLETION_INDEX is %q (a pod of a Kubernetes Indexed Job) but -shard is not given, so this pod would run the whole experiment as every other pod would: give -shard /N, N the Job's completions, or unset JOB_COMPLETION_INDEX to run it all here", env("JOB_COMPLETION_INDEX"))
		default:
			return 0, 1, nil
		}
	}
	is, ns, ok := strings.Cut(flag, "/")
	n, err = strconv.Atoi(ns)
	if !ok || err != nil || n < 1 || n > maxShards {
		return 0, 0, fmt.Errorf("%q: want i/n, such as 0/4, or /n with the index from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID", flag)
	}
	if is == "" {
		if v := env("JOB_COMPLETION_INDEX"); v != "" {
			is = v
		} else if v := env("SLURM_ARRAY_TASK_ID"); v != "" {
			if is, err = slurmIndex(v, n, count, env); err != nil {
				return 0, 0, err
			}
		} else {
			return 0, 0, fmt.Errorf("%q takes its index from JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID, and neither is set", flag)
		}
	}
	if i, err = strconv.Atoi(is); err != nil || i < 0 || i >= n {
		return 0, 0, fmt.Errorf("shard %q of %d: want an index from 0 to %d", is, n, n-1)
	}
	return i, n, nil
}

// slurmIndex is the shard of the Slurm array task id, of n: its place in
// the array's range, SLURM_ARRAY_TASK_MIN to _MAX by _STEP, which must
// hold n tasks, as SLURM_ARRAY_TASK_COUNT (count) says, when it is set.
func slurmIndex(id string, n int, count string, env func(string) string) (string, error) {
	task, err1 := strconv.Atoi(id)
	low, err2 := strconv.Atoi(cmp.Or(env("SLURM_ARRAY_TASK_MIN"), "0"))
	step, err3 := strconv.Atoi(cmp.Or(env("SLURM_ARRAY_TASK_STEP"), "1"))
	if err1 != nil || err2 != nil || err3 != nil || step < 1 {
		return "", fmt.Errorf("SLURM_ARRAY_TASK_ID %q, _MIN and _STEP: want whole numbers, a step of at least 1", id)
	}
	if count != "" && count != strconv.Itoa(n) {
		return "", fmt.Errorf("shards /%d, but the Slurm job array has SLURM_ARRAY_TASK_COUNT %q tasks: give -shard /%s, or leave -shard out", n, count, count)
	}
	if v := env("SLURM_ARRAY_TASK_MAX"); v != "" {
		high, err := strconv.Atoi(v)
		if err != nil || high < low || (high-low)%step != 0 || (high-low)/step+1 != n {
			return "", fmt.Errorf("the Slurm job array's tasks are not %d in the range from SLURM_ARRAY_TASK_MIN %d to _MAX %q by _STEP %d: give --array a range such as 0-%d (a list such as 1,4,9 does not say each task's place)", n, low, v, step, n-1)
		}
	}
	// An array 1-9:2 has tasks 1, 3, 5, 7 and 9: shards 0 to 4.
	if (task-low)%step != 0 || task < low {
		return "", fmt.Errorf("SLURM_ARRAY_TASK_ID %q is not in the array from %d by %d (SLURM_ARRAY_TASK_MIN and _STEP)", id, low, step)
	}
	return strconv.Itoa((task - low) / step), nil
}

// maxShards bounds the shards of an experiment.
const maxShards = 1_000_000

// readResults reads the results files (or globs) of shards, in a fixed
// order of files, keeping what keep keeps of each; more results than the
// experiment's tasks is an error, found before they are all held.
func readResults(patterns []string, tasks int, keep func(experiment.Result) experiment.Result) ([]experiment.Result, error) {
	all := make([]experiment.Result, 0, min(tasks, 1<<20))
	for _, name := range expandGlobs(patterns) {
		f, err := os.Open(name)
		if err != nil {
			return nil, err
		}
		err = experiment.EachJSON(name, f, func(r experiment.Result) error {
			if len(all) == tasks {
				return fmt.Errorf("more results than the experiment's %d tasks: a shard given twice under two names, or results of another experiment", tasks)
			}
			all = append(all, keep(r))
			return nil
		})
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return all, nil
}
