// Package scenario reads scenario files: the cluster, workload and
// timeline of an incident to replay, as YAML, decoded strictly, so that a
// mistake is reported with its file, line and column and nothing runs on a
// bad file. It also ships the built-in scenarios and checks a run against a
// scenario's faithfulness checks.
package scenario

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"vmstorm/config"
	"vmstorm/incident"
)

// File is a scenario file as written. Times and durations are strings, so
// that a bad one is reported where it stands; see docs/scenarios.md for
// every key.
type File struct {
	Name        string        `yaml:"name"`
	Description string        `yaml:"description"`
	Epoch       string        `yaml:"epoch,omitempty"` // RFC 3339: the calendar time of model time zero
	Duration    string        `yaml:"duration"`
	Speed       *config.Speed `yaml:"speed,omitempty"`
	Seed        uint64        `yaml:"seed,omitempty"`
	Cluster     Cluster       `yaml:"cluster"`
	Workload    Workload      `yaml:"workload"`
	Workers     Workers       `yaml:"workers"`
	Janitor     Janitor       `yaml:"janitor"`
	Alerts      Alerts        `yaml:"alerts,omitempty"`
	Reporting   Reporting     `yaml:"reporting,omitempty"`
	Timeline    []Entry       `yaml:"timeline,omitempty"`
	Checks      []Check       `yaml:"checks,omitempty"`
}

// Cluster is the cluster's size and the latencies of its calls.
type Cluster struct {
	VMs           *int64  `yaml:"vms"`
	CPUVMs        int64   `yaml:"cpu_vms,omitempty"`
	APIRate       float64 `yaml:"api_rate,omitempty"`
	APIBurst      int     `yaml:"api_burst,omitempty"`
	ClientAPIRate float64 `yaml:"client_api_rate,omitempty"`
	CloneTime     string  `yaml:"clone_time,omitempty"`
	CloneSpread   string  `yaml:"clone_spread,omitempty"`
	BootTime      string  `yaml:"boot_time,omitempty"`
	BootSpread    string  `yaml:"boot_spread,omitempty"`
	DestroyTime   string  `yaml:"destroy_time,omitempty"`
	DestroySpread string  `yaml:"destroy_spread,omitempty"`
	RejectTime    string  `yaml:"reject_time,omitempty"`
}

// Workload is the jobs: how many, in which queues, how long their builds.
type Workload struct {
	ArrivalRate  *float64 `yaml:"arrival_rate"` // jobs per model minute (at the daily peak, with traffic)
	Traffic      *Traffic `yaml:"traffic,omitempty"`
	Queues       []Queue  `yaml:"queues,omitempty"`
	BuildTime    string   `yaml:"build_time,omitempty"`
	BuildSpread  string   `yaml:"build_spread,omitempty"`
	BuildTimeout string   `yaml:"build_timeout,omitempty"`
	MaxJobs      int64    `yaml:"max_jobs,omitempty"`
}

// Traffic is the daily curve of the arrival rate, and bursts on it.
type Traffic struct {
	PeakHour float64 `yaml:"peak_hour"`
	Night    float64 `yaml:"night"`
	Weekend  float64 `yaml:"weekend"`
	Bursts   []Burst `yaml:"bursts,omitempty"`
}

// Burst multiplies the arrival rate by Factor for For from At.
type Burst struct {
	At     string  `yaml:"at"`
	For    string  `yaml:"for"`
	Factor float64 `yaml:"factor"`
}

// Queue is one job queue.
type Queue struct {
	Name      string  `yaml:"name"`
	Share     float64 `yaml:"share"`
	MaxBuilds int64   `yaml:"max_builds,omitempty"`
}

// Workers are the Build and Run pools.
type Workers struct {
	Build        *int   `yaml:"build"`
	Run          *int   `yaml:"run"`
	QueueSize    *int   `yaml:"queue_size,omitempty"`
	StartTimeout string `yaml:"start_timeout,omitempty"`
	MaxAttempts  int    `yaml:"max_attempts,omitempty"`
	DeletesVMs   bool   `yaml:"deletes_vms,omitempty"`
	// DeleteFailedVMs: the VM of a failed start is deleted at once.
	DeleteFailedVMs bool   `yaml:"delete_failed_vms,omitempty"`
	StallTimeout    string `yaml:"stall_timeout,omitempty"`
}

// Janitor is the cleanup service.
type Janitor struct {
	Every       string   `yaml:"every,omitempty"`
	Rate        *float64 `yaml:"rate,omitempty"` // 0 means no pacing
	Cutoff      string   `yaml:"cutoff,omitempty"`
	Workers     *int     `yaml:"workers,omitempty"`
	Concurrency int      `yaml:"concurrency,omitempty"`
	ReportStale *bool    `yaml:"report_stale,omitempty"`
}

// Alerts are monitoring's rules. A key left out keeps the default rule; 0
// (or 0s) turns a rule off.
type Alerts struct {
	VMCountMin     *int64   `yaml:"vm_count_min,omitempty"`
	VMCountMax     *int64   `yaml:"vm_count_max,omitempty"`
	RequeueRateMax *float64 `yaml:"requeue_rate_max,omitempty"`
	BacklogAgeMax  string   `yaml:"backlog_age_max,omitempty"`
	Window         string   `yaml:"window,omitempty"`
}

// Reporting is how often the run reports.
type Reporting struct {
	StatusEvery string `yaml:"status_every,omitempty"`
	SampleEvery string `yaml:"sample_every,omitempty"`
	Drained     string `yaml:"drained,omitempty"`
}

// Entry is one timeline entry: an action at a time, with its arguments.
type Entry struct {
	At            string `yaml:"at"`
	Action        string `yaml:"action"`
	Note          string `yaml:"note,omitempty"`
	incident.Args `yaml:",inline"`
}

// Scenario is a scenario file read and checked: the run it describes.
type Scenario struct {
	File   File
	Config config.Config
	Checks []Check
	// Cut is what a run shorter than the file's duration leaves out (see
	// CutTo); empty until then.
	Cut Cut
}

//go:embed builtin/*.yaml
var builtins embed.FS

// Builtin is a scenario that ships inside the binary.
type Builtin struct {
	Name, Description string
}

// Builtins lists the built-in scenarios.
func Builtins() []Builtin {
	entries, _ := builtins.ReadDir("builtin")
	var out []Builtin
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".yaml")
		s, err := LoadBuiltin(name)
		if err != nil {
			panic(fmt.Sprintf("scenario: built-in %s does not load: %v", name, err)) // a test catches it first
		}
		out = append(out, Builtin{Name: name, Description: s.File.Description})
	}
	return out
}

// Source is the text of a built-in scenario, comments and all.
func Source(name string) ([]byte, bool) {
	b, err := builtins.ReadFile("builtin/" + name + ".yaml")
	return b, err == nil
}

// LoadBuiltin loads a built-in scenario.
func LoadBuiltin(name string) (*Scenario, error) {
	b, ok := Source(name)
	if !ok {
		return nil, fmt.Errorf("no built-in scenario %q; 'vmstorm -list-scenarios' lists them", name)
	}
	return Parse(name+".yaml", b)
}

// Load loads a built-in scenario by name, or a scenario file by path (any
// argument ending in .yaml or .yml, or containing a path separator).
func Load(nameOrPath string) (*Scenario, error) {
	if !strings.HasSuffix(nameOrPath, ".yaml") && !strings.HasSuffix(nameOrPath, ".yml") && !strings.ContainsRune(nameOrPath, filepath.Separator) {
		return LoadBuiltin(nameOrPath)
	}
	data, err := os.ReadFile(nameOrPath)
	if err != nil {
		return nil, fmt.Errorf("-scenario: %w", err)
	}
	return Parse(nameOrPath, data)
}

// Error is a mistake in a scenario file, where it stands.
type Error struct {
	File         string
	Line, Column int
	Msg, Hint    string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Parse reads a scenario file strictly: an unknown key, a duplicate key, a
// value of the wrong type, a bad time or duration, a timeline that goes
// backwards, or an action without its arguments is an *Error.
func Parse(filename string, data []byte) (s *Scenario, err error) {
	// go-yaml panics on a few malformed inputs (a tag on an empty list);
	// a bad file is an error, never a crash.
	var tree *ast.File
	defer func() {
		if r := recover(); r != nil {
			e := &Error{File: filename, Line: 1, Column: 1, Msg: fmt.Sprintf("the YAML decoder failed: %v", r),
				Hint: "a scenario needs no tags (!...): remove them"}
			if tag := findTag(tree, false); tag != nil {
				e.Line, e.Column, e.Msg = tag.Position.Line, tag.Position.Column, fmt.Sprintf("the YAML decoder failed at the tag %s", tag.Value)
			}
			s, err = nil, e
		}
	}()
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{File: filename, Line: 1, Column: 1, Msg: "the scenario is empty", Hint: "start from 'vmstorm -print-scenario travis-2015-osx'"}
	}
	tree, err = parser.ParseBytes(data, 0)
	if err != nil {
		return nil, decodeError(filename, err)
	}
	if len(tree.Docs) > 1 {
		line, col := 1, 1
		if tok := tree.Docs[1].Start; tok != nil { // the ---
			line, col = tok.Position.Line, tok.Position.Column
		}
		return nil, &Error{File: filename, Line: line, Column: col, Msg: "the file holds more than one YAML document",
			Hint: "a scenario is one document: remove the --- and what follows, or make it a file of its own"}
	}
	if tag := findTag(tree, true); tag != nil {
		pos := tag.Position
		return nil, &Error{File: filename, Line: pos.Line, Column: pos.Column, Msg: fmt.Sprintf("the tag %s has no value", tag.Value),
			Hint: "a scenario needs no tags: remove it, or give it a value"}
	}
	var f File
	if err := yaml.UnmarshalWithOptions(data, &f, yaml.Strict()); err != nil {
		return nil, decodeError(filename, err)
	}
	c := &converter{file: filename, tree: tree}
	s = c.convert(f)
	if c.err == nil {
		c.checkAgainst(s)
	}
	if c.err != nil {
		return nil, c.err
	}
	return s, nil
}

// findTag finds the first tag in the file, or with empty the first tag
// with no value (e.g. "timeline: !!seq"), on which go-yaml's decoder
// panics, and returns its token.
func findTag(tree *ast.File, empty bool) *token.Token {
	var found *token.Token
	if tree == nil {
		return nil
	}
	for _, doc := range tree.Docs {
		ast.Walk(visitFunc(func(n ast.Node) bool {
			if t, ok := n.(*ast.TagNode); ok && found == nil && (!empty || t.Value == nil || isNull(t.Value)) {
				found = t.Start
			}
			return found == nil
		}), doc)
	}
	return found
}

func isNull(n ast.Node) bool {
	_, ok := n.(*ast.NullNode)
	return ok
}

// visitFunc adapts a function to ast.Visitor: it goes on while f says so.
type visitFunc func(ast.Node) bool

func (f visitFunc) Visit(n ast.Node) ast.Visitor {
	if f(n) {
		return f
	}
	return nil
}

// decodeError turns a YAML error into an *Error with a hint.
func decodeError(filename string, err error) error {
	var yerr yaml.Error
	if !errors.As(err, &yerr) || yerr.GetToken() == nil {
		return &Error{File: filename, Line: 1, Column: 1, Msg: err.Error()}
	}
	pos := yerr.GetToken().Position
	msg := yerr.GetMessage()
	hint := ""
	switch {
	case strings.Contains(msg, "unknown field"):
		hint = "check the spelling; docs/scenarios.md lists every key"
	case strings.Contains(msg, "duplicate") || strings.Contains(msg, "already defined"):
		hint = "a key may appear once; remove or rename one of them"
	case strings.Contains(msg, "cannot unmarshal") || strings.Contains(msg, "mismatch") || strings.Contains(msg, "was used where"):
		hint = "the value has the wrong type; docs/scenarios.md gives each key's type"
	default:
		hint = "the file is not valid YAML here"
	}
	return &Error{File: filename, Line: pos.Line, Column: pos.Column, Msg: msg, Hint: hint}
}

// converter turns a File into a config.Config, remembering the first
// mistake with its place in the file.
type converter struct {
	file  string
	tree  *ast.File
	epoch time.Time
	err   error
}

// fail records a mistake at the YAML path (e.g. "$.timeline[2].at").
func (c *converter) fail(path, msg, hint string) {
	if c.err != nil {
		return
	}
	line, col := c.position(path)
	c.err = &Error{File: c.file, Line: line, Column: col, Msg: msg, Hint: hint}
}

// position finds the line and column of the value at path, or of the
// closest enclosing node that exists.
func (c *converter) position(path string) (int, int) {
	for p := path; p != ""; {
		if yp, err := yaml.PathString(p); err == nil {
			if node, err := yp.FilterFile(c.tree); err == nil && node != nil && node.GetToken() != nil {
				pos := node.GetToken().Position
				return pos.Line, pos.Column
			}
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			break
		}
		p = p[:i]
	}
	return 1, 1
}

// duration parses a duration at path; empty keeps def.
func (c *converter) duration(path, v string, def time.Duration) time.Duration {
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		c.fail(path, fmt.Sprintf("%q is not a duration of 0 or more", v), "write a Go duration such as 90s, 10m or 4h")
		return def
	}
	return d
}

// instant parses a model time at path: a calendar time (RFC 3339, on or
// after the epoch) or a duration from the start of the run.
func (c *converter) instant(path, v string) time.Duration {
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d
	}
	t, err := time.Parse(time.RFC3339, v)
	switch {
	case err != nil:
		c.fail(path, fmt.Sprintf("%q is neither a time nor a duration from the start", v),
			"write a calendar time such as 2015-08-04T17:45:00Z, or a duration from the start such as 36h")
	case c.epoch.IsZero():
		c.fail(path, fmt.Sprintf("%q is a calendar time, but the scenario has no epoch", v), "set epoch, or write a duration from the start such as 36h")
	case t.Before(c.epoch):
		c.fail(path, fmt.Sprintf("%s is before the epoch %s", v, c.epoch.Format(time.RFC3339)), "every time must be on or after the epoch")
	default:
		return t.Sub(c.epoch)
	}
	return 0
}

// set copies a key's value to the Config when the file gives the key: a
// key given as 0 is 0 (and Validate judges it), not the default.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

func (c *converter) convert(f File) *Scenario {
	cfg := config.Default()
	cfg.Name = f.Name
	if f.Name == "" {
		c.fail("$", "the scenario has no name", "add a line such as name: my-incident")
	}
	if f.Epoch != "" {
		t, err := time.Parse(time.RFC3339, f.Epoch)
		if err != nil {
			c.fail("$.epoch", fmt.Sprintf("%q is not an RFC 3339 time", f.Epoch), "write a time such as 2015-07-31T00:00:00Z")
		}
		c.epoch, cfg.Epoch = t, t
	}
	if f.Duration == "" {
		c.fail("$", "the scenario has no duration", "add a line such as duration: 24h")
	}
	cfg.Duration = c.duration("$.duration", f.Duration, cfg.Duration)
	set(&cfg.Speed, f.Speed)
	cfg.Seed = f.Seed

	cl := f.Cluster
	set(&cfg.VMs, cl.VMs)
	cfg.CPUVMs, cfg.APIRate, cfg.APIBurst, cfg.ClientAPIRate = cl.CPUVMs, cl.APIRate, cl.APIBurst, cl.ClientAPIRate
	cfg.Clone.Mean = c.duration("$.cluster.clone_time", cl.CloneTime, cfg.Clone.Mean)
	cfg.Clone.Spread = c.duration("$.cluster.clone_spread", cl.CloneSpread, cfg.Clone.Spread)
	cfg.PowerOn.Mean = c.duration("$.cluster.boot_time", cl.BootTime, cfg.PowerOn.Mean)
	cfg.PowerOn.Spread = c.duration("$.cluster.boot_spread", cl.BootSpread, cfg.PowerOn.Spread)
	cfg.Destroy.Mean = c.duration("$.cluster.destroy_time", cl.DestroyTime, cfg.Destroy.Mean)
	cfg.Destroy.Spread = c.duration("$.cluster.destroy_spread", cl.DestroySpread, cfg.Destroy.Spread)
	cfg.RejectTime = c.duration("$.cluster.reject_time", cl.RejectTime, cfg.RejectTime)

	w := f.Workload
	set(&cfg.ArrivalsPerMinute, w.ArrivalRate)
	cfg.MaxJobs = w.MaxJobs
	cfg.Build.Mean = c.duration("$.workload.build_time", w.BuildTime, cfg.Build.Mean)
	cfg.Build.Spread = c.duration("$.workload.build_spread", w.BuildSpread, cfg.Build.Spread)
	cfg.BuildTimeout = c.duration("$.workload.build_timeout", w.BuildTimeout, cfg.BuildTimeout)
	if len(w.Queues) > 0 {
		cfg.Queues = nil
		for _, q := range w.Queues {
			cfg.Queues = append(cfg.Queues, config.Queue{Name: q.Name, Share: q.Share, MaxBuilds: q.MaxBuilds})
		}
	}
	if tr := w.Traffic; tr != nil {
		t := &config.Traffic{PeakHour: tr.PeakHour, Night: tr.Night, Weekend: tr.Weekend}
		for i, b := range tr.Bursts {
			p := fmt.Sprintf("$.workload.traffic.bursts[%d]", i)
			t.Bursts = append(t.Bursts, config.Burst{At: c.instant(p+".at", b.At), For: c.duration(p+".for", b.For, 0), Factor: b.Factor})
		}
		cfg.Traffic = t
	}

	wk := f.Workers
	set(&cfg.BuildWorkers, wk.Build)
	set(&cfg.RunWorkers, wk.Run)
	set(&cfg.QueueSize, wk.QueueSize)
	cfg.StartTimeout = c.duration("$.workers.start_timeout", wk.StartTimeout, cfg.StartTimeout)
	cfg.MaxAttempts, cfg.WorkerDeletesVMs, cfg.DeleteFailedVMs = wk.MaxAttempts, wk.DeletesVMs, wk.DeleteFailedVMs
	cfg.StallTimeout = c.duration("$.workers.stall_timeout", wk.StallTimeout, cfg.StallTimeout)

	j := f.Janitor
	cfg.CleanupEvery = c.duration("$.janitor.every", j.Every, cfg.CleanupEvery)
	set(&cfg.CleanupRate, j.Rate)
	cfg.CleanupCutoff = c.duration("$.janitor.cutoff", j.Cutoff, cfg.CleanupCutoff)
	set(&cfg.CleanupWorkers, j.Workers)
	cfg.CleanupConcurrency = j.Concurrency
	set(&cfg.ReportStale, j.ReportStale)

	// Each alert key given replaces the default's; the others keep it.
	a := f.Alerts
	set(&cfg.Alerts.VMCountMin, a.VMCountMin)
	set(&cfg.Alerts.VMCountMax, a.VMCountMax)
	set(&cfg.Alerts.RequeueRateMax, a.RequeueRateMax)
	cfg.Alerts.BacklogAgeMax = c.duration("$.alerts.backlog_age_max", a.BacklogAgeMax, cfg.Alerts.BacklogAgeMax)
	cfg.Alerts.Window = c.duration("$.alerts.window", a.Window, cfg.Alerts.Window)
	r := f.Reporting
	cfg.StatusEvery = c.duration("$.reporting.status_every", r.StatusEvery, cfg.StatusEvery)
	cfg.SampleEvery = c.duration("$.reporting.sample_every", r.SampleEvery, cfg.SampleEvery)
	cfg.Drained = c.duration("$.reporting.drained", r.Drained, cfg.Drained)

	var last time.Duration
	for i, e := range f.Timeline {
		p := fmt.Sprintf("$.timeline[%d]", i)
		if e.At == "" {
			c.fail(p, "the entry has no time", "add at: with a calendar time or a duration from the start")
			continue
		}
		at := c.instant(p+".at", e.At)
		if at < last {
			c.fail(p+".at", fmt.Sprintf("%s goes back in time from the entry before it", e.At), "list the timeline in order of time")
		}
		last = at
		ev := incident.Event{At: at, Action: e.Action, Args: e.Args, Note: e.Note}
		if err := ev.Validate(cfg.QueueNames()); err != nil {
			var argErr *incident.ArgError
			field := "action"
			if errors.As(err, &argErr) {
				field = argErr.Arg
				err = errors.New(argErr.Msg)
			}
			c.fail(p+"."+field, err.Error(), "docs/scenarios.md lists the actions and their arguments")
		}
		if at > cfg.Duration {
			c.fail(p+".at", fmt.Sprintf("%s is after the end of the run (duration %s)", e.At, f.Duration), "lengthen the duration or drop the entry")
		}
		cfg.Timeline = append(cfg.Timeline, ev)
	}

	checks := c.checks(f.Checks)
	if c.err == nil {
		if err := cfg.Validate(); err != nil {
			var pe *config.ParamError
			if errors.As(err, &pe) {
				c.fail(paramPath(pe.Param), fmt.Sprintf("%s %s: want %s", pe.Param, pe.Value, pe.Want), "docs/scenarios.md gives each key's meaning")
			} else {
				c.fail("$", err.Error(), "")
			}
		}
	}
	return &Scenario{File: f, Config: cfg, Checks: checks}
}

// paramPath is where in a scenario file a configuration parameter, named as
// its flag, is set.
func paramPath(param string) string {
	if p, ok := Key(param); ok {
		return p
	}
	return "$"
}

// Key is the scenario key, as a YAML path such as $.cluster.vms, that sets
// the configuration parameter named param (its flag's name, as in
// config.ParamError), if a scenario file can set it.
func Key(param string) (string, bool) {
	p, ok := paramKeys[param]
	return p, ok
}

var paramKeys = map[string]string{
	"vms": "$.cluster.vms", "cpu-vms": "$.cluster.cpu_vms", "api-rate": "$.cluster.api_rate",
	"api-burst": "$.cluster.api_burst", "client-api-rate": "$.cluster.client_api_rate",
	"speed": "$.speed", "duration": "$.duration", "arrival-rate": "$.workload.arrival_rate",
	"max-jobs": "$.workload.max_jobs", "queues": "$.workload.queues", "traffic": "$.workload.traffic",
	"build-workers": "$.workers.build", "run-workers": "$.workers.run", "queue-size": "$.workers.queue_size",
	"max-attempts": "$.workers.max_attempts", "cleanup-workers": "$.janitor.workers",
	"cleanup-concurrency": "$.janitor.concurrency", "cleanup-rate": "$.janitor.rate",
	"cleanup-every": "$.janitor.every", "cleanup-cutoff": "$.janitor.cutoff", "alerts": "$.alerts",
	"status-every": "$.reporting.status_every", "sample-every": "$.reporting.sample_every",
	"drained": "$.reporting.drained", "timeline": "$.timeline", "stall-timeout": "$.workers.stall_timeout",
	"reject-time": "$.cluster.reject_time", "clone-time": "$.cluster.clone_time", "clone-spread": "$.cluster.clone_spread",
	"boot-time": "$.cluster.boot_time", "boot-spread": "$.cluster.boot_spread", "destroy-time": "$.cluster.destroy_time",
	"destroy-spread": "$.cluster.destroy_spread", "build-time": "$.workload.build_time",
	"build-spread": "$.workload.build_spread", "build-timeout": "$.workload.build_timeout",
	"start-timeout": "$.workers.start_timeout", "seed": "$.seed",
}

// Marshal writes the scenario file back as YAML (without the comments of
// the original).
func (f File) Marshal() ([]byte, error) {
	return yaml.MarshalWithOptions(f, yaml.Indent(2), yaml.IndentSequence(true))
}
