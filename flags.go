package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/gameday"
	"vmstorm/internal/format"
	"vmstorm/internal/listenaddr"
	"vmstorm/internal/paths"
	"vmstorm/metrics"
	"vmstorm/report"
	"vmstorm/scenario"
)

// options are the flags that are not model parameters: what to run, and
// where its outputs go.
type options struct {
	logFile       string
	scenario      string
	listScenarios bool
	printScenario string
	metricsAddr   string
	pprof         bool
	series        string
	report        string
	analyze       string
	quiet         bool
	// An experiment's.
	experiment      string
	printExperiment string
	results         string
	verdicts        string
	shard           string
	merge           fileList
	parallel        int
	// A game day's.
	gameday      string
	gamedayAddr  string
	gamedayStart string
	gamedayPace  time.Duration
	gamedayIdle  time.Duration
	given        map[string]bool // the flags on the command line
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
	if err := conflicts(opt.given); err != nil {
		return cfg, opt, nil, err
	}
	var sc loaded
	if opt.gameday != "" {
		opt.scenario = opt.gameday // the game's scenario, loaded as -scenario's
	}
	if opt.scenario != "" {
		if sc, err = scenario.Load(opt.scenario); err != nil {
			if _, inFile := errors.AsType[*scenario.Error](err); !inFile {
				err = fmt.Errorf("-%s: %w", scenarioFlag(opt), err) // FILE:LINE:COL errors name the file already
			}
			return cfg, opt, nil, err
		}
		if cfg, opt, err = parseOnto(sc.Config, args, usage); err != nil {
			return cfg, opt, nil, err
		}
		if opt.gameday != "" {
			opt.scenario = opt.gameday
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
	printUsage := func() { writeUsage(usage, fs) }
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
	opt.given = map[string]bool{}
	var empty []string
	fs.Visit(func(f *flag.Flag) {
		opt.given[f.Name] = true
		if _, isParam := config.Lookup(f.Name); !isParam && f.Value.String() == "" {
			empty = append(empty, f.Name)
		}
	})
	if len(empty) > 0 {
		// Most likely a shell variable that is not set: taken as not
		// given, the run would go on without what was asked.
		return cfg, opt, fmt.Errorf("-%s is given an empty value: give it a value, or leave the flag out", empty[0])
	}
	if opt.parallel < 0 || opt.parallel > MaxParallel {
		return cfg, opt, fmt.Errorf("invalid value \"%d\" for flag -parallel: want 0 (one per core) to %d replicas at once", opt.parallel, MaxParallel)
	}
	return cfg, opt, nil
}

// scenarioFlag is the flag that named the scenario.
func scenarioFlag(opt options) string {
	if opt.gameday != "" {
		return "gameday"
	}
	return "scenario"
}

// gamedayFlags are the flags a game day takes besides the model's
// parameters.
var gamedayFlags = []string{"gameday", "gameday-addr", "gameday-start", "gameday-pace", "gameday-idle"}

// MaxParallel is the most replicas -parallel runs at once.
const MaxParallel = 1024

// commands are the flags that do a job other than a run, and exit.
var commands = []string{"list-scenarios", "print-scenario", "analyze", "experiment", "print-experiment"}

// experimentFlags are the flags an experiment takes; its variants say the
// rest.
var experimentFlags = []string{"experiment", "results", "verdicts", "shard", "merge", "parallel", "report", "quiet"}

// fileList is a flag that may be given many times, each a file or a glob.
type fileList []string

func (f *fileList) String() string { return strings.Join(*f, " ") }
func (f *fileList) Set(v string) error {
	if v == "" {
		return errors.New("want a file or a glob")
	}
	*f = append(*f, v)
	return nil
}

// judging reports whether flag name changes how a run is judged (its alert
// rules, its window, what counts as drained) rather than the model: those
// are the parameters -analyze takes, with -scenario for the checks.
func judging(name string) bool {
	if p, ok := config.Lookup(name); ok {
		return analysis.Judges(p)
	}
	return name == "scenario" || name == "analyze"
}

// conflicts refuses the flags given that cannot go together, or that
// would do nothing: a flag silently ignored is a run that is not the one
// asked for.
func conflicts(given map[string]bool) error {
	var asked []string
	for _, c := range commands {
		if given[c] {
			asked = append(asked, c)
		}
	}
	if len(asked) > 1 {
		return fmt.Errorf("-%s and -%s cannot go together: each is a job of its own; give one", asked[0], asked[1])
	}
	if given["gameday"] {
		if given["speed"] {
			return errors.New("-gameday paces the run itself: -speed would do nothing; give -gameday-pace, the wall time of a model hour (e.g. 30s), instead")
		}
		for _, name := range slices.Sorted(maps.Keys(given)) {
			if _, isParam := config.Lookup(name); !isParam && !slices.Contains(gamedayFlags, name) {
				return fmt.Errorf("-gameday plays a scenario in the browser: -%s would do nothing; give -gameday with the model's parameters and -%s only", name, strings.Join(gamedayFlags[1:], ", -"))
			}
		}
		return nil
	}
	for _, name := range gamedayFlags[1:] {
		if given[name] {
			return fmt.Errorf("-%s goes with -gameday, which is not given", name)
		}
	}
	var names []string
	for name := range given {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		switch {
		case len(asked) == 1 && asked[0] == "analyze" && !judging(name):
			return fmt.Errorf("-analyze judges a series a run wrote and runs no model: -%s would do nothing; give -analyze with -scenario, the -alert-* flags, -window and -drained only", name)
		case len(asked) == 1 && asked[0] == "experiment" && !slices.Contains(experimentFlags, name):
			where := "put it in the file's base scenario or a variant's set"
			if _, isParam := config.Lookup(name); !isParam {
				where = "an experiment's outputs are the table, -results, -verdicts and -report"
			}
			return fmt.Errorf("-experiment runs the variants its file gives: -%s would do nothing; %s; give -experiment with %s only", name, where, "-"+strings.Join(experimentFlags[1:], ", -"))
		case len(asked) == 0 && slices.Contains(experimentFlags[1:], name) && name != "report" && name != "quiet":
			return fmt.Errorf("-%s goes with -experiment, which is not given", name)
		case len(asked) == 1 && asked[0] != "analyze" && asked[0] != "experiment" && name != asked[0]:
			return fmt.Errorf("-%s prints and exits: -%s would do nothing; give -%s alone", asked[0], name, asked[0])
		}
	}
	switch {
	case given["merge"] && (given["results"] || given["parallel"] || given["shard"]):
		return errors.New("-merge reads results and runs nothing: -results, -parallel and -shard would do nothing; give -merge with -experiment (and -report, -verdicts, -quiet) only")
	case given["shard"] && given["report"]:
		return errors.New("-shard runs a part of the replicas: a -report of it would compare parts; write -results, and -report when you -merge the shards")
	case given["shard"] && given["verdicts"]:
		return errors.New("-shard runs a part of the replicas: it has no verdicts (each variant incomplete); write -results, and -verdicts when you -merge the shards")
	case given["pprof"] && !given["metrics-addr"]:
		return errors.New("-pprof serves the profiler on -metrics-addr, which is not given: add -metrics-addr 127.0.0.1:PORT, or drop -pprof")
	}
	return nil
}

// check validates the configuration and the options, once the command
// line and any scenario have been read.
func check(cfg config.Config, opt options) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	if opt.given["break-at"] && !cfg.BreakCleanup {
		return errors.New("-break-at times -break-cleanup, which is not given: add -break-cleanup, or drop -break-at")
	}
	for _, name := range slices.Sorted(maps.Keys(opt.given)) {
		if on, ok := config.SwitchOf(name); ok && !cfg.Uses(on) {
			return fmt.Errorf("-%s sets -%s, which is off (not given, nor turned on by the scenario or its timeline): add -%s, or drop -%s", name, on, on, name)
		}
	}
	if opt.gameday != "" {
		if err := listenaddr.Check(opt.gamedayAddr, gameday.Port); err != nil {
			return fmt.Errorf("-gameday-addr %w", err)
		}
		if opt.gamedayPace <= 0 || opt.gamedayPace > time.Hour {
			return fmt.Errorf("-gameday-pace %v: %s", opt.gamedayPace, optionWants["gameday-pace"])
		}
		if opt.gamedayIdle < time.Second || opt.gamedayIdle > gameday.MaxIdle {
			return fmt.Errorf("-gameday-idle %v: %s", opt.gamedayIdle, optionWants["gameday-idle"])
		}
		if _, err := gamedayStart(opt.gamedayStart, cfg); err != nil {
			return fmt.Errorf("-gameday-start %w", err)
		}
	}
	if opt.metricsAddr != "" {
		if err := listenaddr.Check(opt.metricsAddr, metrics.Port); err != nil {
			return fmt.Errorf("-metrics-addr %w", err)
		}
	}
	if opt.report != "" && opt.experiment != "" && !strings.EqualFold(filepath.Ext(opt.report), ".html") {
		return fmt.Errorf("-report %s: an experiment's report is a page: want a file ending in .html", opt.report)
	}
	if opt.report != "" && !report.KnownFormat(opt.report) {
		return fmt.Errorf("-report %s: want a file ending in .html, .svg or .png", opt.report)
	}
	if opt.series != "" && !strings.HasSuffix(strings.ToLower(opt.series), ".csv") {
		return fmt.Errorf("-series %s: want a file ending in .csv", opt.series)
	}
	return paths.Check(files(opt))
}

// files lists the paths the run reads, then those it writes.
func files(opt options) []paths.File {
	var fs []paths.File
	add := func(flag, path string, output bool) {
		if path != "" {
			fs = append(fs, paths.File{Flag: flag, Path: path, Output: output})
		}
	}
	if scenario.IsFile(opt.scenario) {
		add("scenario", opt.scenario, false)
	}
	if scenario.IsFile(opt.experiment) {
		add("experiment", opt.experiment, false)
	}
	for _, m := range expandGlobs(opt.merge) {
		add("merge", m, false)
	}
	add("analyze", opt.analyze, false)
	add("log-file", opt.logFile, true)
	add("series", opt.series, true)
	add("report", opt.report, true)
	add("results", opt.results, true)
	add("verdicts", opt.verdicts, true)
	return fs
}

// expandGlobs is the files that patterns name, each once, sorted: a
// pattern that matches nothing (or is no glob) stands for itself, so that
// opening it says what is wrong.
func expandGlobs(patterns []string) []string {
	var files []string
	for _, p := range patterns {
		m, err := filepath.Glob(p)
		if err != nil || len(m) == 0 {
			m = []string{p}
		}
		files = append(files, m...)
	}
	slices.Sort(files)
	return slices.Compact(files)
}

// newFlagSet registers a flag for every parameter of config.Params, on
// cfg, and the options, on opt. Each flag's default is its field's value
// when the set is made, never a literal of its own, so that a flag not
// given keeps what a scenario set.
func newFlagSet(cfg *config.Config, opt *options) *flag.FlagSet {
	fs := flag.NewFlagSet("vmstorm", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are reported in one line by the caller
	for _, p := range config.Params {
		fs.Var(paramFlag{p, cfg}, p.Flag, p.Doc)
	}
	fs.StringVar(&opt.scenario, "scenario", opt.scenario, "replay a scenario: a built-in `name` (see -list-scenarios) or a YAML file; flags given override its values")
	fs.BoolVar(&opt.listScenarios, "list-scenarios", opt.listScenarios, "list the built-in scenarios and exit")
	fs.StringVar(&opt.printScenario, "print-scenario", opt.printScenario, "print the built-in scenario `name` as YAML, to copy and edit, and exit")
	fs.StringVar(&opt.analyze, "analyze", opt.analyze, "analyse the CSV series `file` a run wrote (-series), as the run judged itself (the series carries its settings; a scenario file must be given with -scenario), and print its phases, storm, incident and checks; runs no model")
	fs.StringVar(&opt.logFile, "log-file", opt.logFile, "write every lifecycle event to this `file` as JSON lines, for tail -F | jq")
	fs.StringVar(&opt.series, "series", opt.series, "write the model's state at every -sample-every to this CSV `file`")
	fs.StringVar(&opt.report, "report", opt.report, "write a report at the end: a self-contained `file`.html, or the main chart alone as .svg or .png")
	fs.StringVar(&opt.metricsAddr, "metrics-addr", opt.metricsAddr, "serve Prometheus metrics on this `host:port` while the run goes (e.g. 127.0.0.1:9090); off by default")
	fs.BoolVar(&opt.pprof, "pprof", opt.pprof, "also serve Go's profiler at /debug/pprof/ on -metrics-addr (it shows the command line, the heap and the goroutines)")
	fs.BoolVar(&opt.quiet, "quiet", opt.quiet, "print the summary alone: no log lines on the console")
	fs.StringVar(&opt.experiment, "experiment", opt.experiment, "run an experiment: a built-in `name` (e.g. travis-2015-what-if) or a YAML file of variants of a scenario, each run many times at -speed max, compared with confidence intervals (docs/experiments.md)")
	fs.StringVar(&opt.gameday, "gameday", opt.gameday, "play a game day on a scenario: a built-in `name` or a YAML file, served as a page on -gameday-addr; you are the on-call, scored at the end (docs/gameday.md)")
	if opt.gamedayAddr == "" {
		opt.gamedayAddr = "127.0.0.1:0"
	}
	fs.StringVar(&opt.gamedayAddr, "gameday-addr", opt.gamedayAddr, "with -gameday: serve the game on this `host:port` (port 0: any free one; the URL is printed)")
	fs.StringVar(&opt.gamedayStart, "gameday-start", opt.gamedayStart, "with -gameday: the model `time` the game begins at, a duration from the start or a calendar time (default: 4 hours before the scenario's first operators' action); the model runs to it at once")
	if opt.gamedayPace == 0 {
		opt.gamedayPace = gameday.DefaultPace
	}
	fs.DurationVar(&opt.gamedayPace, "gameday-pace", opt.gamedayPace, "with -gameday: the wall `time` a model hour takes (the page can change it)")
	if opt.gamedayIdle == 0 {
		opt.gamedayIdle = gameday.DefaultIdle
	}
	fs.DurationVar(&opt.gamedayIdle, "gameday-idle", opt.gamedayIdle, "with -gameday: end the game after this wall `time` with no request from a browser")
	fs.StringVar(&opt.printExperiment, "print-experiment", opt.printExperiment, "print the built-in experiment `name` as YAML, to copy and edit, and exit")
	fs.StringVar(&opt.results, "results", opt.results, "with -experiment: write each replica's measures to this `file` as JSON lines")
	fs.StringVar(&opt.verdicts, "verdicts", opt.verdicts, "with -experiment: write the table's verdicts to this `file` as JSON lines, one a comparison, with the family's (docs/experiments.md)")
	fs.StringVar(&opt.shard, "shard", opt.shard, "with -experiment: run only shard `i/n` of the replicas (i from 0 to n-1); /n takes i from JOB_COMPLETION_INDEX (a Kubernetes Indexed Job) or SLURM_ARRAY_TASK_ID (a Slurm job array); left out in a Slurm job array, both come from Slurm's variables")
	fs.IntVar(&opt.parallel, "parallel", opt.parallel, "with -experiment: replicas run at once; 0 for one per core")
	fs.Var(&opt.merge, "merge", "with -experiment: read the results `file`s of its shards (-results), instead of running; repeat it, or give a glob such as 'shard-*.jsonl'")
	return fs
}

// paramFlag is a flag for one parameter of a configuration.
type paramFlag struct {
	p   config.Param
	cfg *config.Config
}

func (f paramFlag) String() string {
	if f.cfg == nil { // the flag package asks a zero value for its default
		return ""
	}
	return f.p.Get(f.cfg)
}

// Set reads the flag's value; its error says what is valid, and the flag
// package puts the flag and the value before it.
func (f paramFlag) Set(v string) error {
	if err := f.p.Set(f.cfg, v); err != nil || v != strings.TrimSpace(v) {
		return errors.New("want " + f.p.Want())
	}
	return nil
}

func (f paramFlag) Get() any         { return f.p.Value(f.cfg) }
func (f paramFlag) IsBoolFlag() bool { return f.p.IsBool() }

// writeUsage writes -h: what vmstorm is, how to call it, and every flag,
// the parameters by section with their defaults and valid values, then the
// options.
func writeUsage(w io.Writer, fs *flag.FlagSet) {
	def := config.Default()
	fmt.Fprintf(w, "vmstorm models the 2015-08-04 Travis CI OS X outage: a broken VM janitor, a full cluster, a requeue storm.\n\n")
	fmt.Fprintf(w, "Usage: vmstorm [flags]\n  e.g. vmstorm -vms 200 -break-cleanup\n       vmstorm -scenario travis-2015-osx -speed max\n\n")
	fmt.Fprintf(w, "Times are Go durations (90s, 10m, 4h) of model time. A scenario file sets the same parameters under the keys shown.\n")
	for _, section := range config.Sections {
		fmt.Fprintf(w, "\n%s:\n", strings.ToUpper(section[:1])+section[1:])
		if section == config.SectionAssumptions {
			fmt.Fprintf(w, "  The model's choices that decide whether a storm sustains itself, and that neither the report nor the services' code settles;\n"+
				"  docs/scenarios.md (ASSUMPTIONS) gives the evidence and the measured effect of each.\n")
		}
		for _, p := range config.Params {
			if p.Section != section {
				continue
			}
			head := "  -" + p.Flag
			if !p.IsBool() {
				head += " " + strings.ReplaceAll(p.Unit, " ", "_")
			}
			key := "flag only"
			if p.Key != "" {
				key = "key " + p.Key
			}
			value := p.Get(&def)
			if value == "" {
				value = "none"
			}
			fmt.Fprintf(w, "%s\n    \t%s\n    \t(default %s; %s; want %s)\n", head, p.Doc, value, key, p.Want())
			if a, ok := config.LookupAssumption(p.Flag); ok {
				fmt.Fprintf(w, "    \tthe default, because: %s\n    \totherwise: %s\n    \tit decides: %s\n", a.Evidence, a.Otherwise, a.Decides)
			}
		}
	}
	fmt.Fprintf(w, "\nOptions:\n")
	fs.VisitAll(func(f *flag.Flag) {
		if _, isParam := config.Lookup(f.Name); isParam {
			return
		}
		name, usage := flag.UnquoteUsage(f)
		head := "  -" + f.Name
		if name != "" {
			head += " " + name
		}
		fmt.Fprintf(w, "%s\n    \t%s\n", head, usage)
	})
}

// optionWants are what the options of a type of the flag package's own,
// other than a number or a switch, want: said when a value is not of the
// type, and when it is out of range.
var optionWants = map[string]string{
	"gameday-pace": "want the wall time of a model hour, above 0 and at most 1h (e.g. 30s)",
	"gameday-idle": fmt.Sprintf("want 1s to %s: the wall time without a browser after which the game ends", format.Duration(gameday.MaxIdle)),
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
	if _, isParam := config.Lookup(m[1]); f == nil || isParam {
		return err // a parameter's error says what it wants already
	}
	g, ok := f.Value.(flag.Getter)
	if !ok {
		return err // a value of vmstorm's own type says what it wants
	}
	want, known := optionWants[m[1]]
	if !known {
		// The options' types (the parameters' values say what they want
		// themselves).
		switch g.Get().(type) {
		case int:
			want = "want a whole number"
		case bool:
			want = "want true or false"
		default:
			return err // a value of the model's own type says what it wants
		}
	}
	// The flag package's own reason ("parse error") says less than ours.
	if i := strings.LastIndex(msg, ": "); i > 0 {
		msg = msg[:i]
	}
	return fmt.Errorf("%s: %s", msg, want)
}
