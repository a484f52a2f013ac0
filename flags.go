package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"vmstorm/config"
	"vmstorm/metrics"
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
// to find the scenario, and again on top of it. A -duration shorter than
// the scenario's cuts it there: what falls after the end is left out of the
// run and listed in the scenario's Cut.
func parseFlags(args []string, usage io.Writer) (config.Config, options, loaded, error) {
	cfg, opt, err := parseOnto(config.Default(), args, usage)
	if err != nil {
		return cfg, opt, nil, err
	}
	var sc loaded
	if opt.scenario != "" && !opt.listScenarios && opt.printScenario == "" {
		if sc, err = scenario.Load(opt.scenario); err != nil {
			return cfg, opt, nil, err
		}
		if cfg, opt, err = parseOnto(sc.Config, args, usage); err != nil {
			return cfg, opt, nil, err
		}
		cfg = sc.CutTo(cfg)
	}
	if err := check(cfg, opt); err != nil {
		return cfg, opt, nil, err
	}
	return cfg, opt, sc, nil
}

// parseOnto reads the command line on top of cfg: a flag not given keeps
// cfg's value. It does not validate: see check.
func parseOnto(cfg config.Config, args []string, usage io.Writer) (config.Config, options, error) {
	var opt options
	fs := newFlagSet(&cfg, &opt)
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
	return cfg, opt, nil
}

// check validates the configuration and the options, once the command
// line and any scenario have been read.
func check(cfg config.Config, opt options) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if opt.metricsAddr != "" {
		if err := metrics.CheckAddr(opt.metricsAddr); err != nil {
			return fmt.Errorf("-metrics-addr: %w", err)
		}
	}
	if opt.report != "" && !report.KnownFormat(opt.report) {
		return fmt.Errorf("-report %s: want a file ending in .html, .svg or .png", opt.report)
	}
	if opt.series != "" && !strings.HasSuffix(strings.ToLower(opt.series), ".csv") {
		return fmt.Errorf("-series %s: want a file ending in .csv", opt.series)
	}
	return nil
}

// newFlagSet registers every flag on the field of cfg or opt it sets. Each
// flag's default is that field's value when the set is made, never a
// literal of its own, so that a flag not given keeps what a scenario set.
func newFlagSet(cfg *config.Config, opt *options) *flag.FlagSet {
	fs := flag.NewFlagSet("vmstorm", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by the caller
	b := binder{fs}
	b.int64(&cfg.VMs, "vms", "cluster capacity: `VMs` it can hold; a VM counts from power-on until it is destroyed (200 was the 2015 normal peak)")
	b.bool(&cfg.BreakCleanup, "break-cleanup", "break the janitor: its vSphere password is rotated and it can no longer log in, as on 2015-07-31")
	b.duration(&cfg.BreakAt, "break-at", "model `time` at which -break-cleanup breaks the janitor")
	b.duration(&cfg.Duration, "duration", "model `time` the run lasts")
	fs.Var(&cfg.Speed, "speed", "how fast model time runs: model seconds per wall-clock second, or max for as fast as the machine allows (same results either way)")
	b.uint64(&cfg.Seed, "seed", "random `seed`; 0 picks one, and the seed in use is printed")
	b.float64(&cfg.ArrivalsPerMinute, "arrival-rate", "mean job arrivals per model minute (Poisson)")
	b.int64(&cfg.MaxJobs, "max-jobs", "stop arrivals after this many `jobs`, and end the run when all are finished; 0 for no limit")
	b.int(&cfg.BuildWorkers, "build-workers", "Build pool size: `workers` cloning and powering on VMs at once")
	b.int(&cfg.RunWorkers, "run-workers", "Run pool size: builds running at once (`workers`)")
	b.int(&cfg.CleanupWorkers, "cleanup-workers", "Cleanup pool size: VMs the janitor destroys at once (`workers`)")
	b.int(&cfg.QueueSize, "queue-size", "buffer of each channel between stages (`items`); the backlog itself is unbounded")
	b.duration(&cfg.Clone.Mean, "clone-time", "mean model `time` to clone a VM from the image")
	b.duration(&cfg.Clone.Spread, "clone-spread", "standard deviation of the clone time (model `time`)")
	b.duration(&cfg.PowerOn.Mean, "boot-time", "mean model `time` for an admitted VM to power on and boot")
	b.duration(&cfg.PowerOn.Spread, "boot-spread", "standard deviation of the boot time (model `time`)")
	b.duration(&cfg.StartTimeout, "start-timeout", "model `time` a worker waits for a VM to boot before it requeues the job; 0 for no limit")
	b.duration(&cfg.Build.Mean, "build-time", "mean model `time` a build runs")
	b.duration(&cfg.Build.Spread, "build-spread", "standard deviation of the build time (model `time`)")
	b.duration(&cfg.BuildTimeout, "build-timeout", "model `time` after which a build is ended; 0 for no limit")
	b.duration(&cfg.Destroy.Mean, "destroy-time", "mean model `time` to destroy a VM")
	b.duration(&cfg.Destroy.Spread, "destroy-spread", "standard deviation of the destroy time (model `time`)")
	b.int(&cfg.MaxAttempts, "max-attempts", "fail a job for good after this many failed VM starts; 0 retries for ever, as in 2015")
	b.duration(&cfg.CleanupEvery, "cleanup-every", "model `time` the janitor sleeps between passes (CLEANUP_LOOP_SLEEP)")
	b.float64(&cfg.CleanupRate, "cleanup-rate", "VMs per model second the janitor hands out for destruction (RATE_PER_SECOND); 0 for no limit")
	b.duration(&cfg.CleanupCutoff, "cleanup-cutoff", "the janitor destroys any booted VM older than this (model `time`)")
	b.duration(&cfg.StatusEvery, "status-every", "model `time` between status lines")
	b.duration(&cfg.SampleEvery, "sample-every", "model `time` between samples of the model's state")
	b.string(&opt.logFile, "log-file", "write every lifecycle event to this `file` as JSON lines, for tail -f | jq")
	b.int64(&cfg.CPUVMs, "cpu-vms", "second ceiling: `VMs` the CPU reservations let run at once; 0 for none")
	b.duration(&cfg.RejectTime, "reject-time", "model `time` a refused call (full cluster, rate limit) takes to come back")
	b.float64(&cfg.APIRate, "api-rate", "the cloud API's rate limit, calls per model second (over it, calls fail); 0 for none")
	b.float64(&cfg.ClientAPIRate, "client-api-rate", "the clients' own API rate limit, calls per model second (over it, calls wait); 0 for none")
	b.int(&cfg.CleanupConcurrency, "cleanup-concurrency", "Cleanup `workers` destroying at once in the janitor's normal mode; 0 for all")
	b.string(&opt.scenario, "scenario", "replay a scenario: a built-in `name` (see -list-scenarios) or a YAML file; flags given override its values")
	b.bool(&opt.listScenarios, "list-scenarios", "list the built-in scenarios and exit")
	b.string(&opt.printScenario, "print-scenario", "print the built-in scenario `name` as YAML, to copy and edit, and exit")
	b.string(&opt.metricsAddr, "metrics-addr", "serve Prometheus metrics and /debug/pprof on this `host:port` while the run goes (e.g. 127.0.0.1:9090); off by default")
	b.string(&opt.series, "series", "write the model's state at every -sample-every to this CSV `file`")
	b.string(&opt.report, "report", "write a report at the end: a self-contained `file`.html, or the main chart alone as .svg or .png")
	b.bool(&opt.quiet, "quiet", "print the summary alone: no log lines on the console")
	return fs
}

// binder registers flags whose default is the current value of the
// variable they set.
type binder struct{ fs *flag.FlagSet }

func (b binder) bool(p *bool, name, usage string)     { b.fs.BoolVar(p, name, *p, usage) }
func (b binder) int(p *int, name, usage string)       { b.fs.IntVar(p, name, *p, usage) }
func (b binder) int64(p *int64, name, usage string)   { b.fs.Int64Var(p, name, *p, usage) }
func (b binder) uint64(p *uint64, name, usage string) { b.fs.Uint64Var(p, name, *p, usage) }
func (b binder) float64(p *float64, name, usage string) {
	b.fs.Float64Var(p, name, *p, usage)
}
func (b binder) duration(p *time.Duration, name, usage string) {
	b.fs.DurationVar(p, name, *p, usage)
}
func (b binder) string(p *string, name, usage string) { b.fs.StringVar(p, name, *p, usage) }

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
	var want string
	switch f.Value.(flag.Getter).Get().(type) {
	case time.Duration:
		want = "want a Go duration such as 90s, 10m or 4h"
	case int, int64, uint64:
		want = "want a whole number"
	case float64:
		want = "want a number"
	case bool:
		want = "want true or false"
	default:
		return err // a value of the model's own type says what it wants
	}
	// The flag package's own reason ("parse error") says less than ours.
	if i := strings.LastIndex(msg, ": "); i > 0 {
		msg = msg[:i]
	}
	return fmt.Errorf("%s: %s", msg, want)
}
