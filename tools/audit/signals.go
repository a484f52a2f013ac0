package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

type SigCase struct {
	ID, Name string
	Args     []string
	Setup    func(string) error
	SetupD   string
	// The moment: the n-th stderr line containing Trigger, or a line of
	// TriggerFile containing Trigger.
	Trigger     string
	TriggerN    int
	TriggerFile string
	Signals     []syscall.Signal
	WantExits   []int
	Experiment  bool // a table, not a summary
	Again       bool // a second signal: at once, and says so
	Late        bool // signalled after the model ended: 0 allowed
	Log, CSV    string
	Extra       func(r *Result, s *SigCase) []string
}

const sigExpYAML = "name: e\nbase: small.yaml\nreplicas: 60\nvariants:\n  - name: a\n  - name: b\n    set: {mitigations: {breaker: true}}\n"

var sigExpSetup = steps(write("small.yaml", "name: s\nduration: 12h\n"), write("x.yaml", sigExpYAML))

const sigExpD = "small.yaml: name: s⏎duration: 12h; x.yaml: 2 variants x 60 replicas of it"

func signalCases() []*SigCase {
	INT, TERM := syscall.SIGINT, syscall.SIGTERM
	paced := []string{"-seed", "1", "-speed", "600", "-log-file", "l.log"}
	unpaced := []string{"-seed", "1", "-speed", "max", "-duration", "87600h", "-status-every", "100h", "-log-file", "l.log"}
	cs := []*SigCase{
		{Name: "SIGINT early (at run_started), paced -speed 120", Args: []string{"-seed", "1", "-log-file", "l.log"}, Trigger: "run_started", Signals: []syscall.Signal{INT}, WantExits: []int{130}, Log: "l.log"},
		{Name: "SIGTERM early (at run_started), paced -speed 120", Args: []string{"-seed", "1", "-log-file", "l.log"}, Trigger: "run_started", Signals: []syscall.Signal{TERM}, WantExits: []int{143}, Log: "l.log"},
		{Name: "SIGINT mid-run, paced (at T+00:20:00, -speed 600), with -series", Args: append(paced, "-series", "s.csv"), Trigger: "T+00:20:00", Signals: []syscall.Signal{INT}, WantExits: []int{130}, Log: "l.log", CSV: "s.csv"},
		{Name: "SIGTERM mid-run, paced, broken janitor (at T+00:30:00)", Args: append(paced, "-break-cleanup"), Trigger: "T+00:30:00", Signals: []syscall.Signal{TERM}, WantExits: []int{143}, Log: "l.log"},
		{Name: "SIGINT mid-run, unpaced -duration 87600h (after 5 status lines)", Args: unpaced, Trigger: "\tstatus\t", TriggerN: 10, Signals: []syscall.Signal{INT}, WantExits: []int{130}, Log: "l.log"},
		{Name: "SIGTERM mid-run, unpaced -duration 87600h -break-cleanup (after 5 status lines)", Args: append(unpaced, "-break-cleanup"), Trigger: "\tstatus\t", TriggerN: 5, Signals: []syscall.Signal{TERM}, WantExits: []int{143}, Log: "l.log"},
		{Name: "SIGINT twice back to back, paced", Args: paced, Trigger: "T+00:10:00", Signals: []syscall.Signal{INT, INT}, WantExits: []int{130}, Again: true},
		{Name: "SIGTERM twice back to back, unpaced", Args: unpaced, Trigger: "\tstatus\t", TriggerN: 5, Signals: []syscall.Signal{TERM, TERM}, WantExits: []int{143}, Again: true},
		{Name: "SIGTERM then SIGINT, paced", Args: paced, Trigger: "T+00:10:00", Signals: []syscall.Signal{TERM, INT}, WantExits: []int{130, 143}, Again: true},
		{Name: "SIGINT mid-scenario travis-2015-osx at its own speed (9000)", Args: []string{"-scenario", "travis-2015-osx", "-log-file", "l.log"}, Trigger: "2015-08-01", Signals: []syscall.Signal{INT}, WantExits: []int{130}, Log: "l.log"},
		{Name: "SIGINT while the backlog races to the budget (-arrival-rate 1e7, unpaced)", Args: []string{"-seed", "1", "-speed", "max", "-arrival-rate", "1e7", "-status-every", "10s"}, Trigger: "\tstatus\t", TriggerN: 1, Signals: []syscall.Signal{INT}, WantExits: []int{130}},
		{Name: "SIGINT with -metrics-addr and -report, paced: the port is freed", Args: append(paced, "-metrics-addr", "127.0.0.1:0", "-report", "r.html"), Trigger: "T+00:10:00", Signals: []syscall.Signal{INT}, WantExits: []int{130}, Log: "l.log",
			Extra: func(r *Result, s *SigCase) []string {
				m := regexp.MustCompile(`serving metrics on http://(\S+)/metrics`).FindStringSubmatch(r.Stderr)
				if m == nil {
					return []string{"no 'serving metrics' line"}
				}
				if c, err := net.DialTimeout("tcp", m[1], time.Second); err == nil {
					c.Close()
					return []string{"the metrics port still answers after exit"}
				}
				return nil
			}},
		{Name: "SIGINT at run_ended while -report r.png is written", Args: []string{"-scenario", "travis-2015-osx", "-speed", "max", "-report", "r.png", "-log-file", "l.log"}, Trigger: "run_ended", Signals: []syscall.Signal{INT}, WantExits: []int{0, 3, 130}, Late: true, Log: "l.log"},
		{Name: "SIGINT twice at run_ended while -report r.png is written", Args: []string{"-scenario", "travis-2015-osx", "-speed", "max", "-report", "r.png"}, Trigger: "run_ended", Signals: []syscall.Signal{INT, INT}, WantExits: []int{0, 3, 130}, Again: true, Late: true,
			Extra: func(r *Result, s *SigCase) []string {
				if b, err := os.ReadFile(filepath.Join(r.Dir, "r.png")); err == nil && !strings.Contains(string(b[max(0, len(b)-16):]), "IEND") {
					return []string{"r.png is half written"}
				}
				return nil
			}},
		{Name: "SIGKILL at run_ended during -report r.html, then the same command again: the stale temporary goes", Args: []string{"-scenario", "travis-2015-osx", "-speed", "max", "-report", "r.html"}, Trigger: "run_ended", Signals: []syscall.Signal{syscall.SIGKILL}, WantExits: []int{-1, 0, 3}, Late: true,
			Extra: func(r *Result, s *SigCase) []string {
				cmd := exec.Command(bin, append(s.Args, "-quiet")...)
				cmd.Dir = r.Dir
				cmd.Env = caseEnv(nil)
				cmd.Run()
				m, _ := filepath.Glob(filepath.Join(r.Dir, ".r.html.tmp-*"))
				if len(m) > 0 {
					return []string{fmt.Sprintf("%d stale temporaries left after the next start", len(m))}
				}
				return fileHas("r.html", "</html>")(r)
			}},
		{Name: "SIGINT during an experiment (after 3 results)", Args: []string{"-experiment", "x.yaml", "-results", "r.jsonl"}, Setup: sigExpSetup, SetupD: sigExpD, TriggerFile: "r.jsonl", TriggerN: 3, Signals: []syscall.Signal{INT}, WantExits: []int{130}, Experiment: true},
		{Name: "SIGTERM during an experiment (after 3 results)", Args: []string{"-experiment", "x.yaml", "-results", "r.jsonl"}, Setup: sigExpSetup, SetupD: sigExpD, TriggerFile: "r.jsonl", TriggerN: 3, Signals: []syscall.Signal{TERM}, WantExits: []int{143}, Experiment: true},
		{Name: "SIGINT twice during an experiment", Args: []string{"-experiment", "x.yaml", "-results", "r.jsonl"}, Setup: sigExpSetup, SetupD: sigExpD, TriggerFile: "r.jsonl", TriggerN: 3, Signals: []syscall.Signal{INT, INT}, WantExits: []int{130}, Experiment: true, Again: true},
		{Name: "SIGINT paced and -quiet, waiting on the log file (travis-2015-osx)", Args: []string{"-scenario", "travis-2015-osx", "-quiet", "-log-file", "l.log"}, TriggerFile: "l.log", Trigger: "2015-08-01", Signals: []syscall.Signal{INT}, WantExits: []int{130}, Log: "l.log"},
	}
	for i, c := range cs {
		c.ID = fmt.Sprintf("k%03d", i+1)
		if c.TriggerN == 0 {
			c.TriggerN = 1
		}
	}
	return cs
}

func runSignal(s *SigCase) *Result {
	c := &Case{ID: s.ID, Group: 4, Name: s.Name, SetupD: s.SetupD}
	r := &Result{C: c, Dir: filepath.Join(workDir, s.ID), Args: s.Args}
	must(os.MkdirAll(r.Dir, 0o755))
	fail := func(p ...string) *Result {
		r.Problems = append(r.Problems, p...)
		r.Class = Bad
		return r
	}
	if s.Setup != nil {
		if err := s.Setup(r.Dir); err != nil {
			return fail("harness setup failed: " + err.Error())
		}
	}
	cmd := exec.Command(bin, s.Args...)
	cmd.Dir = r.Dir
	cmd.Env = caseEnv(nil)
	stdout, _ := os.Create(filepath.Join(outDir, s.ID+".stdout"))
	cmd.Stdout = stdout
	pipe, _ := cmd.StderrPipe()
	var mu sync.Mutex
	var errBuf strings.Builder
	trig := make(chan struct{})
	var once sync.Once
	seen := 0
	t0 := time.Now()
	must(cmd.Start())
	scanDone := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			l := sc.Text()
			mu.Lock()
			errBuf.WriteString(l + "\n")
			mu.Unlock()
			if s.TriggerFile == "" && strings.Contains(l, s.Trigger) {
				seen++
				if seen >= s.TriggerN {
					once.Do(func() { close(trig) })
				}
			}
		}
		close(scanDone)
	}()
	exited := make(chan struct{})
	go func() { <-scanDone; cmd.Wait(); close(exited) }()
	if s.TriggerFile != "" {
		go func() {
			for {
				select {
				case <-exited:
					return
				case <-time.After(20 * time.Millisecond):
				}
				b, _ := os.ReadFile(filepath.Join(r.Dir, s.TriggerFile))
				ls := lines(string(b))
				k := 0
				for _, l := range ls {
					if strings.Contains(l, s.Trigger) {
						k++
					}
				}
				if k >= s.TriggerN {
					once.Do(func() { close(trig) })
					return
				}
			}
		}()
	}
	select {
	case <-trig:
	case <-exited:
		r.Wall = time.Since(t0)
		r.Stderr = errBuf.String()
		return fail("the run ended before the moment to signal it")
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-exited
		return fail("the moment to signal never came in 60s")
	}
	var tLast time.Time
	secondSent := false
	for i, sig := range s.Signals {
		if i > 0 {
			// Two of one signal sent at once are one to the Go runtime
			// (one pending bit per signal): a person's second Ctrl-C comes
			// later. If the first has already stopped it, that is fine.
			select {
			case <-exited:
				goto waited
			case <-time.After(5 * time.Millisecond):
			}
			secondSent = true
		}
		cmd.Process.Signal(sig)
		tLast = time.Now()
	}
	select {
	case <-exited:
	case <-time.After(20 * time.Second):
		cmd.Process.Kill()
		<-exited
		r.Problems = append(r.Problems, "did not stop within 20s of the signal")
	}
waited:
	latency := time.Since(tLast)
	r.Wall = time.Since(t0)
	stdout.Close()
	mu.Lock()
	r.Stderr = errBuf.String()
	mu.Unlock()
	r.Stdout = readString(filepath.Join(outDir, s.ID+".stdout"))
	os.WriteFile(filepath.Join(outDir, s.ID+".stderr"), []byte(r.Stderr), 0o644)
	r.Exit = cmd.ProcessState.ExitCode()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.RSSKB = ru.Maxrss
	}
	var p []string
	if !containsInt(s.WantExits, r.Exit) {
		p = append(p, fmt.Sprintf("exit %d, want %v", r.Exit, s.WantExits))
	}
	if crashRe.MatchString(r.Stderr) {
		p = append(p, "crash on stderr")
	}
	limit := 2 * time.Second
	if s.Again {
		limit = time.Second
	}
	if latency > limit {
		p = append(p, fmt.Sprintf("took %.2fs to exit after the signal", latency.Seconds()))
	}
	killed := len(s.Signals) == 1 && s.Signals[0] == syscall.SIGKILL
	switch {
	case killed:
	case s.Again:
		// A second signal that lands once the first's summary (or table) is
		// out finds nothing to cut short: the process is exiting with the
		// first's status.
		done := strings.Contains(r.Stdout, "vmstorm summary") || strings.Contains(r.Stdout, "experiment e")
		if secondSent && !done && !strings.Contains(r.Stderr, "received again") {
			p = append(p, "no line saying the second signal stops at once")
		}
	case s.Experiment:
		if !strings.Contains(r.Stdout, "experiment e") {
			p = append(p, "no table on stdout")
		}
		if !strings.Contains(r.Stderr, "interrupted") {
			p = append(p, "no line saying the table is partial")
		}
	default:
		p = append(p, summaryProblems(r)...)
		if !s.Late && !strings.Contains(r.Stdout, "interrupted") {
			p = append(p, "the summary does not say the run was interrupted")
		}
		if s.Log != "" {
			p = append(p, logComplete(s.Log)(r)...)
			p = append(p, logMatchesSummary(r, s.Log)...)
		}
		if s.CSV != "" {
			p = append(p, csvComplete(s.CSV)(r)...)
		}
	}
	if s.Experiment {
		b, _ := os.ReadFile(filepath.Join(r.Dir, "r.jsonl"))
		for i, l := range lines(string(b)) {
			if !strings.HasPrefix(l, "{") || !strings.HasSuffix(l, "}") {
				p = append(p, fmt.Sprintf("r.jsonl line %d is not whole", i+1))
				break
			}
		}
	}
	if s.Extra != nil {
		p = append(p, s.Extra(r, s)...)
	}
	r.Problems = append(r.Problems, p...)
	r.Class = Fine
	if len(r.Problems) > 0 {
		r.Class = Bad
	}
	r.Info = fmt.Sprintf("signal to exit %dms", latency.Milliseconds())
	return r
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// logMatchesSummary: run_ended's arrived equals the summary's.
func logMatchesSummary(r *Result, name string) []string {
	b, err := os.ReadFile(filepath.Join(r.Dir, name))
	if err != nil {
		return nil
	}
	m := regexp.MustCompile(`"msg":"run_ended".*"arrived":(\d+)`).FindSubmatch(b)
	if m == nil {
		return nil
	}
	if a := nothingLost.FindStringSubmatch(r.Stdout); a != nil && a[3] != string(m[1]) {
		return []string{fmt.Sprintf("the log's run_ended has arrived %s, the summary %s", m[1], a[3])}
	}
	return nil
}
