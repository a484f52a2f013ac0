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
	"sync"
	"syscall"
	"time"

	"go.uber.org/zap/zapcore"

	"vmstorm/config"
	"vmstorm/internal/live"
	"vmstorm/internal/logx"
	"vmstorm/internal/sim"
	"vmstorm/metrics"
	"vmstorm/pipeline"
	"vmstorm/report"
	"vmstorm/scenario"
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

func run(args []string, stdout, stderr io.Writer) int {
	cfg, opt, sc, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "vmstorm: %v\n", err)
		return exitBadInput
	}
	switch {
	case opt.listScenarios:
		for _, b := range scenario.Builtins() {
			fmt.Fprintf(stdout, "%-18s %s\n", b.Name, b.Description)
		}
		return exitOK
	case opt.printScenario != "":
		src, ok := scenario.Source(opt.printScenario)
		if !ok {
			fmt.Fprintf(stderr, "vmstorm: -print-scenario: no built-in scenario %q; 'vmstorm -list-scenarios' lists them\n", opt.printScenario)
			return exitBadInput
		}
		_, _ = stdout.Write(src)
		return exitOK
	}
	if cfg.Seed == 0 {
		cfg.Seed = randomSeed()
	}
	if sc != nil {
		// A -duration shorter than the scenario's: say what the run leaves out.
		for _, line := range sc.Cut.Lines() {
			fmt.Fprintf(stderr, "vmstorm: %s\n", line)
		}
	}

	// Every file is opened before the run starts, so that a path that
	// cannot be written is bad input, reported before anything runs.
	var logFile, seriesFile *os.File
	if opt.logFile != "" {
		if logFile, err = os.Create(opt.logFile); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -log-file: %v; give a path in a directory you can write to\n", err)
			return exitBadInput
		}
		defer logFile.Close()
	}
	if opt.series != "" {
		if seriesFile, err = os.Create(opt.series); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -series: %v; give a path in a directory you can write to\n", err)
			return exitBadInput
		}
		defer seriesFile.Close()
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stopSignals := catchSignals(ctx, cancel)
	defer stopSignals()

	clock := pipeline.NewKernel(cfg, sim.Serial)
	var observers []pipeline.Observer
	logOpts := logx.Options{Clock: clock, ConsoleLevel: zapcore.InfoLevel}
	var view *live.View
	if !opt.quiet {
		// On a terminal, a status area redrawn in place under the log
		// lines; otherwise plain log lines.
		view = live.New(stderr, clock)
		defer view.Close()
		logOpts.Console = view.LogWriter()
		observers = append(observers, view)
	}
	if logFile != nil {
		logOpts.File = logFile
		logOpts.BufferFile = cfg.Speed == config.MaxSpeed // nobody can follow an unpaced run line by line
	}
	var series *report.SeriesWriter
	if seriesFile != nil {
		series = report.NewSeriesWriter(seriesFile)
		observers = append(observers, series)
	}
	if opt.metricsAddr != "" {
		exporter := metrics.NewExporter(float64(cfg.Speed))
		server, err := metrics.Serve(context.Background(), opt.metricsAddr, exporter)
		if err != nil {
			fmt.Fprintf(stderr, "vmstorm: -metrics-addr: %v\n", err)
			return exitBadInput
		}
		defer server.Stop()
		fmt.Fprintf(stderr, "vmstorm: serving metrics on http://%s/metrics\n", server.Addr())
		observers = append(observers, exporter)
	}
	logs := logx.New(logOpts)

	wallStart := time.Now()
	summary, runErr := pipeline.Run(ctx, cfg, clock, logs.Logger, observers...)
	if summary != nil {
		summary.Wall = time.Since(wallStart)
	}
	failed, checksFailed := runErr != nil, false
	if err := logs.Sync(); err != nil && logOpts.BufferFile {
		// Only the buffered log file can fail here (stderr and plain
		// files may not support fsync, which is not asked for).
		fmt.Fprintf(stderr, "vmstorm: -log-file: %v\n", err)
		failed = true
	}
	if view != nil {
		_ = view.Close() // the status area stays above the summary
	}
	if series != nil {
		if err := series.Close(); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -series: %v\n", err)
			failed = true
		}
	}
	if summary != nil {
		summary.LogLinesDropped = logs.Dropped()
		if err := summary.Format(stdout); err != nil {
			fmt.Fprintf(stderr, "vmstorm: writing the summary: %v\n", err)
			return exitFailed
		}
		var results []scenario.Result
		if sc != nil {
			results = sc.Evaluate(summary)
			if err := scenario.FormatResults(stdout, sc.File.Name, results); err != nil {
				failed = true
			}
			if err := sc.Cut.FormatChecks(stdout, sc.File.Name); err != nil {
				failed = true
			}
			if checksFailed = !scenario.Hold(results); checksFailed {
				failing := 0
				for _, r := range results {
					if !r.OK {
						failing++
					}
				}
				fmt.Fprintf(stderr, "vmstorm: %d of the %d checks and calibrations of %s did not hold\n", failing, len(results), sc.File.Name)
			}
		}
		if opt.report != "" {
			if err := report.WriteFile(opt.report, summary, report.WithChecks(reportChecks(results))); err != nil {
				fmt.Fprintf(stderr, "vmstorm: -report: %v\n", err)
				failed = true
			}
		}
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "vmstorm: %v\n", runErr)
	}
	var sig signalled
	if errors.As(context.Cause(ctx), &sig) {
		return sig.exitCode()
	}
	if failed {
		return exitFailed
	}
	if checksFailed {
		return exitChecksFailed
	}
	return exitOK
}

// reportChecks hands the scenario's checks, done, to the report as plain
// data.
func reportChecks(results []scenario.Result) []report.Check {
	out := make([]report.Check, len(results))
	for i, r := range results {
		out[i] = report.Check{Name: r.Check.Name, Causes: r.Check.Causes, Calibration: r.Check.Calibration,
			Model: r.Model, Want: r.Want, OK: r.OK}
	}
	return out
}

// catchSignals cancels ctx, with the signal as its cause, on SIGINT or
// SIGTERM. The returned function stops catching and waits for the watcher.
func catchSignals(ctx context.Context, cancel context.CancelCauseFunc) (stop func()) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		select {
		case s := <-sigs:
			cancel(signalled{s})
		case <-done:
		case <-ctx.Done():
		}
	})
	return func() {
		signal.Stop(sigs)
		close(done)
		wg.Wait()
	}
}

func randomSeed() uint64 {
	var b [8]byte
	_, _ = rand.Read(b[:])                      // crypto/rand.Read never fails on Linux
	return binary.LittleEndian.Uint64(b[:]) | 1 // never 0, which means "pick one"
}
