package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"vmstorm/pipeline"
)

// options are the flags that are not model parameters.
type options struct {
	logFile string
}

// parseFlags reads the command line into a validated configuration. Its
// errors are one line each, in terms of the flags; flag.ErrHelp means -h
// was asked for and the usage has been written to usage.
func parseFlags(args []string, usage io.Writer) (pipeline.Config, options, error) {
	cfg := pipeline.Default()
	var opt options
	fs := flag.NewFlagSet("vmstorm", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by the caller

	fs.Int64Var(&cfg.VMs, "vms", cfg.VMs, "cluster capacity: `VMs` it can hold powered on at once (200 was the 2015 normal peak)")
	fs.BoolVar(&cfg.BreakCleanup, "break-cleanup", false, "break the janitor: its vSphere password is rotated and it can no longer log in, as on 2015-07-31")
	fs.DurationVar(&cfg.BreakAt, "break-at", cfg.BreakAt, "model `time` at which -break-cleanup breaks the janitor")
	fs.DurationVar(&cfg.Duration, "duration", cfg.Duration, "model `time` the run lasts")
	fs.Float64Var(&cfg.Speed, "speed", cfg.Speed, "model seconds per wall-clock second")
	fs.Uint64Var(&cfg.Seed, "seed", 0, "random `seed`; 0 picks one, and the seed in use is printed")
	fs.Float64Var(&cfg.ArrivalsPerMinute, "arrival-rate", cfg.ArrivalsPerMinute, "mean job arrivals per model minute (Poisson)")
	fs.Int64Var(&cfg.MaxJobs, "max-jobs", 0, "stop arrivals after this many `jobs`, and end the run when all are finished; 0 for no limit")
	fs.IntVar(&cfg.BuildWorkers, "build-workers", cfg.BuildWorkers, "Build pool size: `workers` cloning and powering on VMs at once")
	fs.IntVar(&cfg.RunWorkers, "run-workers", cfg.RunWorkers, "Run pool size: builds running at once (`workers`)")
	fs.IntVar(&cfg.CleanupWorkers, "cleanup-workers", cfg.CleanupWorkers, "Cleanup pool size: VMs the janitor destroys at once (`workers`)")
	fs.IntVar(&cfg.QueueSize, "queue-size", cfg.QueueSize, "buffer of each channel between stages (`items`); the backlog itself is unbounded")
	fs.DurationVar(&cfg.Clone.Mean, "clone-time", cfg.Clone.Mean, "mean model `time` to clone a VM from the image")
	fs.DurationVar(&cfg.Clone.Spread, "clone-spread", cfg.Clone.Spread, "standard deviation of the clone time (model `time`)")
	fs.DurationVar(&cfg.PowerOn.Mean, "boot-time", cfg.PowerOn.Mean, "mean model `time` for an admitted VM to power on and boot")
	fs.DurationVar(&cfg.PowerOn.Spread, "boot-spread", cfg.PowerOn.Spread, "standard deviation of the boot time (model `time`)")
	fs.DurationVar(&cfg.StartTimeout, "start-timeout", cfg.StartTimeout, "model `time` a worker waits for a VM to boot before it requeues the job; 0 for no limit")
	fs.DurationVar(&cfg.Build.Mean, "build-time", cfg.Build.Mean, "mean model `time` a build runs")
	fs.DurationVar(&cfg.Build.Spread, "build-spread", cfg.Build.Spread, "standard deviation of the build time (model `time`)")
	fs.DurationVar(&cfg.BuildTimeout, "build-timeout", cfg.BuildTimeout, "model `time` after which a build is ended; 0 for no limit")
	fs.DurationVar(&cfg.Destroy.Mean, "destroy-time", cfg.Destroy.Mean, "mean model `time` to destroy a VM")
	fs.DurationVar(&cfg.Destroy.Spread, "destroy-spread", cfg.Destroy.Spread, "standard deviation of the destroy time (model `time`)")
	fs.IntVar(&cfg.MaxAttempts, "max-attempts", 0, "fail a job for good after this many failed VM starts; 0 retries for ever, as in 2015")
	fs.DurationVar(&cfg.CleanupEvery, "cleanup-every", cfg.CleanupEvery, "model `time` the janitor sleeps between passes (CLEANUP_LOOP_SLEEP)")
	fs.Float64Var(&cfg.CleanupRate, "cleanup-rate", cfg.CleanupRate, "VMs per model second the janitor hands out for destruction (RATE_PER_SECOND); 0 for no limit")
	fs.DurationVar(&cfg.CleanupCutoff, "cleanup-cutoff", cfg.CleanupCutoff, "the janitor destroys any booted VM older than this (model `time`)")
	fs.DurationVar(&cfg.StatusEvery, "status-every", cfg.StatusEvery, "model `time` between status lines")
	fs.DurationVar(&cfg.SampleEvery, "sample-every", cfg.SampleEvery, "model `time` between samples of the model's state")
	fs.StringVar(&opt.logFile, "log-file", "", "write every lifecycle event to this `file` as JSON lines, for tail -f | jq")

	printUsage := func() {
		fmt.Fprintf(usage, "vmstorm models the 2015-08-04 Travis CI OS X outage: a broken VM janitor, a full cluster, a requeue storm.\n\n")
		fmt.Fprintf(usage, "Usage: vmstorm [flags]\n  e.g. vmstorm -vms 200 -break-cleanup\n\nTimes are Go durations (90s, 10m, 4h) of model time.\n\nFlags:\n")
		fs.SetOutput(usage)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	// The flag package calls Usage on every parse error; the usage is for
	// -h alone, and an error gets its one line from the caller.
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage()
			return cfg, opt, err
		}
		return cfg, opt, explain(fs, err)
	}
	if fs.NArg() > 0 {
		return cfg, opt, fmt.Errorf("unexpected argument %q: vmstorm takes flags only; run 'vmstorm -h' for the list", fs.Arg(0))
	}
	if err := cfg.Validate(); err != nil {
		return cfg, opt, err
	}
	return cfg, opt, nil
}

var flagInError = regexp.MustCompile(`for (?:flag )?-([\w-]+)`)

// explain adds to a flag package error what a valid value looks like.
func explain(fs *flag.FlagSet, err error) error {
	msg := err.Error()
	if strings.HasPrefix(msg, "flag provided but not defined") {
		return fmt.Errorf("%s; run 'vmstorm -h' for the list of flags", msg)
	}
	m := flagInError.FindStringSubmatch(msg)
	if m == nil {
		return err
	}
	f := fs.Lookup(m[1])
	if f == nil {
		return err
	}
	want := "see 'vmstorm -h'"
	switch f.Value.(flag.Getter).Get().(type) {
	case time.Duration:
		want = "want a Go duration such as 90s, 10m or 4h"
	case int, int64, uint64:
		want = "want a whole number"
	case float64:
		want = "want a number"
	case bool:
		want = "want true or false"
	}
	// The flag package's own reason ("parse error") says less than ours.
	if i := strings.LastIndex(msg, ": "); i > 0 {
		msg = msg[:i]
	}
	return fmt.Errorf("%s: %s", msg, want)
}
