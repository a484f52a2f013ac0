// Command vmstorm models the 2015-08-04 Travis CI OS X outage as a real
// concurrent system: Build, Run and Cleanup goroutine pools joined by
// channels, a capacity gauge, and a janitor that can be broken to start a
// requeue storm; or it replays a scenario: the whole 2015 incident, or two
// later outages of the same shape. main reads the flags, wires the logs and
// the outputs, catches signals and prints the summary; the model lives in
// the packages.
package main

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/experiment"
	"vmstorm/internal/sim"
	"vmstorm/live"
	"vmstorm/logx"
	"vmstorm/metrics"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/report"
	"vmstorm/scenario"
	"vmstorm/series"
)

// Exit statuses.
const (
	exitOK       = 0
	exitFailed   = 1
	exitBadInput = 2
	// exitChecksFailed: the run ended, but a faithfulness check of its
	// scenario (or a calibration) did not hold.
	exitChecksFailed = 3
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// signalled is the cause of a run cut short by a signal.
type signalled struct{ sig os.Signal }

func (s signalled) Error() string { return s.sig.String() + " received" }

// exitCode is the shell's convention for a process ended by sig: 128 + its
// number (130 for SIGINT, 143 for SIGTERM).
func (s signalled) exitCode() int {
	if n, ok := s.sig.(syscall.Signal); ok {
		return 128 + int(n)
	}
	return exitFailed
}

// run is the command: it reads the flags, does what they ask, and returns
// the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, opt, sc, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "vmstorm: %v\n", err)
		return exitBadInput
	}
	if code, done := runCommand(opt, cfg, sc, stdout, stderr); done {
		return code
	}
	return runOnce(cfg, opt, sc, stdout, stderr)
}

// runCommand does what the flags ask when it is not a run of the model:
// a list, a built-in file printed, -analyze or -experiment. done is false
// when they ask for a run.
func runCommand(opt options, cfg config.Config, sc *scenario.Scenario, stdout, stderr io.Writer) (code int, done bool) {
	switch {
	case opt.listScenarios:
		for _, b := range scenario.Builtins() {
			fmt.Fprintf(stdout, "%-18s %s\n", b.Name, b.Description)
		}
		return exitOK, true
	case opt.printScenario != "":
		src, ok := scenario.Source(opt.printScenario)
		if !ok {
			fmt.Fprintf(stderr, "vmstorm: -print-scenario: no built-in scenario %q; 'vmstorm -list-scenarios' lists them\n", opt.printScenario)
			return exitBadInput, true
		}
		_, _ = stdout.Write(src)
		return exitOK, true
	case opt.analyze != "":
		return analyzeSeries(opt, cfg, sc, stdout, stderr), true
	case opt.printExperiment != "":
		src, ok := experiment.ExperimentSource(opt.printExperiment)
		if !ok {
			fmt.Fprintf(stderr, "vmstorm: -print-experiment: no built-in experiment %q; the built-in experiments are %s\n", opt.printExperiment, strings.Join(experiment.Experiments(), ", "))
			return exitBadInput, true
		}
		_, _ = stdout.Write(src)
		return exitOK, true
	case opt.experiment != "":
		return runExperiment(opt, stdout, stderr), true
	case opt.gameday != "":
		return runGameday(cfg, opt, sc, stdout, stderr), true
	}
	return 0, false
}

// runOnce runs the model once, as the flags and scenario ask: plan (the
// seed, the outputs opened, the logs and watchers wired), run, finish (the
// outputs closed, the summary, checks and report written, the exit status
// chosen).
func runOnce(cfg config.Config, opt options, sc *scenario.Scenario, stdout, stderr io.Writer) int {
	if cfg.Seed == 0 {
		cfg.Seed = randomSeed()
	}
	if sc != nil {
		// A -duration shorter than the scenario's: say what the run leaves out.
		for _, line := range sc.Cut.Lines() {
			fmt.Fprintf(stderr, "vmstorm: %s\n", line)
		}
	}
	if note, ok := pacedNote(cfg.Duration, float64(cfg.Speed), cfg.MaxJobs > 0); ok {
		fmt.Fprintf(stderr, "vmstorm: %s\n", note) // before a long wait, how long, and how not to
	}
	outs, ok := openSinks(cfg, opt, stderr)
	if !ok {
		return exitBadInput
	}
	defer outs.close()

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	defer catchSignals(cancel, exitAtOnce(stderr, "the summary"))()

	r := planRun(cfg, opt, sc, outs, stderr)
	if r.view != nil {
		defer r.view.Close()
	}
	wallStart := time.Now()
	out, runErr := outcome.Run(ctx, cfg, r.kernel, outcome.Options{Log: r.logs.Logger, Checks: r.checks, Watchers: r.watchers})
	if out != nil {
		out.Summary.Wall = time.Since(wallStart)
	}
	return r.finish(ctx, out, runErr, stdout, stderr)
}

// sinks are a run's endpoint and files, opened before the run.
type sinks struct {
	server              *metrics.Server
	exporter            *metrics.Exporter
	logFile, seriesFile *os.File
}

// openSinks opens them. Every path was checked before (see check); now
// the listener, which may still fail (the port is taken), and only then
// the files, so that a run refused leaves every file as it was. It says
// on stderr what failed, and then ok is false.
func openSinks(cfg config.Config, opt options, stderr io.Writer) (o *sinks, ok bool) {
	o = &sinks{}
	var err error
	if opt.metricsAddr != "" {
		o.exporter = metrics.NewExporter(float64(cfg.Speed))
		if o.server, err = metrics.Serve(context.Background(), opt.metricsAddr, o.exporter, metrics.WithPprof(opt.pprof)); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -metrics-addr: %v\n", err)
			return nil, false
		}
	}
	for _, out := range []struct {
		flag, path string
		f          **os.File
	}{{"log-file", opt.logFile, &o.logFile}, {"series", opt.series, &o.seriesFile}} {
		if out.path == "" {
			continue
		}
		if *out.f, err = os.Create(out.path); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -%s: %v\n", out.flag, err)
			o.close()
			return nil, false
		}
	}
	if opt.report != "" {
		if err := report.RemoveStaleTemporaries(opt.report); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -report: %v\n", err) // the run goes on: they are only litter
		}
	}
	return o, true
}

// close closes the files and stops the endpoint, the last opened first.
func (o *sinks) close() {
	for _, f := range []*os.File{o.seriesFile, o.logFile} {
		if f != nil {
			_ = f.Close()
		}
	}
	if o.server != nil {
		_ = o.server.Stop()
	}
}

// modelRun is a run of the model, planned: its kernel, its logs, the
// scenario's checks, and what watches it as it goes.
type modelRun struct {
	opt      options
	sc       *scenario.Scenario
	kernel   *sim.Kernel
	logs     *logx.Logs
	view     *live.View // nil with -quiet
	csv      *series.Writer
	checks   []analysis.Check
	watchers []series.Watcher
}

// planRun wires the run's logs and watchers to its outputs.
func planRun(cfg config.Config, opt options, sc *scenario.Scenario, outs *sinks, stderr io.Writer) *modelRun {
	r := &modelRun{opt: opt, sc: sc, kernel: pipeline.NewKernel(cfg, sim.Serial)}
	logOpts := logx.Options{Clock: r.kernel, ConsoleLevel: zapcore.InfoLevel, ErrorOutput: stderr}
	if !opt.quiet {
		// On a terminal, a status area redrawn in place under the log
		// lines; otherwise plain log lines.
		r.view = live.New(stderr, r.kernel)
		logOpts.Console = r.view.LogWriter()
		logOpts.ErrorOutput = r.view.LogWriter()
		r.watchers = append(r.watchers, r.view)
	}
	if outs.logFile != nil {
		logOpts.File = outs.logFile
		logOpts.BufferFile = cfg.Speed == config.MaxSpeed // nobody can follow an unpaced run line by line
	}
	if sc != nil {
		r.checks = sc.Checks
	}
	if outs.seriesFile != nil {
		r.csv = series.NewWriter(outs.seriesFile, cfg.Epoch)
		r.csv.Settings(outcome.SettingsOf(cfg, opt.scenario, r.checks)) // so that -analyze of it alone judges it as this run does
		r.watchers = append(r.watchers, r.csv)
	}
	if outs.server != nil {
		fmt.Fprintf(stderr, "vmstorm: serving metrics on http://%s/metrics\n", outs.server.Addr())
		r.watchers = append(r.watchers, outs.exporter)
	}
	r.logs = logx.New(logOpts)
	r.watchers = append(r.watchers, logx.NewStatus(r.logs.Logger, cfg.StatusEvery))
	return r
}

// finish closes what the run wrote as it went, writes what it found, and
// chooses the exit status: a signal's, else failed if anything did, else
// whether the scenario's checks held.
func (r *modelRun) finish(ctx context.Context, out *outcome.Outcome, runErr error, stdout, stderr io.Writer) int {
	failed := !r.closeStreams(stderr) || runErr != nil
	checksFailed := false
	if out != nil {
		out.Summary.LogLinesDropped = r.logs.Dropped()
		if err := report.WriteSummary(stdout, out); err != nil {
			fmt.Fprintf(stderr, "vmstorm: writing the summary: %v\n", err)
			return exitFailed
		}
		var ok bool
		ok, checksFailed = r.writeFindings(out, stdout, stderr)
		failed = failed || !ok
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "vmstorm: %v\n", runErr)
	}
	var sig signalled
	switch {
	case errors.As(context.Cause(ctx), &sig):
		return sig.exitCode()
	case failed:
		return exitFailed
	case checksFailed:
		return exitChecksFailed
	}
	return exitOK
}

// closeStreams flushes the logs and closes the live view and the series;
// ok is false if a log file or the series failed (each has said so).
func (r *modelRun) closeStreams(stderr io.Writer) (ok bool) {
	ok = true
	_ = r.logs.Sync() // stderr and plain files may not support fsync, which is not asked for
	if r.logs.FileErr() != nil {
		ok = false // its one line is written already
	}
	if r.view != nil {
		_ = r.view.Close() // the status area stays above the summary
	}
	if r.csv != nil {
		if err := r.csv.Close(); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -series: %v\n", err)
			ok = false
		}
	}
	return ok
}

// writeFindings writes, after the summary, the scenario's checks and the
// HTML report. ok is false if one could not be written; checksFailed is
// true if a check or calibration did not hold.
func (r *modelRun) writeFindings(out *outcome.Outcome, stdout, stderr io.Writer) (ok, checksFailed bool) {
	ok = true
	if sc := r.sc; sc != nil {
		results := out.Analysis.Checks
		if err := report.WriteChecks(stdout, sc.Name, results); err != nil {
			ok = false
		}
		if err := sc.Cut.FormatChecks(stdout, sc.Name); err != nil {
			ok = false
		}
		if checksFailed = !analysis.Hold(results); checksFailed {
			failing := 0
			for _, res := range results {
				if !res.OK {
					failing++
				}
			}
			line := fmt.Sprintf("vmstorm: %d of the %d checks and calibrations of %s did not hold", failing, len(results), sc.Name)
			if by := changedBy(sc, out.Summary.Config, r.opt.given); len(by) > 0 {
				line += fmt.Sprintf(" with %s, which the scenario does not set: its checks are the incident as reported, which a mitigation or another value is expected to change", strings.Join(by, " "))
			}
			fmt.Fprintln(stderr, line)
		}
	}
	if r.opt.report != "" {
		if err := report.WriteFile(r.opt.report, out); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -report: %v\n", err)
			ok = false
		}
	}
	return ok, checksFailed
}

// analyzeSeries is -analyze: it reads a series a run wrote, judges it as
// the run judged itself, and prints what the analysis says of it: the
// phases, the storm and the incident, and the scenario's checks. What
// judges it (the alert rules, the window, drained, the queues, the
// scenario's checks) comes from the series' settings (outcome.Settings):
// a flag or a scenario given that would judge it otherwise is refused,
// and a built-in scenario the run replayed is loaded. A series of an
// older vmstorm, which has no settings, is judged as a run of the flags
// and the scenario given, and a line on stderr says so.
func analyzeSeries(opt options, cfg config.Config, sc *scenario.Scenario, stdout, stderr io.Writer) int {
	path := opt.analyze
	refuse := func(f string, a ...any) int {
		fmt.Fprintf(stderr, "vmstorm: -analyze %s: %s\n", path, fmt.Sprintf(f, a...))
		return exitBadInput
	}
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintf(stderr, "vmstorm: -analyze: %v\n", err)
		return exitBadInput
	}
	defer f.Close()
	values, err := series.ReadSettings(f)
	if err != nil {
		return refuse("%v", err)
	}
	if values != nil {
		run, err := outcome.ParseSettings(values)
		if err != nil {
			return refuse("series: line 2, column settings: %v", err)
		}
		given := func(p config.Param) bool { return opt.given[p.Flag] }
		if sc != nil {
			given = nil // the scenario gives every one
		}
		if m := run.Mismatch(cfg, given); m != "" {
			return refuse("the run was judged with %s: give the flags and scenario the run had, or leave them out", m)
		}
		switch {
		case run.Scenario == "" && sc != nil:
			return refuse("the run replayed no scenario: leave -scenario out")
		case run.Scenario != "" && sc == nil && scenario.IsFile(run.Scenario):
			return refuse("the run replayed the scenario file %s, whose checks judge it: give -scenario %s", run.Scenario, run.Scenario)
		case run.Scenario != "" && sc == nil:
			if sc, err = scenario.LoadBuiltin(run.Scenario); err != nil {
				return refuse("the run replayed the built-in scenario %s, which this vmstorm has not: %v", run.Scenario, err)
			}
		}
		if sc != nil {
			at := sc.Config
			at.Duration = run.Duration
			sc.CutTo(at) // the checks the run could judge, as it did
			if sc.Name != run.Name || outcome.ChecksFingerprint(sc.Checks) != run.Checks {
				return refuse("the run replayed scenario %s (%s), judged by checks of fingerprint %s; the scenario here is %s, with checks of fingerprint %s: give the scenario the run replayed, as it was",
					run.Name, run.Scenario, run.Checks, sc.Name, outcome.ChecksFingerprint(sc.Checks))
			}
		}
		cfg = run.Config
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return refuse("%v", err)
	}
	var checks []analysis.Check
	if sc != nil {
		checks = sc.Checks
	}
	res, epoch, err := outcome.Analyze(f, cfg, checks)
	if err != nil {
		return refuse("%v", err)
	}
	if values == nil {
		fmt.Fprintf(stderr, "vmstorm: -analyze %s: the series carries no settings of its run (an older vmstorm's, or no rows): judged with the flags and scenario given\n", path)
	}
	cfg.Epoch = epoch
	if err := report.WriteAnalysis(stdout, cfg, res); err != nil {
		fmt.Fprintf(stderr, "vmstorm: writing the analysis: %v\n", err)
		return exitFailed
	}
	if sc != nil {
		if err := report.WriteChecks(stdout, sc.Name, res.Checks); err != nil {
			return exitFailed
		}
		if err := sc.Cut.FormatChecks(stdout, sc.Name); err != nil {
			return exitFailed
		}
	}
	return exitOK
}

// catchSignals cancels ctx, with the signal as its cause, on SIGINT or
// SIGTERM: the run stops and says what it did. A second signal calls
// again, which stops at once, as is the convention. The returned function
// stops catching and waits for the watcher.
func catchSignals(cancel context.CancelCauseFunc, again func(os.Signal)) (stop func()) {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	stopWatch := watchSignals(sigs, cancel, again)
	return func() {
		signal.Stop(sigs)
		stopWatch()
	}
}

// exitAtOnce is what a second signal does: it says so, and exits at once,
// without what the first signal would have printed (the summary, the
// table), with the signal's status.
func exitAtOnce(stderr io.Writer, without string) func(os.Signal) {
	return func(sig os.Signal) {
		fmt.Fprintf(stderr, "vmstorm: %v received again: stopping at once, without %s\n", sig, without)
		os.Exit(signalled{sig}.exitCode())
	}
}

// watchSignals is catchSignals' watcher, on any channel of signals.
func watchSignals(sigs <-chan os.Signal, cancel context.CancelCauseFunc, again func(os.Signal)) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		first := true
		for {
			select {
			case s := <-sigs:
				if first {
					cancel(signalled{s})
					first = false
				} else {
					again(s)
				}
			case <-done:
				return
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])                      // crypto/rand.Read never fails on Linux
	return binary.LittleEndian.Uint64(b[:]) | 1 // never 0, which means "pick one"
}

// changedBy lists the model's parameters that the command line gave other
// values than the scenario's, as flags ("-breaker", "-vms 40"): a run with
// any of them is not the scenario as written, and its checks, which are
// the incident's figures as reported, are expected not to hold (the
// mitigations' one-liners exit 3). -speed is not one: a run gives the same
// results at every speed.
func changedBy(sc *scenario.Scenario, cfg config.Config, given map[string]bool) []string {
	var out []string
	for _, p := range config.Params {
		if !given[p.Flag] || p.Flag == "speed" {
			continue
		}
		v := p.Get(&cfg)
		switch {
		case v == p.Get(&sc.Config):
		case p.IsBool() && v == "true":
			out = append(out, "-"+p.Flag)
		case p.IsBool():
			out = append(out, "-"+p.Flag+"="+v)
		default:
			out = append(out, "-"+p.Flag+" "+v)
		}
	}
	return out
}
