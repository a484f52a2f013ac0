// Command vmstorm models the 2015-08-04 Travis CI OS X outage as a real
// concurrent system: Build, Run and Cleanup goroutine pools joined by
// channels, a capacity gauge, and a janitor that can be broken to start a
// requeue storm. main reads the flags, wires the logs, catches signals and
// prints the summary; the model lives in the packages.
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

	"go.uber.org/zap/zapcore"

	"vmstorm/internal/logx"
	"vmstorm/internal/sim"
	"vmstorm/pipeline"
)

// Exit statuses.
const (
	exitOK       = 0
	exitFailed   = 1
	exitBadInput = 2
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
	cfg, opt, err := parseFlags(args, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "vmstorm: %v\n", err)
		return exitBadInput
	}
	if cfg.Seed == 0 {
		cfg.Seed = randomSeed()
	}

	var logFile *os.File
	if opt.logFile != "" {
		if logFile, err = os.Create(opt.logFile); err != nil {
			fmt.Fprintf(stderr, "vmstorm: -log-file: %v; give a path in a directory you can write to\n", err)
			return exitBadInput
		}
		defer logFile.Close()
	}

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stopSignals := catchSignals(ctx, cancel)
	defer stopSignals()

	clock := sim.NewClock(cfg.Speed, cfg.Epoch)
	logOpts := logx.Options{Clock: clock, Console: stderr, ConsoleLevel: zapcore.InfoLevel}
	if logFile != nil {
		logOpts.File = logFile
	}
	logs := logx.New(logOpts)
	summary, runErr := pipeline.Run(ctx, cfg, clock, logs.Logger)
	_ = logs.Sync() // stderr and plain files may not support fsync; nothing is buffered anyway
	if summary != nil {
		summary.LogLinesDropped = logs.Dropped()
		if err := summary.Format(stdout); err != nil {
			fmt.Fprintf(stderr, "vmstorm: writing the summary: %v\n", err)
			return exitFailed
		}
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "vmstorm: %v\n", runErr)
		return exitFailed
	}
	var sig signalled
	if errors.As(context.Cause(ctx), &sig) {
		return sig.exitCode()
	}
	return exitOK
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
