// Command vmstorm-audit redoes issue 10's audit against a built vmstorm
// binary: bad flag lists, scenario and experiment inputs, output paths,
// signals, and issue 21's classes (seeds, -analyze's settings and bad
// series, YAML nesting and aliases, experiments' memory, -merge, sweeps,
// a report's temporaries, control characters, Slurm's variables). Every
// case runs in a directory of its own, bounded in wall time and memory;
// the file system is compared before and after. It prints the count table
// per group and every case that was accepted but bad.
//
// It is a module of its own, outside vmstorm's ./... and its CI: a run
// takes about 5 minutes of a 2-core machine. From the repository's root:
//
//	go build -o /tmp/vmstorm . && (cd tools/audit && go run . -bin /tmp/vmstorm [-only 1,2] [-match SUBSTR])
//
// Each case's stdout and stderr go to -root's out/ (a new temporary
// directory unless given), with results.tsv. A few cases depend on wall
// time (a signal sent after N status lines): their verdicts are the
// harness's, and the note says how they were read.
package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Expectations.
const (
	Reject  = "reject"  // exit 2, one line, nothing written, before the model
	Accept  = "accept"  // runs, bounded, correct
	Budget  = "budget"  // runs and stops at its memory budget: exit 1, one line, summary
	LongRun = "longrun" // asked for a long run: still going at the limit, SIGTERM must stop it cleanly
	Either  = "either"  // a clean refusal or a good run are both fine
)

// Classes.
const (
	Rejected = "rejected cleanly"
	Fine     = "accepted and fine"
	Bad      = "accepted but bad"
)

const gib = 1024 * 1024 // KiB in a GiB

type Case struct {
	ID     string
	Group  int
	Name   string
	Args   []string
	ArgsFn func(dir string) []string
	Setup  func(dir string) error
	SetupD string // the setup, for the reproduction
	Expect string
	// For refusals.
	Needle  []string // the one line must contain each
	LineCol bool     // the one line must be FILE:LINE:COL: ... (hint)
	// For runs.
	Exits   []int // accepted exit statuses (default 0; Budget 1)
	NoSum   bool  // no run summary expected (commands, experiments)
	Timeout time.Duration
	MemKB   int64
	Check   func(r *Result) []string
	Env     []string
	Note    string // why the expectation, for bad cases
}

type Result struct {
	C         *Case
	Dir       string
	Args      []string
	Stdout    string
	Stderr    string
	Exit      int
	Sig       int // terminated by this signal (not ours)
	TimedOut  bool
	TermSent  bool
	MemKilled bool
	Wall      time.Duration
	RSSKB     int64
	Before    map[string]entry
	After     map[string]entry
	Class     string
	Problems  []string
	Info      string
}

var (
	bin     string
	root    string
	outDir  string
	workDir string
)

func main() {
	flag.StringVar(&bin, "bin", "", "the vmstorm binary (required)")
	flag.StringVar(&root, "root", "", "where work/ and out/ go (emptied first); a new temporary directory if not given")
	only := flag.String("only", "", "groups to run, e.g. 1,3")
	match := flag.String("match", "", "run only cases whose id or name contains this")
	flag.Parse()
	if bin == "" {
		fmt.Fprintln(os.Stderr, "vmstorm-audit: -bin is required: build vmstorm and give its path")
		os.Exit(2)
	}
	abs, err := filepath.Abs(bin) // the cases run in directories of their own
	must(err)
	bin = abs
	if root == "" {
		root, err = os.MkdirTemp("", "vmstorm-audit-")
		must(err)
		fmt.Fprintf(os.Stderr, "vmstorm-audit: cases run in %s\n", root)
	}
	outDir = filepath.Join(root, "out")
	workDir = filepath.Join(root, "work")
	os.RemoveAll(outDir)
	os.RemoveAll(workDir)
	must(os.MkdirAll(outDir, 0o755))
	must(os.MkdirAll(workDir, 0o755))

	groups := map[int]bool{1: true, 2: true, 3: true, 4: true, 5: true}
	if *only != "" {
		groups = map[int]bool{}
		for _, g := range strings.Split(*only, ",") {
			n, _ := strconv.Atoi(g)
			groups[n] = true
		}
	}
	start := time.Now()
	var results []*Result
	var all []*Case
	all = append(all, flagCases()...)
	all = append(all, fileCases()...)
	all = append(all, outputCases()...)
	all = append(all, hardeningCases()...)
	for _, c := range all {
		if !groups[c.Group] || (*match != "" && !strings.Contains(c.ID+" "+c.Name, *match)) {
			continue
		}
		r := runCase(c)
		classify(r)
		logResult(r)
		results = append(results, r)
	}
	if groups[4] {
		for _, s := range signalCases() {
			if *match != "" && !strings.Contains(s.ID+" "+s.Name, *match) {
				continue
			}
			r := runSignal(s)
			logResult(r)
			results = append(results, r)
		}
	}
	writeReport(results, time.Since(start))
}

func must(err error) {
	if err != nil {
		panic(err)
	}
}

// ---------------------------------------------------------------- running

func caseEnv(extra []string) []string {
	var env []string
	for _, e := range os.Environ() {
		if strings.HasPrefix(e, "SLURM_") || strings.HasPrefix(e, "JOB_COMPLETION_INDEX") {
			continue
		}
		env = append(env, e)
	}
	return append(env, extra...)
}

func runCase(c *Case) *Result {
	r := &Result{C: c, Dir: filepath.Join(workDir, c.ID)}
	must(os.MkdirAll(r.Dir, 0o755))
	if c.Setup != nil {
		if err := c.Setup(r.Dir); err != nil {
			r.Problems = append(r.Problems, "harness setup failed: "+err.Error())
			r.Class = "setup-error"
			return r
		}
	}
	r.Args = c.Args
	if c.ArgsFn != nil {
		r.Args = c.ArgsFn(r.Dir)
	}
	timeout := c.Timeout
	if timeout == 0 {
		timeout = 60 * time.Second
	}
	memKB := c.MemKB
	if memKB == 0 {
		memKB = 3 * gib
	}
	r.Before = snapshot(r.Dir)
	timeFile := filepath.Join(outDir, c.ID+".time")
	stdout, _ := os.Create(filepath.Join(outDir, c.ID+".stdout"))
	stderr, _ := os.Create(filepath.Join(outDir, c.ID+".stderr"))
	cmd := exec.Command("/usr/bin/time", append([]string{"-v", "-o", timeFile, bin}, r.Args...)...)
	cmd.Dir = r.Dir
	cmd.Env = caseEnv(c.Env)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	t0 := time.Now()
	must(cmd.Start())
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	child := 0
	var termAt time.Time
loop:
	for {
		select {
		case <-done:
			break loop
		case <-time.After(50 * time.Millisecond):
		}
		if child == 0 {
			child = childOf(cmd.Process.Pid)
		}
		if child != 0 {
			if rss := rssKB(child); rss > memKB && !r.MemKilled {
				r.MemKilled = true
				r.RSSKB = max(r.RSSKB, rss)
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
		}
		el := time.Since(t0)
		if el > timeout && !r.TimedOut && !r.TermSent {
			if c.Expect == LongRun && child != 0 {
				r.TermSent = true
				termAt = time.Now()
				syscall.Kill(child, syscall.SIGTERM)
			} else {
				r.TimedOut = true
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			}
		}
		if r.TermSent && !r.TimedOut && time.Since(termAt) > 15*time.Second {
			r.TimedOut = true
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
	}
	r.Wall = time.Since(t0)
	stdout.Close()
	stderr.Close()
	r.Stdout = readString(filepath.Join(outDir, c.ID+".stdout"))
	r.Stderr = readString(filepath.Join(outDir, c.ID+".stderr"))
	parseTime(r, timeFile)
	r.After = snapshot(r.Dir)
	return r
}

// childOf is the first child of pid (vmstorm under /usr/bin/time).
func childOf(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}

func rssKB(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			n, _ := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return n
		}
	}
	return 0
}

func parseTime(r *Result, path string) {
	b, _ := os.ReadFile(path)
	r.Exit = -1
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		switch {
		case strings.HasPrefix(l, "Maximum resident set size (kbytes):"):
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimPrefix(l, "Maximum resident set size (kbytes):")), 10, 64)
			r.RSSKB = max(r.RSSKB, n)
		case strings.HasPrefix(l, "Exit status:"):
			if r.Sig == 0 {
				r.Exit, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(l, "Exit status:")))
			}
		case strings.HasPrefix(l, "Command terminated by signal"):
			r.Sig, _ = strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(l, "Command terminated by signal")))
			r.Exit = -1
		}
	}
}

func readString(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// ---------------------------------------------------------------- snapshots

type entry struct {
	Mode  fs.FileMode
	Size  int64
	MTime int64
	Hash  string
	Link  string
}

func snapshot(dir string) map[string]entry {
	m := map[string]entry{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return nil
		}
		info, err := os.Lstat(p)
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		e := entry{Mode: info.Mode(), Size: info.Size(), MTime: info.ModTime().UnixNano()}
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			e.Link, _ = os.Readlink(p)
		case info.Mode().IsRegular() && info.Size() <= 64<<20:
			if f, err := os.Open(p); err == nil {
				h := sha256.New()
				io.Copy(h, f)
				f.Close()
				e.Hash = hex.EncodeToString(h.Sum(nil))[:16]
			}
		}
		m[rel] = e
		return nil
	})
	return m
}

// changes lists what differs between two snapshots.
func changes(a, b map[string]entry) []string {
	var out []string
	for k, e := range a {
		f, ok := b[k]
		switch {
		case !ok:
			out = append(out, "removed "+k)
		case e.Mode.IsDir() && f.Mode.IsDir():
			// a directory's mtime moves when a probe file comes and goes
		case e != f:
			out = append(out, fmt.Sprintf("changed %s (%d -> %d bytes)", k, e.Size, f.Size))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "created "+k)
		}
	}
	slices.Sort(out)
	return out
}

// ---------------------------------------------------------------- judging

var (
	lineColRe   = regexp.MustCompile(`^vmstorm: (-experiment: |-scenario: |-merge: )?\S+:\d+:\d+: .+\(.+\)$`)
	nothingLost = regexp.MustCompile(`nothing lost +(yes|no): ([0-9 +]+) = (\d+) arrived`)
	waitLine    = regexp.MustCompile(`(?m)^  (wait for a VM|still waiting) +mean (\S+)  p50 (\S+)  p95 (\S+)  max (\S+)`)
	crashRe     = regexp.MustCompile(`panic:|fatal error:|goroutine \d+ \[|DATA RACE`)
)

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// refusalProblems checks a refusal: one line, nothing on stdout, nothing
// written, before the model.
func refusalProblems(r *Result) []string {
	var p []string
	ls := lines(r.Stderr)
	if len(ls) != 1 {
		p = append(p, fmt.Sprintf("%d lines on stderr, want 1: %q", len(ls), head(r.Stderr, 300)))
	} else {
		l := ls[0]
		if !strings.HasPrefix(l, "vmstorm: ") {
			p = append(p, "the line does not start with 'vmstorm: ': "+head(l, 200))
		}
		for _, n := range r.C.Needle {
			if !strings.Contains(l, n) {
				p = append(p, fmt.Sprintf("the line does not name %q: %s", n, head(l, 200)))
			}
		}
		if r.C.LineCol && !lineColRe.MatchString(l) {
			p = append(p, "not FILE:LINE:COL: ... (hint): "+head(l, 200))
		}
		if i := strings.IndexFunc(l, func(c rune) bool { return c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0) }); i >= 0 {
			p = append(p, fmt.Sprintf("the line holds the control character %U, which reaches the terminal raw", []rune(l[i:])[0]))
		}
	}
	if strings.TrimSpace(r.Stdout) != "" {
		p = append(p, "printed on stdout: "+head(r.Stdout, 120))
	}
	if ch := changes(r.Before, r.After); len(ch) > 0 {
		p = append(p, "file system changed: "+strings.Join(ch, ", "))
	}
	if r.Wall > 5*time.Second {
		p = append(p, fmt.Sprintf("refused only after %.1fs", r.Wall.Seconds()))
	}
	return p
}

func summaryProblems(r *Result) []string {
	var p []string
	if !strings.Contains(r.Stdout, "vmstorm summary") {
		return []string{"no summary on stdout"}
	}
	m := nothingLost.FindStringSubmatch(r.Stdout)
	if m == nil {
		p = append(p, "no 'nothing lost' line")
	} else {
		sum := int64(0)
		for _, t := range strings.Split(m[2], "+") {
			n, _ := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
			sum += n
		}
		want, _ := strconv.ParseInt(m[3], 10, 64)
		if m[1] != "yes" || sum != want {
			p = append(p, "nothing lost does not balance: "+m[0])
		}
	}
	for _, w := range waitLine.FindAllStringSubmatch(r.Stdout, -1) {
		var d [4]time.Duration
		ok := true
		for i := range 4 {
			v, err := time.ParseDuration(w[2+i])
			if err != nil {
				ok = false
			}
			d[i] = v
		}
		if !ok || d[0] < 0 || d[0] > d[3] || d[1] > d[2] || d[2] > d[3] || d[1] < 0 {
			p = append(p, "wait statistics inconsistent: "+w[0])
		}
	}
	return p
}

func classify(r *Result) {
	c := r.C
	if r.Class == "setup-error" {
		r.Class = Bad
		return
	}
	var p []string
	if crashRe.MatchString(r.Stderr) {
		p = append(p, "crash on stderr: "+head(crashRe.FindString(r.Stderr), 80))
	}
	if r.MemKilled {
		p = append(p, fmt.Sprintf("memory past %.1f GiB (killed at %.1fs)", float64(memLimit(c))/gib, r.Wall.Seconds()))
	}
	if r.TimedOut {
		p = append(p, fmt.Sprintf("still running after %.0fs (killed)", r.Wall.Seconds()))
	}
	if r.Sig != 0 && !r.MemKilled && !r.TimedOut {
		p = append(p, fmt.Sprintf("killed by signal %d", r.Sig))
	}
	if r.MemKilled || r.TimedOut || r.Sig != 0 {
		if strings.Contains(r.Stderr, "run_started") && c.Expect == Reject {
			p = append(p, "it ran the model (run_started on stderr)")
		}
		if c.Note != "" {
			p = append(p, c.Note)
		}
		r.Problems, r.Class = append(p, r.Problems...), Bad
		return
	}
	expect := c.Expect
	if r.Exit == 2 && (expect == Reject || expect == Either) {
		p = append(p, refusalProblems(r)...)
		if len(p) == 0 {
			r.Class = Rejected
		} else {
			r.Class = Bad
		}
		r.Problems = append(r.Problems, p...)
		return
	}
	if expect == Reject {
		p = append(p, fmt.Sprintf("accepted with exit %d; want a refusal", r.Exit))
		if c.Note != "" {
			p = append(p, c.Note)
		}
		r.Problems, r.Class = append(r.Problems, p...), Bad
		return
	}
	// A run.
	exits := c.Exits
	if len(exits) == 0 {
		exits = []int{0}
		if expect == Budget {
			exits = []int{1}
		}
		if expect == LongRun {
			exits = []int{143}
		}
	}
	if !slices.Contains(exits, r.Exit) {
		p = append(p, fmt.Sprintf("exit %d, want %v: %s", r.Exit, exits, head(lastLine(r.Stderr), 200)))
	}
	if expect == LongRun && !r.TermSent {
		p = append(p, "ended before the limit (expected a long run)")
	}
	if !c.NoSum && r.Exit != 2 {
		p = append(p, summaryProblems(r)...)
	}
	if expect == Budget {
		ls := lines(r.Stderr)
		if len(ls) != 1 || !strings.Contains(ls[0], "memory budget") {
			p = append(p, fmt.Sprintf("want one stderr line about the memory budget, got %d: %q", len(ls), head(r.Stderr, 200)))
		}
	}
	if c.Check != nil {
		p = append(p, c.Check(r)...)
	}
	r.Problems = append(r.Problems, p...)
	if len(r.Problems) == 0 {
		r.Class = Fine
	} else {
		r.Class = Bad
	}
}

func memLimit(c *Case) int64 {
	if c.MemKB == 0 {
		return 3 * gib
	}
	return c.MemKB
}

func head(s string, n int) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\n", " | ")
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func lastLine(s string) string {
	ls := lines(s)
	if len(ls) == 0 {
		return ""
	}
	return ls[len(ls)-1]
}

// ---------------------------------------------------------------- report

func shellQuote(args []string) string {
	var q []string
	for _, a := range args {
		if a == "" || strings.ContainsAny(a, " '\"*$;&|<>()\\") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q = append(q, a)
	}
	return strings.Join(q, " ")
}

func logResult(r *Result) {
	mark := map[string]string{Rejected: "REJ ", Fine: "OK  ", Bad: "BAD "}[r.Class]
	fmt.Printf("%s %-8s %6.2fs %7.0fMB exit=%-4d %s %s\n", mark, r.C.ID, r.Wall.Seconds(), float64(r.RSSKB)/1024, r.Exit, head(r.C.Name, 90), r.Info)
	for _, p := range r.Problems {
		fmt.Printf("         - %s\n", head(p, 300))
	}
}

func writeReport(results []*Result, took time.Duration) {
	tsv, _ := os.Create(filepath.Join(outDir, "results.tsv"))
	defer tsv.Close()
	fmt.Fprintf(tsv, "id\tgroup\tclass\texit\twall_s\tmax_rss_kb\tname\tcommand\tproblems\n")
	type row struct{ tried, rej, fine, bad int }
	per := map[int]*row{}
	for g := 1; g <= 5; g++ {
		per[g] = &row{}
	}
	for _, r := range results {
		x := per[r.C.Group]
		x.tried++
		switch r.Class {
		case Rejected:
			x.rej++
		case Fine:
			x.fine++
		default:
			x.bad++
		}
		fmt.Fprintf(tsv, "%s\t%d\t%s\t%d\t%.2f\t%d\t%s\tvmstorm %s\t%s\n", r.C.ID, r.C.Group, r.Class, r.Exit,
			r.Wall.Seconds(), r.RSSKB, r.C.Name, shellQuote(r.Args), strings.Join(r.Problems, " // "))
	}
	names := map[int]string{1: "1 flag lists", 2: "2 scenario/experiment inputs", 3: "3 output paths", 4: "4 signals", 5: "5 issue 21's classes"}
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-32s %6s %9s %9s %9s\n", "group", "tried", "rejected", "fine", "bad")
	var t row
	for g := 1; g <= 5; g++ {
		x := per[g]
		if x.tried == 0 {
			continue
		}
		fmt.Fprintf(&b, "%-32s %6d %9d %9d %9d\n", names[g], x.tried, x.rej, x.fine, x.bad)
		t.tried += x.tried
		t.rej += x.rej
		t.fine += x.fine
		t.bad += x.bad
	}
	fmt.Fprintf(&b, "%-32s %6d %9d %9d %9d\n", "total", t.tried, t.rej, t.fine, t.bad)
	fmt.Fprintf(&b, "(wall time of the audit: %s)\n\nACCEPTED BUT BAD:\n", took.Round(time.Second))
	for _, r := range results {
		if r.Class != Bad {
			continue
		}
		fmt.Fprintf(&b, "\n%s [%s] %s\n", r.C.ID, names[r.C.Group], r.C.Name)
		if r.C.SetupD != "" {
			fmt.Fprintf(&b, "  setup: %s\n", r.C.SetupD)
		}
		fmt.Fprintf(&b, "  run:   vmstorm %s\n", shellQuote(r.Args))
		fmt.Fprintf(&b, "  got:   exit %d, %.2fs, max RSS %.0f MB\n", r.Exit, r.Wall.Seconds(), float64(r.RSSKB)/1024)
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "  - %s\n", head(p, 400))
		}
	}
	os.WriteFile(filepath.Join(outDir, "table.txt"), []byte(b.String()), 0o644)
	fmt.Print(b.String())
}

// ---------------------------------------------------------------- setup helpers

func write(name, content string) func(string) error {
	return func(d string) error { return os.WriteFile(filepath.Join(d, name), []byte(content), 0o644) }
}

func steps(fs ...func(string) error) func(string) error {
	return func(d string) error {
		for _, f := range fs {
			if err := f(d); err != nil {
				return err
			}
		}
		return nil
	}
}

func symlink(target, name string) func(string) error {
	return func(d string) error { return os.Symlink(target, filepath.Join(d, name)) }
}

func hardlink(existing, name string) func(string) error {
	return func(d string) error { return os.Link(filepath.Join(d, existing), filepath.Join(d, name)) }
}

func mkdir(name string) func(string) error {
	return func(d string) error { return os.MkdirAll(filepath.Join(d, name), 0o755) }
}

func fifo(name string) func(string) error {
	return func(d string) error { return syscall.Mkfifo(filepath.Join(d, name), 0o644) }
}

func sparse(name string, size int64) func(string) error {
	return func(d string) error {
		f, err := os.Create(filepath.Join(d, name))
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Truncate(size)
	}
}

// runBin runs vmstorm in d during a setup (to make results files).
func runBin(args ...string) func(string) error {
	return func(d string) error {
		cmd := exec.Command(bin, args...)
		cmd.Dir = d
		cmd.Env = caseEnv(nil)
		out, err := cmd.CombinedOutput()
		if err != nil {
			return fmt.Errorf("vmstorm %s: %v: %s", strings.Join(args, " "), err, head(string(out), 200))
		}
		return nil
	}
}

func fileHas(name string, want ...string) func(r *Result) []string {
	return func(r *Result) []string {
		b, err := os.ReadFile(filepath.Join(r.Dir, name))
		if err != nil {
			return []string{name + ": " + err.Error()}
		}
		var p []string
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				p = append(p, fmt.Sprintf("%s lacks %q", name, w))
			}
		}
		return p
	}
}

func checks(fs ...func(r *Result) []string) func(r *Result) []string {
	return func(r *Result) []string {
		var p []string
		for _, f := range fs {
			p = append(p, f(r)...)
		}
		return p
	}
}

// unchanged: the run left these files as they were.
func unchanged(names ...string) func(r *Result) []string {
	return func(r *Result) []string {
		var p []string
		for _, n := range names {
			if r.Before[n] != r.After[n] {
				p = append(p, fmt.Sprintf("%s was changed by the run (%d -> %d bytes)", n, r.Before[n].Size, r.After[n].Size))
			}
		}
		return p
	}
}

// stdoutHas: the summary (or table) says this.
func stdoutHas(want ...string) func(r *Result) []string {
	return says("stdout", func(r *Result) string { return r.Stdout }, want)
}

// stderrHas: stderr says this.
func stderrHas(want ...string) func(r *Result) []string {
	return says("stderr", func(r *Result) string { return r.Stderr }, want)
}

// says: the stream named name, as text gives it, holds each of want.
func says(name string, text func(r *Result) string, want []string) func(r *Result) []string {
	return func(r *Result) []string {
		var p []string
		for _, w := range want {
			if !strings.Contains(text(r), w) {
				p = append(p, fmt.Sprintf("%s lacks %q", name, w))
			}
		}
		return p
	}
}

// stderrLines: exactly n lines on stderr (with -quiet), each containing want.
func stderrOneLine(want string) func(r *Result) []string {
	return func(r *Result) []string {
		ls := lines(r.Stderr)
		if len(ls) != 1 || !strings.Contains(ls[0], want) {
			return []string{fmt.Sprintf("want one stderr line with %q, got %d: %q", want, len(ls), head(r.Stderr, 300))}
		}
		return nil
	}
}

// jsonLines: every line of the file is a whole JSON object; the last one
// has msg.
func logComplete(name string) func(r *Result) []string {
	return func(r *Result) []string {
		b, err := os.ReadFile(filepath.Join(r.Dir, name))
		if err != nil {
			return []string{name + ": " + err.Error()}
		}
		ls := lines(string(b))
		if len(ls) == 0 {
			return []string{name + " is empty"}
		}
		for i, l := range ls {
			if !strings.HasPrefix(l, "{") || !strings.HasSuffix(l, "}") {
				return []string{fmt.Sprintf("%s line %d is not a whole JSON object", name, i+1)}
			}
		}
		if !strings.Contains(ls[len(ls)-1], `"msg":"run_ended"`) {
			return []string{name + " does not end with run_ended: " + head(ls[len(ls)-1], 120)}
		}
		return nil
	}
}

// csvComplete: every row has the header's number of fields.
func csvComplete(name string) func(r *Result) []string {
	return func(r *Result) []string {
		f, err := os.Open(filepath.Join(r.Dir, name))
		if err != nil {
			return []string{name + ": " + err.Error()}
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		n, bad, rows := -1, 0, 0
		for sc.Scan() {
			k := strings.Count(sc.Text(), ",")
			if n < 0 {
				n = k
			} else if k != n {
				bad++
			}
			rows++
		}
		if bad > 0 || rows < 2 {
			return []string{fmt.Sprintf("%s: %d of %d rows with the wrong number of fields", name, bad, rows)}
		}
		return nil
	}
}

// group gives the cases of one group their group, their IDs (prefix and a
// number, in order) and a default timeout, and collects them in *cs.
func group(cs *[]*Case, g int, prefix string, timeout time.Duration) func(*Case) {
	n := 0
	return func(c *Case) {
		n++
		c.Group, c.ID = g, fmt.Sprintf("%s%03d", prefix, n)
		if c.Timeout == 0 {
			c.Timeout = timeout
		}
		*cs = append(*cs, c)
	}
}
