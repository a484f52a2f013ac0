package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"vmstorm/metrics"
	"vmstorm/pipeline"
	"vmstorm/report"
	"vmstorm/scenario"
)

// options are the flags that are not model parameters.
type options struct {
	logFile       string
	scenario      string
	listScenarios bool
	printScenario string
	metricsAddr   string
	series        string
	report        string
	quiet         bool
}

// loaded is the scenario the run replays, if any.
type loaded = *scenario.Scenario

// parseFlags reads the command line into a validated configuration. Its
// errors are one line each, in terms of the flags; flag.ErrHelp means -h
// was asked for and the usage has been written to usage.
//
// With -scenario, the scenario's values become the defaults and the flags
// given on the command line override them: the command line is read once
// to find the scenario, and again on top of it.
func parseFlags(args []string, usage io.Writer) (pipeline.Config, options, loaded, error) {
	cfg, opt, err := parseOnto(pipeline.Default(), args, usage)
	if err != nil || opt.scenario == "" || opt.listScenarios || opt.printScenario != "" {
		return cfg, opt, nil, err
	}
	sc, err := scenario.Load(opt.scenario)
	if err != nil {
		return cfg, opt, nil, err
	}
	cfg, opt, err = parseOnto(sc.Config, args, usage)
	return cfg, opt, sc, err
}

func parseOnto(cfg pipeline.Config, args []string, usage io.Writer) (pipeline.Config, options, error) {
	var opt options
	fs := flag.NewFlagSet("vmstorm", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by the caller

	fs.Int64Var(&cfg.VMs, "vms", cfg.VMs, "cluster capacity: `VMs` it can hold; a VM counts from power-on until it is destroyed (200 was the 2015 normal peak)")
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
	fs.Int64Var(&cfg.CPUVMs, "cpu-vms", cfg.CPUVMs, "second ceiling: `VMs` the CPU reservations let run at once; 0 for none")
	fs.DurationVar(&cfg.RejectTime, "reject-time", cfg.RejectTime, "model `time` a refused call (full cluster, rate limit) takes to come back")
	fs.Float64Var(&cfg.APIRate, "api-rate", cfg.APIRate, "the cloud API's rate limit, calls per model second (over it, calls fail); 0 for none")
	fs.Float64Var(&cfg.ClientAPIRate, "client-api-rate", cfg.ClientAPIRate, "the clients' own API rate limit, calls per model second (over it, calls wait); 0 for none")
	fs.IntVar(&cfg.CleanupConcurrency, "cleanup-concurrency", cfg.CleanupConcurrency, "Cleanup `workers` destroying at once in the janitor's normal mode; 0 for all")
	fs.StringVar(&opt.scenario, "scenario", "", "replay a scenario: a built-in `name` (see -list-scenarios) or a YAML file; flags given override its values")
	fs.BoolVar(&opt.listScenarios, "list-scenarios", false, "list the built-in scenarios and exit")
	fs.StringVar(&opt.printScenario, "print-scenario", "", "print the built-in scenario `name` as YAML, to copy and edit, and exit")
	fs.StringVar(&opt.metricsAddr, "metrics-addr", "", "serve Prometheus metrics and /debug/pprof on this `host:port` while the run goes (e.g. 127.0.0.1:9090); off by default")
	fs.StringVar(&opt.series, "series", "", "write the model's state at every -sample-every to this CSV `file`")
	fs.StringVar(&opt.report, "report", "", "write a report at the end: a self-contained `file`.html, or the main chart alone as .svg or .png")
	fs.BoolVar(&opt.quiet, "quiet", false, "print the summary alone: no log lines on the console")

	printUsage := func() {
		fmt.Fprintf(usage, "vmstorm models the 2015-08-04 Travis CI OS X outage: a broken VM janitor, a full cluster, a requeue storm.\n\n")
		fmt.Fprintf(usage, "Usage: vmstorm [flags]\n  e.g. vmstorm -vms 200 -break-cleanup\n       vmstorm -scenario travis-2015-osx\n\nTimes are Go durations (90s, 10m, 4h) of model time.\n\nFlags:\n")
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
	if opt.metricsAddr != "" {
		if err := metrics.CheckAddr(opt.metricsAddr); err != nil {
			return cfg, opt, fmt.Errorf("-metrics-addr: %w", err)
		}
	}
	if opt.report != "" && !report.KnownFormat(opt.report) {
		return cfg, opt, fmt.Errorf("-report %s: want a file ending in .html, .svg or .png", opt.report)
	}
	if opt.series != "" && !strings.HasSuffix(strings.ToLower(opt.series), ".csv") {
		return cfg, opt, fmt.Errorf("-series %s: want a file ending in .csv", opt.series)
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
