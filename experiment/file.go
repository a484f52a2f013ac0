package experiment

import (
	"cmp"
	"embed"
	"errors"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"

	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/format"
	"vmstorm/scenario"
)

// Experiment is an experiment file read and checked: variants of a base
// scenario, each run as many times as Replicas asks, compared on Measures.
// It is decoded as strictly as a scenario file, and its mistakes are
// reported the same way (FILE:LINE:COL: what is wrong (hint)).
type Experiment struct {
	Name, Description string
	// File is the experiment's file name, or its built-in name.
	File string
	// Source is the file's text, for the report.
	Source []byte
	// Base is the scenario every variant starts from, and BaseFile its
	// file's path ("" for a built-in): an input of the experiment, as the
	// experiment file is. BaseSource is its text, which decides the runs as
	// much as Source does.
	Base       *scenario.Scenario
	BaseFile   string
	BaseSource []byte
	// Replicas is how many runs of each variant; replica i of every
	// variant runs with the same seed (common random numbers), derived
	// from Seed.
	Replicas int
	Seed     uint64
	// Measures are the measures to compare, by name.
	Measures []string
	// Margins are the practical margins the file sets, by measure; a
	// measure not in it has the default (see Margin).
	Margins map[string]MarginSetting
	// Recovery says how the metastability verdict is judged.
	Recovery Recovery
	// Variants are the variants, the baseline first.
	Variants []Variant
	// Sweep, if not nil, is a grid of one or two parameters.
	Sweep *Sweep
}

// MarginSetting is a measure's practical margin as an experiment file
// sets it: a difference in the measure's unit, or, Relative, a share of
// the baseline's median (Value 0.1 for 10%). The table's Margin is the
// margin it applies, this one or a default.
type MarginSetting struct {
	Value    float64
	Relative bool
}

// Variant is one variant of the base: its name and its configuration,
// every parameter, mitigation and timeline change applied.
type Variant struct {
	Name   string
	Config config.Config
}

// Sweep runs one variant over a grid of one or two parameters (Y may have
// no values), Replicas times at each point.
type Sweep struct {
	Variant  string
	Replicas int
	X, Y     Axis
	// Tipping, if not nil, refines the grid along X to find the tipping
	// point.
	Tipping *Tipping
}

// Axis is one parameter of a sweep and its values, as a scenario file
// spells them. Key is a parameter's key, or TriggerRemovedKey.
type Axis struct {
	Key    string
	Values []string
}

// TriggerRemovedKey is the sweep key that moves the trigger's removal: the
// RemovedBy actions of the timeline go to each value (a model time, as a
// timeline entry writes it).
const TriggerRemovedKey = "recovery.trigger_removed"

// Apply sets the sweep's axis to its i-th value in cfg, whose epoch gives
// a calendar time its meaning, and checks the result as a whole; r's
// removed_by are the entries a TriggerRemovedKey axis moves.
func (a Axis) Apply(cfg config.Config, i int, r Recovery) (config.Config, error) {
	cfg, err := a.set(cfg, a.Values[i], r)
	if err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// set sets the axis to v, a value of its key that need not be one of its
// values (a tipping point's refinement), without the check of the whole:
// the value's own form and range only.
func (a Axis) set(cfg config.Config, v string, r Recovery) (config.Config, error) {
	if a.Key == TriggerRemovedKey {
		at, err := parseInstant(cfg.Epoch, v)
		if err != nil {
			return cfg, err
		}
		tl := slices.Clone(cfg.Timeline)
		for j := range tl {
			if r.Removes(tl[j].ID, tl[j].Action) {
				tl[j].At, tl[j].AfterDetection = at, false
			}
		}
		tl.SortByTime()
		cfg.Timeline = tl
		return cfg, nil
	}
	p, _ := config.LookupKey(a.Key)
	cfg.Queues = slices.Clone(cfg.Queues)
	return cfg, p.Set(&cfg, v)
}

// At is the configuration of the sweep's point (indices into X's values
// and Y's) from cfg, its variant's: both axes set, then checked as a
// whole, so that two values valid alone but not together (a backoff's
// base above its cap) are an error. ParseExperiment checks every point.
func (s *Sweep) At(cfg config.Config, point []int, r Recovery) (config.Config, error) {
	axes := []Axis{s.X, s.Y}
	if len(point) == 0 || len(point) > len(axes) {
		return cfg, fmt.Errorf("sweep point %v: want [x] or [x, y]", point)
	}
	values := make([]string, len(point))
	for k, i := range point {
		if i < 0 || i >= len(axes[k].Values) {
			return cfg, fmt.Errorf("sweep point %v: off the grid", point)
		}
		values[k] = axes[k].Values[i]
	}
	return s.atValues(cfg, values, r)
}

// AtValue is At with values of the axes' keys that need not be on the grid
// (a tipping point's refinement): x, and y ("" for a sweep of one axis).
func (s *Sweep) AtValue(cfg config.Config, x, y string, r Recovery) (config.Config, error) {
	values := []string{x}
	if s.Y.Key != "" {
		values = append(values, y)
	}
	return s.atValues(cfg, values, r)
}

// atValues sets the axes to values, in order, then checks the whole.
func (s *Sweep) atValues(cfg config.Config, values []string, r Recovery) (config.Config, error) {
	axes := []Axis{s.X, s.Y}
	for k, v := range values {
		var err error
		if cfg, err = axes[k].set(cfg, v, r); err != nil {
			return cfg, err
		}
	}
	return cfg, cfg.Validate()
}

// The keys of an experiment file.
var experimentKeys = []string{"name", "description", "base", "replicas", "seed", "measures", "margins", "recovery", "timeline", "variants", "sweep"}

// experimentFile is an experiment file's keys, as decoded.
type experimentFile struct {
	Name        string
	Description string
	Base        string
	Replicas    count
	Seed        seedValue
	Measures    []string
	Recovery    struct {
		RemovedBy  []string `yaml:"removed_by"`
		Within     string   `yaml:"within"`
		Horizon    string   `yaml:"horizon"`
		Load       string   `yaml:"load"`
		LoadFactor string   `yaml:"load_factor"`
		Trend      string   `yaml:"trend"`
	}
	Timeline []scenario.Entry
}

// count and seedValue are an experiment file's whole numbers: go-yaml
// alone would take replicas: 1.5 as 1.
type (
	count     int
	seedValue uint64
)

func (n *count) UnmarshalYAML(node ast.Node) error {
	v, err := whole(node, "replicas", func(s string) (int64, error) { return strconv.ParseInt(s, 10, 0) })
	*n = count(v)
	return err
}

func (n *seedValue) UnmarshalYAML(node ast.Node) error {
	v, err := whole(node, "seed", func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) })
	*n = seedValue(v)
	return err
}

// whole parses node's value, key's whole number, with parse.
func whole[T int64 | uint64](node ast.Node, key string, parse func(string) (T, error)) (T, error) {
	s := strings.Trim(strings.TrimSpace(node.String()), `"'`)
	v, err := parse(s)
	if err != nil {
		return 0, &yaml.SyntaxError{Message: fmt.Sprintf("%s %s: %s", key, s, scenario.WantWhole), Token: node.GetToken()}
	}
	return v, nil
}

type variantEntry struct {
	Name string
	Drop []string
	Add  []scenario.Entry
}

type sweepEntry struct {
	Variant  string
	Replicas count
	X, Y     struct {
		Key    string
		Values []string
	}
	Tipping *struct {
		Rounds   count
		Replicas count
	}
}

// converter reads an experiment file: a scenario file's converter, with
// an experiment's own parts.
type converter struct{ *scenario.Converter }

// ParseExperiment reads an experiment file, which may compare the
// measures MeasureNames lists; dir is the directory a base scenario file's
// path is relative to.
func ParseExperiment(filename string, data []byte, dir string) (e *Experiment, err error) {
	var tree *ast.File
	defer func() {
		if r := recover(); r != nil {
			e, err = nil, scenario.Recovered(filename, tree, r)
		}
	}()
	root, err := scenario.Open(filename, data, "experiment", &tree)
	if err != nil {
		return nil, err
	}
	c := &converter{scenario.NewConverter(filename, tree)}
	measures := MeasureNames()
	given := map[string]bool{} // the file's keys
	var variants, sweep, margins ast.Node
	for _, kv := range root.Values {
		key := scenario.KeyString(kv.Key)
		switch {
		case given[key]:
			return nil, c.At(kv.Key, fmt.Sprintf("the key %s is given twice", key), "a key may appear once; remove or rename one of them")
		case !slices.Contains(experimentKeys, key):
			return nil, c.At(kv.Key, fmt.Sprintf("unknown key %q", key), "an experiment's keys are "+strings.Join(experimentKeys, ", ")+"; docs/experiments.md")
		}
		given[key] = true
		switch key {
		case "variants":
			variants = kv.Value
		case "sweep":
			sweep = kv.Value
		case "margins":
			margins = kv.Value
		}
	}
	var f experimentFile
	rest := &ast.MappingNode{BaseNode: root.BaseNode}
	for _, kv := range root.Values {
		if k := scenario.KeyString(kv.Key); k != "variants" && k != "sweep" && k != "margins" {
			rest.Values = append(rest.Values, kv)
		}
	}
	if !c.Decode(rest, &f) {
		return nil, c.Err()
	}
	e = &Experiment{Name: f.Name, Description: f.Description, File: filename, Source: data, Replicas: int(f.Replicas), Seed: uint64(f.Seed)}
	switch {
	case f.Name == "":
		c.Fail("$", "the experiment has no name", "add a line such as name: my-what-if")
	case f.Base == "":
		c.Fail("$", "the experiment has no base scenario", "add a line such as base: travis-2015-osx (a built-in) or base: my.yaml")
	case e.Replicas < 1 || e.Replicas > MaxReplicas:
		c.Fail("$.replicas", fmt.Sprintf("replicas %d: want from 1 to %d", e.Replicas, MaxReplicas), "30 replicas give a median's interval of about the middle fifth")
	}
	if c.Err() != nil {
		return nil, c.Err()
	}
	base := f.Base
	if scenario.IsFile(base) && !filepath.IsAbs(base) {
		base = filepath.Join(dir, base)
	}
	if scenario.IsFile(base) {
		e.BaseFile = base
	}
	baseName, baseText, err := scenario.Text(base)
	if err == nil {
		e.Base, err = scenario.Parse(baseName, baseText)
	}
	if err != nil {
		c.Fail("$.base", err.Error(), "a built-in scenario ('vmstorm -list-scenarios') or a scenario file")
		return nil, c.Err()
	}
	e.BaseSource = baseText
	// The experiment's seed fixes every replica's: the base scenario's when
	// the file gives none, so that shards agree.
	e.Seed = cmp.Or(e.Seed, e.Base.Config.Seed, 1)
	baseCfg := e.Base.Config
	c.SetEpoch(baseCfg.Epoch)

	e.Measures = f.Measures
	if len(e.Measures) == 0 {
		e.Measures = measures
	}
	for i, m := range e.Measures {
		switch {
		case !slices.Contains(measures, m):
			c.Fail(fmt.Sprintf("$.measures[%d]", i), fmt.Sprintf("unknown measure %q", m), "the measures are "+strings.Join(measures, ", "))
		case slices.Contains(e.Measures[:i], m):
			c.Fail(fmt.Sprintf("$.measures[%d]", i), fmt.Sprintf("the measure %s is given twice", m), "name each measure once")
		}
	}
	if margins != nil && c.Err() == nil {
		e.Margins = c.margins(margins, measures, e.Measures)
	}
	c.recovery(&e.Recovery, f.Recovery.RemovedBy, f.Recovery.Within, f.Recovery.Horizon, f.Recovery.Load, f.Recovery.LoadFactor, f.Recovery.Trend)
	if given["timeline"] {
		baseCfg.Timeline = c.Timeline("$.timeline", f.Timeline, baseCfg, true)
	}
	if c.Err() != nil {
		return nil, c.Err()
	}
	e.Variants = c.variants(variants, baseCfg)
	if c.Err() == nil {
		c.removedBy(e, baseCfg)
	}
	for i, v := range e.Variants {
		if c.Err() == nil && e.Recovery.Asked() {
			c.checkRun(e.Recovery, v.Config, fmt.Sprintf("$.variants[%d]", i))
		}
	}
	if c.Err() == nil && sweep != nil {
		e.Sweep = c.sweep(sweep, e)
	}
	if c.Err() != nil {
		return nil, c.Err()
	}
	if runs := e.Runs(); runs > MaxRuns {
		c.Fail("$.replicas", fmt.Sprintf("the experiment has %d runs (its variants' replicas and its sweep's, with their controls)", runs),
			fmt.Sprintf("at most %d: fewer replicas, variants or points", MaxRuns))
		return nil, c.Err()
	}
	return e, nil
}

//go:embed builtin/*.yaml
var builtinExperiments embed.FS

// Experiments lists the built-in experiments by name.
func Experiments() []string {
	entries, _ := builtinExperiments.ReadDir("builtin")
	var out []string
	for _, e := range entries {
		out = append(out, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}

// ExperimentSource is the text of a built-in experiment.
func ExperimentSource(name string) ([]byte, bool) {
	b, err := builtinExperiments.ReadFile("builtin/" + name + ".yaml")
	return b, err == nil
}

// LoadExperiment loads a built-in experiment by name, or an experiment
// file by path (see scenario.IsFile), read with scenario.ReadFile's
// limits.
func LoadExperiment(nameOrPath string) (*Experiment, error) {
	if !scenario.IsFile(nameOrPath) {
		b, ok := ExperimentSource(nameOrPath)
		if !ok {
			return nil, fmt.Errorf("no built-in experiment %q; the built-in experiments are %s", nameOrPath, strings.Join(Experiments(), ", "))
		}
		return ParseExperiment(nameOrPath+".yaml", b, ".")
	}
	data, err := scenario.ReadFile(nameOrPath)
	if err != nil {
		return nil, err
	}
	return ParseExperiment(nameOrPath, data, filepath.Dir(nameOrPath))
}

// VariantNames are the variants' names, in the file's order.
func (e *Experiment) VariantNames() []string {
	names := make([]string, len(e.Variants))
	for i, v := range e.Variants {
		names[i] = v.Name
	}
	return names
}

// Runs is how many runs the experiment makes, at most: each variant's
// replicas and the sweep's at each point of its grid, each with its
// control where the recovery question asks for one (Controlled), and the
// tipping point's rounds of refinement, with theirs.
func (e *Experiment) Runs() int {
	n := 0
	for _, v := range e.Variants {
		n += e.Replicas * e.runsPerReplica(v.Config)
	}
	if s := e.Sweep; s != nil {
		per := 1
		if e.Recovery.Asked() {
			per = 2
		}
		ny := max(len(s.Y.Values), 1)
		n += len(s.X.Values) * ny * s.Replicas * per
		if t := s.Tipping; t != nil {
			n += t.Rounds * ny * t.Replicas * per
		}
	}
	return n
}

// runsPerReplica is 2 for a replica with a control (Controlled), 1
// otherwise.
func (e *Experiment) runsPerReplica(cfg config.Config) int {
	if e.Controlled(cfg) {
		return 2
	}
	return 1
}

// Controlled reports whether a run of cfg gets a control, the same run
// with its trigger never applied: when the experiment asks the recovery
// question and cfg's timeline has an entry that removes the trigger (a
// run with none is not_removed, whatever its control would show).
func (e *Experiment) Controlled(cfg config.Config) bool {
	return e.Recovery.Asked() && e.Recovery.HasRemoval(cfg)
}

// MaxRuns bounds an experiment's runs: each keeps its measures in memory
// for the table, a few KB apiece (20,000 runs of a short base held 87 MB
// at their peak), so that 100,000 runs stay within a few hundred MB.
const MaxRuns = 100_000

// MaxReplicas bounds an experiment's replicas per variant (and per point
// of a sweep).
const MaxReplicas = 100_000

// MaxTimelineEvents bounds the timeline entries of an experiment's
// variants in all: each variant holds its own timeline (the base's, or the
// experiment's, with its own changes), so that a file of a long timeline
// (or of one entry repeated by alias) and many variants would otherwise
// hold their product. 200,000 entries hold a few tens of MB.
const MaxTimelineEvents = 200_000

// variants converts the variants' list: each starts from base.
func (c *converter) variants(n ast.Node, base config.Config) []Variant {
	seq, ok := n.(*ast.SequenceNode)
	if n == nil || !ok || len(seq.Values) == 0 {
		msg, hint := "the experiment has no variants", "add variants: with at least one, the baseline (- name: baseline)"
		if n != nil {
			c.FailAt(n, msg, hint)
		} else {
			c.Fail("$", msg, hint)
		}
		return nil
	}
	var out []Variant
	events := 0 // the variants' timeline entries so far
	for i, vn := range seq.Values {
		path := fmt.Sprintf("$.variants[%d]", i)
		m, ok := scenario.AsMapping(vn)
		if !ok {
			c.FailAt(vn, "a variant is a mapping: name, and set, drop or add", "see docs/experiments.md")
			return nil
		}
		var entry variantEntry
		var set *ast.MappingNode
		fields := &ast.MappingNode{BaseNode: m.BaseNode}
		for _, kv := range m.Values {
			switch key := scenario.KeyString(kv.Key); key {
			case "set":
				s, isMap := scenario.AsMapping(kv.Value)
				if !isMap {
					c.FailAt(kv.Value, "set holds scenario keys, as a scenario file nests them", "for example set: {mitigations: {breaker: true}}")
					return nil
				}
				set = s
			case "name", "drop", "add":
				fields.Values = append(fields.Values, kv)
			default:
				c.FailAt(kv.Key, fmt.Sprintf("unknown key %q in a variant", key), "a variant's keys are name, set, drop and add")
				return nil
			}
		}
		if !c.Decode(fields, &entry) {
			return nil
		}
		same := slices.IndexFunc(out, func(v Variant) bool { return config.NameKey(v.Name) == config.NameKey(entry.Name) })
		switch {
		case entry.Name == "":
			c.Fail(path, "the variant has no name", "add name: to it")
		case same >= 0 && out[same].Name == entry.Name:
			c.Fail(path+".name", fmt.Sprintf("the variant name %q is given twice", entry.Name), "give each variant a name of its own")
		case same >= 0:
			c.Fail(path+".name", fmt.Sprintf("the variant name %s is %s written another way (the same name under Unicode normalisation, NFKC), which no reader can tell apart",
				strconv.QuoteToASCII(entry.Name), strconv.QuoteToASCII(out[same].Name)), "give each variant a name of its own")
		}
		cfg := base
		cfg.Queues = slices.Clone(base.Queues)
		if set != nil {
			// The scenario keys of set, checked as a scenario file's are.
			var given map[string]bool
			cfg, given = c.Params(set, cfg)
			for _, key := range scenario.StructuredKeys() {
				if given[key] && c.Err() == nil {
					c.Fail(path+".set", fmt.Sprintf("set cannot give %s", key), "set gives parameters; change the timeline with drop and add")
				}
			}
			// The experiment gives these to every replica: a variant's
			// would be overridden, silently.
			for _, key := range slices.Sorted(maps.Keys(perReplica)) {
				if given[key] && c.Err() == nil {
					c.Fail(path+".set", fmt.Sprintf("set cannot give %s", key), perReplica[key])
				}
			}
		}
		for j, a := range entry.Drop {
			if _, ok := incident.Lookup(a); !ok {
				c.Fail(fmt.Sprintf("%s.drop[%d]", path, j), fmt.Sprintf("unknown action %q", a), "drop names timeline actions, such as pause_builds")
			}
		}
		cfg.Timeline = scenario.DropActions(cfg.Timeline, entry.Drop...)
		if len(entry.Add) > 0 {
			add := c.Timeline(path+".add", entry.Add, cfg, false)
			add.SortByTime()
			cfg.Timeline = cfg.Timeline.Merge(add)
		}
		if c.Err() == nil {
			c.Validate(cfg, path+".set")
		}
		if events += len(cfg.Timeline); events > MaxTimelineEvents && c.Err() == nil {
			c.Fail(path, fmt.Sprintf("the variants' timelines hold more than %d entries in all, with this one's %d", MaxTimelineEvents, len(cfg.Timeline)),
				"each variant holds its own timeline: fewer variants, or a shorter timeline; docs/experiments.md gives the limits")
		}
		if c.Err() != nil {
			return nil
		}
		out = append(out, Variant{Name: entry.Name, Config: cfg})
	}
	return out
}

// marginHint says what a margin may be.
const marginHint = "a margin is a number above 0 in the measure's unit (margins: {jobs_delayed: 20}), or a percentage of the baseline's median up to 100% (wait_max: 10%); docs/experiments.md"

// margins converts the margins: a mapping of compared measures to
// margins, each a positive number or a percentage.
func (c *converter) margins(n ast.Node, known, compared []string) map[string]MarginSetting {
	m, ok := scenario.AsMapping(n)
	if !ok {
		c.FailAt(n, "margins is a mapping of measures to their margins", marginHint)
		return nil
	}
	out := map[string]MarginSetting{}
	for _, kv := range m.Values {
		name := scenario.KeyString(kv.Key)
		_, dup := out[name]
		switch {
		case dup:
			c.FailAt(kv.Key, fmt.Sprintf("the margin of %s is given twice", name), "a key may appear once; remove one of them")
		case !slices.Contains(known, name):
			c.FailAt(kv.Key, fmt.Sprintf("unknown measure %q", name), "the measures are "+strings.Join(known, ", "))
		case !slices.Contains(compared, name):
			c.FailAt(kv.Key, fmt.Sprintf("a margin for %s, which the experiment does not compare", name), "add it to measures, or remove its margin")
		}
		if c.Err() != nil {
			return nil
		}
		lit, _ := scenario.Scalar(kv.Value)
		margin, ok := parseMargin(lit)
		if !ok {
			c.FailAt(kv.Value, fmt.Sprintf("the margin of %s %s: want a number above 0, or a percentage above 0%% up to 100%%", name, scenario.Shown(lit)), marginHint)
			return nil
		}
		out[name] = margin
	}
	return out
}

// parseMargin reads a margin: "20" or "12.5%".
func parseMargin(lit string) (MarginSetting, bool) {
	num, relative := strings.CutSuffix(strings.TrimSpace(lit), "%")
	v, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v <= 0 || (relative && v > 100) {
		return MarginSetting{}, false
	}
	if relative {
		return MarginSetting{Value: v / 100, Relative: true}, true
	}
	return MarginSetting{Value: v}, true
}

// sweep converts the sweep: its variant, replicas and axes.
func (c *converter) sweep(n ast.Node, e *Experiment) *Sweep {
	var s sweepEntry
	if !c.Decode(n, &s) {
		return nil
	}
	out := &Sweep{Variant: s.Variant, Replicas: int(s.Replicas), X: Axis{s.X.Key, s.X.Values}, Y: Axis{s.Y.Key, s.Y.Values}}
	if out.Replicas == 0 {
		out.Replicas = e.Replicas
	}
	i := slices.IndexFunc(e.Variants, func(v Variant) bool { return v.Name == s.Variant })
	switch {
	case s.Variant == "":
		c.Fail("$.sweep", "the sweep names no variant", "add variant: with the name of the variant to sweep")
	case i < 0:
		c.Fail("$.sweep.variant", fmt.Sprintf("no variant %q", s.Variant), "name one of the experiment's variants")
	case out.Replicas < 1 || out.Replicas > MaxReplicas:
		c.Fail("$.sweep.replicas", fmt.Sprintf("replicas %d: want from 1 to %d", out.Replicas, MaxReplicas), "replicas at each point of the grid; leave it out to use the experiment's")
	case out.X.Key == "" || len(out.X.Values) == 0:
		c.Fail("$.sweep.x", "the sweep's x has no key or no values", "give x: {key: workload.arrival_rate, values: [6, 12, 24]}")
	case out.Y.Key == "" != (len(out.Y.Values) == 0):
		c.Fail("$.sweep.y", "the sweep's y has a key without values, or values without a key", "give both, or leave y out")
	case len(out.X.Values)*max(len(out.Y.Values), 1) > MaxSweepPoints:
		c.Fail("$.sweep", fmt.Sprintf("the grid has %d points", len(out.X.Values)*max(len(out.Y.Values), 1)), fmt.Sprintf("at most %d", MaxSweepPoints))
	}
	if c.Err() != nil {
		return nil
	}
	variant := e.Variants[i].Config
	axes := []struct {
		name string
		a    Axis
	}{{"x", out.X}, {"y", out.Y}}
	if out.Y.Key != "" && out.Y.Key == out.X.Key {
		c.Fail("$.sweep.y.key", fmt.Sprintf("the sweep's x and y are both %s", out.X.Key), "sweep two parameters, or one (leave y out)")
		return nil
	}
	for _, ax := range axes {
		if ax.a.Key == "" {
			continue
		}
		p := "$.sweep." + ax.name
		if why, ok := perReplica[ax.a.Key]; ok {
			c.Fail(p+".key", fmt.Sprintf("a sweep cannot vary %s", ax.a.Key), why)
			return nil
		}
		if _, ok := config.LookupKey(ax.a.Key); !ok && ax.a.Key != TriggerRemovedKey {
			c.Fail(p+".key", fmt.Sprintf("unknown key %q", ax.a.Key), scenario.UnknownKeyHint(ax.a.Key)+", or "+TriggerRemovedKey)
			return nil
		}
		if ax.a.Key == TriggerRemovedKey && len(e.Recovery.RemovedBy) == 0 {
			c.Fail(p+".key", TriggerRemovedKey+" moves the recovery's removed_by actions, and it names none", "add recovery: {removed_by: [...], within: ...}")
			return nil
		}
		for j := range ax.a.Values {
			if _, err := ax.a.set(variant, ax.a.Values[j], e.Recovery); err != nil {
				c.sweepValueError(p, ax.a, j, err)
				return nil
			}
		}
	}
	// Every point of the grid, as it runs: two values valid alone may not
	// be together. A value that no point of its row or column takes is the
	// value's mistake; otherwise the pair's.
	ys := max(len(out.Y.Values), 1)
	bad := func(x, y int) error {
		point := []int{x}
		if len(out.Y.Values) > 0 {
			point = append(point, y)
		}
		_, err := out.At(variant, point, e.Recovery)
		return err
	}
	for x := range out.X.Values {
		for y := range ys {
			err := bad(x, y)
			if err == nil {
				continue
			}
			everywhere := func(n int, at func(int) error) bool {
				for k := range n {
					if at(k) == nil {
						return false
					}
				}
				return true
			}
			switch {
			case everywhere(ys, func(k int) error { return bad(x, k) }):
				c.sweepValueError("$.sweep.x", out.X, x, err)
			case everywhere(len(out.X.Values), func(k int) error { return bad(k, y) }):
				c.sweepValueError("$.sweep.y", out.Y, y, err)
			default:
				msg := err.Error()
				var pe *config.ParamError
				if errors.As(err, &pe) {
					msg = fmt.Sprintf("%s %s: want %s", keyOf(pe.Param), pe.Value, pe.Want)
				}
				c.Fail(fmt.Sprintf("$.sweep.y.values[%d]", y), fmt.Sprintf("the sweep's point %s %s, %s %s is no valid run: %s",
					out.X.Key, scenario.Shown(out.X.Values[x]), out.Y.Key, scenario.Shown(out.Y.Values[y]), msg), "every point of the grid is run: choose values that are valid together")
			}
			return nil
		}
	}
	if e.Recovery.Asked() {
		for x := range out.X.Values {
			for y := range max(len(out.Y.Values), 1) {
				yv := ""
				if len(out.Y.Values) > 0 {
					yv = out.Y.Values[y]
				}
				cfg, err := out.AtValue(variant, out.X.Values[x], yv, e.Recovery)
				if err == nil {
					c.checkRun(e.Recovery, cfg, fmt.Sprintf("$.sweep.x.values[%d]", x))
				}
				if c.Err() != nil {
					return nil
				}
			}
		}
	}
	if s.Tipping != nil {
		out.Tipping = c.tipping(s.Tipping.Rounds, s.Tipping.Replicas, out, e)
	}
	return out
}

// perReplica are the keys the experiment gives every replica itself, which
// a variant's set or a sweep would change for nothing, and why.
var perReplica = map[string]string{
	"seed":  "each replica's seed comes from the experiment's seed",
	"speed": "every replica runs at speed max",
}

// keyOf is the scenario key of the parameter whose flag is name, or name.
func keyOf(name string) string {
	if p, ok := config.Lookup(name); ok && p.Key != "" {
		return p.Key
	}
	return name
}

// sweepValueError fails at the j-th value of the sweep's axis a (at path
// p) with err, the value's own error: its form or range, or that of the
// configuration it makes alone.
func (c *converter) sweepValueError(p string, a Axis, j int, err error) {
	msg, hint := fmt.Sprintf("%s %s: %v", a.Key, scenario.Shown(a.Values[j]), err), "write each value as a scenario file writes the key"
	var pe *config.ParamError
	if errors.As(err, &pe) {
		// The value's own range, or, for a trigger moved past
		// the end, the timeline's.
		msg = fmt.Sprintf("%s %s: want %s", a.Key, scenario.Shown(a.Values[j]), pe.Want)
		if p, ok := config.LookupKey(a.Key); ok && p.Flag != pe.Param {
			msg = fmt.Sprintf("%s %s: %s", a.Key, scenario.Shown(a.Values[j]), err) // another parameter refuses it
		}
	}
	if a.Key == TriggerRemovedKey {
		hint = "a model time of the run, as a timeline entry writes it"
	}
	c.Fail(fmt.Sprintf("%s.values[%d]", p, j), msg, hint)
}

// Tipping asks where, along the sweep's x, the share of stuck replicas
// crosses one half: Rounds rounds of refinement, each adding a point with
// Replicas replicas where the share crosses, at each y.
type Tipping struct {
	Rounds, Replicas int
}

// MaxTippingRounds bounds a tipping point's rounds of refinement.
const MaxTippingRounds = 10

// tipping converts the sweep's tipping block.
func (c *converter) tipping(rounds, replicas count, s *Sweep, e *Experiment) *Tipping {
	t := &Tipping{Rounds: int(rounds), Replicas: int(replicas)}
	if t.Replicas == 0 {
		t.Replicas = s.Replicas
	}
	base := e.Variants[slices.IndexFunc(e.Variants, func(v Variant) bool { return v.Name == s.Variant })].Config
	switch {
	case !e.Recovery.Asked():
		c.Fail("$.sweep.tipping", "a tipping point is where replicas get stuck, and the experiment asks no recovery question", "add recovery: {removed_by: [...], within: ...}")
	case t.Rounds < 1 || t.Rounds > MaxTippingRounds:
		c.Fail("$.sweep.tipping.rounds", fmt.Sprintf("rounds %d: want from 1 to %d", t.Rounds, MaxTippingRounds), "each round adds one point where the share of stuck replicas crosses one half")
	case t.Replicas < 1 || t.Replicas > MaxReplicas:
		c.Fail("$.sweep.tipping.replicas", fmt.Sprintf("replicas %d: want from 1 to %d", t.Replicas, MaxReplicas), "replicas at each point a round adds; leave it out to use the sweep's")
	}
	if c.Err() != nil {
		return nil
	}
	last := 0.0
	for j, v := range s.X.Values {
		pos, err := s.X.Position(base.Epoch, v)
		switch {
		case err != nil:
			c.Fail(fmt.Sprintf("$.sweep.x.values[%d]", j), fmt.Sprintf("%s %s is not a number: a tipping point is found along a numeric x", s.X.Key, scenario.Shown(v)),
				"sweep x over a number (workload.arrival_rate) or "+TriggerRemovedKey)
			return nil
		case j > 0 && pos <= last:
			c.Fail(fmt.Sprintf("$.sweep.x.values[%d]", j), fmt.Sprintf("%s %s does not come after the value before it", s.X.Key, scenario.Shown(v)), "give x's values in increasing order for a tipping point")
			return nil
		}
		last = pos
	}
	return t
}

// Position is an axis value's place along it: the number, or for
// TriggerRemovedKey the model hours from the start.
func (a Axis) Position(epoch time.Time, v string) (float64, error) {
	if a.Key == TriggerRemovedKey {
		d, err := parseInstant(epoch, v)
		return d.Hours(), err
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", v)
	}
	return f, nil
}

// ValueAt writes a place along the axis as its values are written: a
// number with six significant digits, or for TriggerRemovedKey a model
// time to the minute (a calendar time when the axis' values are, the
// epoch given).
func (a Axis) ValueAt(epoch time.Time, pos float64) string {
	if a.Key != TriggerRemovedKey {
		return strconv.FormatFloat(pos, 'g', 6, 64)
	}
	d := time.Duration(math.Round(pos*60)) * time.Minute
	calendar := !epoch.IsZero() && len(a.Values) > 0
	if calendar {
		_, err := time.Parse(time.RFC3339, a.Values[0])
		calendar = err == nil
	}
	if calendar {
		return epoch.Add(d).UTC().Format(time.RFC3339)
	}
	return format.Duration(d)
}

// MaxSweepPoints bounds a sweep's grid.
const MaxSweepPoints = 400

// parseInstant parses a model time as a timeline entry writes it: a
// calendar time (with an epoch) or a duration from the start.
func parseInstant(epoch time.Time, v string) (time.Duration, error) {
	d, msg, _ := scenario.Instant(epoch, v)
	if msg != "" {
		return 0, errors.New(msg)
	}
	return d, nil
}

// Floats are the axis' values as numbers, and false if one is not (a
// calendar time, a duration).
func (a Axis) Floats() ([]float64, bool) {
	out := make([]float64, len(a.Values))
	for i, v := range a.Values {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			return nil, false
		}
		out[i] = f
	}
	return out, true
}
