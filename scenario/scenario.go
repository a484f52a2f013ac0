// Package scenario reads scenario files: the cluster, workload and
// timeline of an incident to replay, as YAML, decoded strictly, so that a
// mistake is reported with its file, line and column and nothing runs on a
// bad file. A scenario's parameters are config.Params, under their keys;
// its timeline, queues, traffic curve and checks have keys of their own
// (docs/scenarios.md lists them all). It also ships the built-in
// scenarios, and the causes the checks name, with their ablations.
package scenario

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/format"
)

// Scenario is a scenario file read and checked: the run it describes.
type Scenario struct {
	Name, Description string
	Config            config.Config
	Checks            []analysis.Check
	// Cut is what a run shorter than the file's duration leaves out (see
	// CutTo); empty until then.
	Cut Cut
}

// Entry is one timeline entry as a file writes it: an action at a time,
// with its arguments.
type Entry struct {
	// ID, optional, names the entry (an experiment's recovery.removed_by
	// can name it): unique within the timeline.
	ID            string `yaml:"id,omitempty"`
	At            string `yaml:"at"`
	Action        string `yaml:"action"`
	Note          string `yaml:"note,omitempty"`
	incident.Args `yaml:",inline"`
}

// Traffic is the daily curve of the arrival rate, and bursts on it. A key
// left out takes the default: no change at night or at weekends.
type Traffic struct {
	PeakHour *float64 `yaml:"peak_hour,omitempty"`
	Night    *float64 `yaml:"night,omitempty"`
	Weekend  *float64 `yaml:"weekend,omitempty"`
	Bursts   []Burst  `yaml:"bursts,omitempty"`
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

// The keys a scenario file has besides config.Params': its metadata and
// its structured parts.
const (
	keyName        = "name"
	keyDescription = "description"
	keyTimeline    = "timeline"
	keyChecks      = "checks"
	keyQueues      = "workload.queues"
	keyTraffic     = "workload.traffic"
)

var structured = []string{keyName, keyDescription, keyTimeline, keyChecks, keyQueues, keyTraffic}

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
		out = append(out, Builtin{Name: name, Description: s.Description})
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
	filename, b, err := Text(name)
	if err != nil {
		return nil, err
	}
	return Parse(filename, b)
}

// IsFile reports whether a -scenario argument names a file (it ends in
// .yaml or .yml, or holds a path separator) rather than a built-in.
func IsFile(nameOrPath string) bool {
	return strings.HasSuffix(nameOrPath, ".yaml") || strings.HasSuffix(nameOrPath, ".yml") || strings.ContainsRune(nameOrPath, filepath.Separator)
}

// Load loads a built-in scenario by name, or a scenario file by path (see
// IsFile), read with ReadFile's limits.
func Load(nameOrPath string) (*Scenario, error) {
	filename, data, err := Text(nameOrPath)
	if err != nil {
		return nil, err
	}
	return Parse(filename, data)
}

// Text is the text of a built-in scenario by name, or of a scenario file
// by path (see IsFile), read with ReadFile's limits, and the file name its
// errors give.
func Text(nameOrPath string) (filename string, data []byte, err error) {
	if IsFile(nameOrPath) {
		data, err = ReadFile(nameOrPath)
		return nameOrPath, data, err
	}
	b, ok := Source(nameOrPath)
	if !ok {
		return "", nil, fmt.Errorf("no built-in scenario %q; 'vmstorm -list-scenarios' lists them", nameOrPath)
	}
	return nameOrPath + ".yaml", b, nil
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

// Parse reads a scenario file strictly: an unknown key, a key given twice,
// a value of the wrong form or out of its range, a bad time or duration, a
// timeline that goes backwards, or an action without its arguments is an
// *Error, with its place in the file.
func Parse(filename string, data []byte) (s *Scenario, err error) {
	// go-yaml panics on a few malformed inputs (a tag on an empty list);
	// a bad file is an error, never a crash.
	var tree *ast.File
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, Recovered(filename, tree, r)
		}
	}()
	m, err := Open(filename, data, "scenario", &tree)
	if err != nil {
		return nil, err
	}
	c := &Converter{file: filename, tree: tree, cfg: config.Default()}
	c.walk(m, "")
	if c.err != nil {
		return nil, c.err
	}
	s = c.convert()
	if c.err == nil {
		c.checkAgainst(s)
	}
	if c.err != nil {
		return nil, c.err
	}
	return s, nil
}

// Recovered is the error of a decoder that panicked (go-yaml does on a
// few malformed inputs): a bad file is an error, never a crash.
func Recovered(filename string, tree *ast.File, r any) error {
	e := &Error{File: filename, Line: 1, Column: 1, Msg: fmt.Sprintf("the YAML decoder failed: %v", r),
		Hint: "vmstorm's files need no tags (!...): remove them"}
	if tag := findTag(tree, false); tag != nil {
		e.Line, e.Column, e.Msg = tag.Position.Line, tag.Position.Column, fmt.Sprintf("the YAML decoder failed at the tag %s", tag.Value)
	}
	return e
}

// starters are the commands that print a file of each kind to start from.
var starters = map[string]string{
	"scenario":   "vmstorm -print-scenario travis-2015-osx",
	"experiment": "vmstorm -print-experiment travis-2015-what-if",
}

// Open parses a file of a kind ("scenario", "experiment") into *tree and
// returns the mapping at its root: a file that is empty, of too many
// tokens, nested too deeply, not YAML, whose aliases expand it too far, of
// more than one document, tagged, not a mapping or with a control
// character in a value is an *Error. The caller recovers from a panic of the decoder (see
// Recovered), which may come later too.
func Open(filename string, data []byte, kind string, tree **ast.File) (*ast.MappingNode, error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, &Error{File: filename, Line: 1, Column: 1, Msg: "the " + kind + " is empty", Hint: "start from '" + starters[kind] + "'"}
	}
	if err := checkText(filename, data); err != nil {
		return nil, err
	}
	tks, err := tokens(filename, data)
	if err != nil {
		return nil, err
	}
	t, err := parser.Parse(tks, 0)
	if err != nil {
		return nil, decodeError(filename, err)
	}
	*tree = t
	if err := checkAliases(filename, t); err != nil {
		return nil, err
	}
	root, err := documentRoot(filename, t, kind)
	if err != nil {
		return nil, err
	}
	if err := checkValues(filename, t); err != nil {
		return nil, err
	}
	return root, nil
}

// documentRoot is the mapping at the root of a file of one YAML document
// and no tags: a kind of file ("scenario", "experiment").
func documentRoot(filename string, tree *ast.File, kind string) (*ast.MappingNode, error) {
	if len(tree.Docs) == 0 || tree.Docs[0].Body == nil {
		return nil, &Error{File: filename, Line: 1, Column: 1, Msg: "the file holds no YAML document", Hint: "start from '" + starters[kind] + "'"}
	}
	if len(tree.Docs) > 1 {
		line, col := 1, 1
		if tok := tree.Docs[1].Start; tok != nil { // the ---
			line, col = tok.Position.Line, tok.Position.Column
		}
		return nil, &Error{File: filename, Line: line, Column: col, Msg: "the file holds more than one YAML document",
			Hint: "a " + kind + " is one document: remove the --- and what follows, or make it a file of its own"}
	}
	if tag := findTag(tree, false); tag != nil {
		pos := tag.Position
		return nil, &Error{File: filename, Line: pos.Line, Column: pos.Column, Msg: fmt.Sprintf("the tag %s has no place in a %s", tag.Value, kind),
			Hint: "a " + kind + " needs no tags: remove it"}
	}
	root := tree.Docs[0].Body
	m, ok := AsMapping(root)
	if !ok {
		c := &Converter{file: filename}
		return nil, c.At(root, "the "+kind+" is not a mapping of keys to values", "start from '"+starters[kind]+"'")
	}
	return m, nil
}

// AsMapping is n as a mapping, if it is one: go-yaml gives a mapping of
// one key as the key-value pair alone.
func AsMapping(n ast.Node) (*ast.MappingNode, bool) {
	if mv, one := n.(*ast.MappingValueNode); one {
		return &ast.MappingNode{Values: []*ast.MappingValueNode{mv}}, true
	}
	m, ok := n.(*ast.MappingNode)
	return m, ok
}

// findTag finds the first tag in the file ("!!seq"), or with empty the
// first tag with no value, and returns its token.
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

// WantWhole ends the message of a whole number written otherwise (an
// experiment's replicas: 1.5), which decoding gives a hint of its own.
const WantWhole = "want a whole number"

// decodeError turns a YAML error into an *Error with a hint.
func decodeError(filename string, err error) error {
	var yerr yaml.Error
	if !errors.As(err, &yerr) || yerr.GetToken() == nil {
		return &Error{File: filename, Line: 1, Column: 1, Msg: err.Error(), Hint: "the file is not valid YAML"}
	}
	pos := yerr.GetToken().Position
	msg := printable(yerr.GetMessage())
	hint := ""
	switch {
	case strings.Contains(msg, "unknown field"):
		hint = "check the spelling; docs/scenarios.md lists every key"
	case strings.Contains(msg, "duplicate") || strings.Contains(msg, "already defined"):
		hint = "a key may appear once; remove or rename one of them"
	case strings.Contains(msg, WantWhole):
		hint = "docs/experiments.md gives each key's type"
	case strings.Contains(msg, "cannot unmarshal") || strings.Contains(msg, "mismatch") || strings.Contains(msg, "was used where"):
		hint = "the value has the wrong type; docs/scenarios.md gives each key's type"
	default:
		hint = "the file is not valid YAML here"
	}
	return &Error{File: filename, Line: pos.Line, Column: pos.Column, Msg: msg, Hint: hint}
}

// printable is msg with each control character (and bidirectional
// control) as its Go escape, so that a decoder's message that quotes the
// file ("found character '\t'") puts none on the terminal.
func printable(msg string) string {
	if strings.IndexFunc(msg, format.Unsafe) < 0 {
		return msg
	}
	var b strings.Builder
	for _, r := range msg {
		if format.Unsafe(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Converter turns a file's tree into a Scenario, remembering the first
// mistake with its place in the file. Package experiment reads an
// experiment file with one (NewConverter): the same error positions, the
// same scenario keys in a variant's set (Params), the same timeline
// entries (Timeline).
type Converter struct {
	file  string
	tree  *ast.File
	cfg   config.Config
	nodes map[string]ast.Node // the structured parts' values, by key
	given map[string]bool     // the keys the file gives
	epoch time.Time
	err   error
	// origins are the timeline entries this file gave, with their paths,
	// so that a mistake found in a run's timeline can point at its entry.
	origins []origin
}

// origin is a timeline entry and its path in the file.
type origin struct {
	ev   incident.Event
	path string
}

// NewConverter is a converter for the file filename, parsed into tree
// (Open): for another kind of file than a scenario, an experiment.
func NewConverter(filename string, tree *ast.File) *Converter {
	return &Converter{file: filename, tree: tree, nodes: map[string]ast.Node{}, given: map[string]bool{}}
}

// Err is the first mistake found, or nil.
func (c *Converter) Err() error { return c.err }

// SetEpoch sets the epoch that gives the file's calendar times (in a
// timeline, Timeline) their meaning.
func (c *Converter) SetEpoch(epoch time.Time) { c.epoch = epoch }

// Params reads m, a mapping of scenario keys as a scenario file nests
// them, onto cfg, checking each key and value as a scenario file's are,
// and returns the configuration and every key m gives, by its path
// ("cluster.vms"), its structured parts' (StructuredKeys) too.
func (c *Converter) Params(m *ast.MappingNode, cfg config.Config) (config.Config, map[string]bool) {
	c.cfg, c.given = cfg, map[string]bool{}
	for _, key := range structured {
		delete(c.nodes, key)
	}
	c.walk(m, "")
	return c.cfg, c.given
}

// StructuredKeys are the keys of a scenario file's structured parts (its
// name, description, timeline, checks, queues and traffic), in order.
func StructuredKeys() []string { return slices.Clone(structured) }

// EntryPath is the path in the file of a timeline entry it gave
// (Timeline), if it gave ev.
func (c *Converter) EntryPath(ev incident.Event) (string, bool) {
	for _, o := range c.origins {
		if sameEntry(o.ev, ev) {
			return o.path, true
		}
	}
	return "", false
}

// sameEntry reports whether two timeline entries are the same entry.
func sameEntry(a, b incident.Event) bool {
	return a.ID == b.ID && a.At == b.At && a.AfterDetection == b.AfterDetection && a.Action == b.Action &&
		a.Note == b.Note && a.Args.String() == b.Args.String()
}

// At is a mistake at node n.
func (c *Converter) At(n ast.Node, msg, hint string) error {
	line, col := 1, 1
	if n != nil && n.GetToken() != nil {
		pos := n.GetToken().Position
		line, col = pos.Line, pos.Column
	}
	return &Error{File: c.file, Line: line, Column: col, Msg: msg, Hint: hint}
}

// FailAt records a mistake at node n.
func (c *Converter) FailAt(n ast.Node, msg, hint string) {
	if c.err == nil {
		c.err = c.At(n, msg, hint)
	}
}

// Fail records a mistake at the YAML path (e.g. "$.timeline[2].at").
func (c *Converter) Fail(path, msg, hint string) {
	if c.err != nil {
		return
	}
	line, col := c.position(path)
	c.err = &Error{File: c.file, Line: line, Column: col, Msg: msg, Hint: hint}
}

// position finds the line and column of the value at path, or of the
// closest enclosing node that exists.
func (c *Converter) position(path string) (int, int) {
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

// sections are the keys that hold a mapping of parameters.
func isSection(key string) bool {
	return key != config.SectionRun && slices.Contains(config.Sections, key)
}

// walk reads a mapping at prefix (a section, or the top level): every key
// is a parameter, a section, or a structured part; anything else is a
// mistake.
func (c *Converter) walk(m *ast.MappingNode, prefix string) {
	if c.nodes == nil {
		c.nodes, c.given = map[string]ast.Node{}, map[string]bool{}
	}
	for _, kv := range m.Values {
		if c.err != nil {
			return
		}
		key := KeyString(kv.Key)
		path := prefix + key
		if c.given[path] {
			c.FailAt(kv.Key, fmt.Sprintf("the key %s is given twice", path), "a key may appear once; remove or rename one of them")
			return
		}
		c.given[path] = true
		switch p, isParam := config.LookupKey(path); {
		case isParam:
			lit, ok := Scalar(kv.Value)
			if isNull(kv.Value) {
				lit, ok = "", true // a key with no value: empty, which the parameter takes or refuses
			}
			if !ok {
				c.FailAt(kv.Value, fmt.Sprintf("%s takes one value, not a list or a mapping", path), "want "+p.Want())
				return
			}
			if err := p.Set(&c.cfg, lit); err != nil {
				c.FailAt(kv.Value, fmt.Sprintf("%s %s: want %s", path, Shown(lit), p.Want()), "docs/scenarios.md gives each key's meaning")
				return
			}
		case slices.Contains(structured, path):
			c.nodes[path] = kv.Value
		case prefix == "" && isSection(key):
			sub, ok := AsMapping(kv.Value)
			if !ok {
				c.FailAt(kv.Value, fmt.Sprintf("%s holds keys, not a single value or a list", key), "docs/scenarios.md lists its keys")
				return
			}
			c.walk(sub, key+".")
		default:
			c.FailAt(kv.Key, fmt.Sprintf("unknown key %q", path), UnknownKeyHint(path))
			return
		}
	}
}

// Shown is a value as an error shows it: as written, or quoted if it is
// empty or holds a line break, a tab or another control character, so that
// the error stays one line.
func Shown(lit string) string {
	if lit == "" || strings.IndexFunc(lit, unicode.IsControl) >= 0 {
		return strconv.Quote(lit)
	}
	return lit
}

// moved are keys that moved, with where they are now.
var moved = map[string]string{"alerts.window": "reporting.window"}

// UnknownKeyHint suggests the key meant, if one is close, and where the keys
// are listed.
func UnknownKeyHint(path string) string {
	if to, ok := moved[path]; ok {
		return fmt.Sprintf("it moved: write %s; docs/scenarios.md lists every key", to)
	}
	best, dist := "", 4
	for _, k := range allKeys() {
		if d := editDistance(path, k); d < dist {
			best, dist = k, d
		}
	}
	if best != "" {
		return fmt.Sprintf("did you mean %s? docs/scenarios.md lists every key", best)
	}
	return "check the spelling; docs/scenarios.md lists every key"
}

// allKeys are every key a scenario file may give.
func allKeys() []string {
	keys := slices.Clone(structured)
	for _, p := range config.Params {
		if p.Key != "" {
			keys = append(keys, p.Key)
		}
	}
	return keys
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// KeyString is a mapping key's text.
func KeyString(n ast.Node) string {
	if s, ok := n.(*ast.StringNode); ok {
		return s.Value
	}
	return n.String()
}

// Scalar is a scalar value's literal text, as written (without quotes),
// and false for a mapping, a list or a null.
func Scalar(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	case *ast.LiteralNode:
		return strings.TrimSpace(v.Value.Value), true
	}
	return "", false
}

// decode decodes the structured part at key into v, strictly.
func (c *Converter) decode(key string, v any) bool {
	n, ok := c.nodes[key]
	if !ok {
		return false
	}
	return c.Decode(n, v)
}

// Decode decodes node n into v, strictly, unless a mistake was found
// before; false if it was, or is found now.
func (c *Converter) Decode(n ast.Node, v any) bool {
	if c.err != nil {
		return false
	}
	if err := yaml.NodeToValue(n, v, yaml.Strict()); err != nil {
		c.err = decodeError(c.file, err)
		return false
	}
	return true
}

// Duration parses a duration at path; empty keeps def.
func (c *Converter) Duration(path, v string, def time.Duration) time.Duration {
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > config.MaxDuration {
		c.Fail(path, fmt.Sprintf("%q is not a duration from 0 to %dh", v, config.MaxDuration/time.Hour), "write a Go duration such as 90s, 10m or 4h")
		return def
	}
	return d
}

// detectionPrefix begins a timeline entry's time that is relative to
// detection: "detection + 61m".
const detectionPrefix = "detection"

// afterDetection parses, at path, a time relative to detection
// ("detection", or "detection + 61m"); ok is false if v is not one.
func (c *Converter) afterDetection(path, v string) (delay time.Duration, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(v), detectionPrefix)
	if !ok {
		return 0, false
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return 0, true
	}
	d, err := time.ParseDuration(strings.TrimSpace(strings.TrimPrefix(rest, "+")))
	if !strings.HasPrefix(rest, "+") || err != nil || d < 0 || d > config.MaxDuration {
		c.Fail(path, fmt.Sprintf("%q is not a delay after detection", v), "write detection, or detection + a duration such as detection + 30m")
	}
	return d, true
}

// instant parses a model time at path: a calendar time (RFC 3339, on or
// after the epoch) or a duration from the start of the run.
func (c *Converter) instant(path, v string) time.Duration {
	d, msg, hint := Instant(c.epoch, v)
	if msg != "" {
		c.Fail(path, msg, hint)
	}
	return d
}

// Instant parses a model time as a file writes it: a calendar time (RFC
// 3339, on or after epoch) or a duration from the start; msg and hint say
// what is wrong with one that is not.
func Instant(epoch time.Time, v string) (d time.Duration, msg, hint string) {
	if d, err := time.ParseDuration(v); err == nil && d >= 0 && d <= config.MaxDuration {
		return d, "", ""
	}
	t, err := time.Parse(time.RFC3339, v)
	switch {
	case err != nil:
		return 0, fmt.Sprintf("%q is neither a time nor a duration from the start", v),
			"write a calendar time such as 2015-08-04T17:45:00Z, or a duration from the start such as 36h"
	case epoch.IsZero():
		return 0, fmt.Sprintf("%q is a calendar time, but the scenario has no epoch", v), "set epoch, or write a duration from the start such as 36h"
	case t.Before(epoch):
		return 0, fmt.Sprintf("%s is before the epoch %s", v, epoch.Format(time.RFC3339)), "every time must be on or after the epoch"
	case t.Sub(epoch) > config.MaxDuration:
		return 0, fmt.Sprintf("%s is more than %dh after the epoch", v, config.MaxDuration/time.Hour), "every time must be within a run's longest duration"
	}
	return t.Sub(epoch), "", ""
}

func (c *Converter) convert() *Scenario {
	cfg := c.cfg
	s := &Scenario{}
	c.decode(keyName, &s.Name)
	c.decode(keyDescription, &s.Description)
	cfg.Name = s.Name
	if s.Name == "" && c.err == nil {
		c.Fail("$", "the scenario has no name", "add a line such as name: my-incident")
	}
	if !c.given["duration"] && c.err == nil {
		c.Fail("$", "the scenario has no duration", "add a line such as duration: 24h")
	}
	c.epoch = cfg.Epoch

	var queues []Queue
	if c.decode(keyQueues, &queues) {
		cfg.Queues = nil
		for _, q := range queues {
			cfg.Queues = append(cfg.Queues, config.Queue{Name: q.Name, Share: q.Share, MaxBuilds: q.MaxBuilds})
		}
	}
	var tr Traffic
	if c.decode(keyTraffic, &tr) {
		t := &config.Traffic{PeakHour: 12, Night: 1, Weekend: 1}
		for dst, v := range map[*float64]*float64{&t.PeakHour: tr.PeakHour, &t.Night: tr.Night, &t.Weekend: tr.Weekend} {
			if v != nil {
				*dst = *v
			}
		}
		for i, b := range tr.Bursts {
			p := fmt.Sprintf("$.workload.traffic.bursts[%d]", i)
			t.Bursts = append(t.Bursts, config.Burst{At: c.instant(p+".at", b.At), For: c.Duration(p+".for", b.For, 0), Factor: b.Factor})
		}
		cfg.Traffic = t
	}

	var entries []Entry
	c.decode(keyTimeline, &entries)
	cfg.Timeline = c.Timeline("$.timeline", entries, cfg, true)

	var checks []checkEntry
	c.decode(keyChecks, &checks)
	s.Checks = c.checks(checks, cfg)
	if c.err == nil {
		c.Validate(cfg, "$")
	}
	s.Config = cfg
	return s
}

// Timeline converts the timeline entries at path for a run of cfg; with
// ordered, the entries at model times must come in order of time.
func (c *Converter) Timeline(path string, entries []Entry, cfg config.Config, ordered bool) incident.Timeline {
	var tl incident.Timeline
	var last time.Duration
	for i, e := range entries {
		p := fmt.Sprintf("%s[%d]", path, i)
		if e.At == "" {
			c.Fail(p, "the entry has no time", "add at: with a calendar time or a duration from the start")
			continue
		}
		ev := incident.Event{ID: e.ID, Action: e.Action, Args: e.Args, Note: e.Note}
		switch {
		case e.ID != "" && !incident.ValidID(e.ID):
			c.Fail(p+".id", fmt.Sprintf("id %s: want a letter, then letters, digits, _ or -, at most 40 in all", Shown(e.ID)), "an id names the entry, as in id: stalls-stop")
		case e.ID != "" && slices.ContainsFunc(tl, func(o incident.Event) bool { return o.ID == e.ID }):
			c.Fail(p+".id", fmt.Sprintf("the id %s is given to an entry before this one", e.ID), "give each entry an id of its own")
		}
		if delay, ok := c.afterDetection(p+".at", e.At); ok {
			// Whenever detection comes: no order with the other entries.
			ev.At, ev.AfterDetection = delay, true
		} else {
			ev.At = c.instant(p+".at", e.At)
			if ordered && ev.At < last {
				c.Fail(p+".at", fmt.Sprintf("%s goes back in time from the entry before it", e.At), "list the timeline in order of time")
			}
			last = ev.At
		}
		at := ev.At
		if err := ev.Validate(cfg.QueueNames()); err != nil {
			var argErr *incident.ArgError
			field := "action"
			if errors.As(err, &argErr) {
				field = argErr.Arg
				err = errors.New(argErr.Msg)
			}
			c.Fail(p+"."+field, err.Error(), "docs/scenarios.md lists the actions and their arguments")
		}
		if !ev.AfterDetection && at > cfg.Duration {
			c.Fail(p+".at", fmt.Sprintf("%s is after the end of the run (duration %s)", e.At, format.Duration(cfg.Duration)), "lengthen the duration or drop the entry")
		}
		tl = append(tl, ev)
		c.origins = append(c.origins, origin{ev, p})
	}
	return tl
}

// Validate checks cfg as a whole, and puts a mistake at its key under
// root ("$" for a scenario file, a variant's path in an experiment).
func (c *Converter) Validate(cfg config.Config, root string) {
	err := cfg.Validate()
	if err == nil {
		return
	}
	var pe *config.ParamError
	path, msg := root, err.Error()
	if errors.As(err, &pe) {
		key := pe.Param
		if p, ok := config.Lookup(pe.Param); ok && p.Key != "" {
			key, path = p.Key, root+"."+p.Key
		} else if pe.Param == "queues" || pe.Param == "traffic" {
			path = root + ".workload." + pe.Param
		} else if pe.Param == "timeline" {
			path = root + ".timeline"
		}
		msg = fmt.Sprintf("%s %s: want %s", key, pe.Value, pe.Want)
	}
	c.Fail(path, msg, "docs/scenarios.md gives each key's meaning")
}
