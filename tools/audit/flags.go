package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// base flags of a run: unpaced, quiet, a fixed seed; a case's own flags
// come after, and win.
func run(args ...string) []string {
	return append([]string{"-speed", "max", "-quiet", "-seed", "1"}, args...)
}

const (
	baseYAML = "name: b\nduration: 2h\ncluster:\n  vms: 50\n"
	expYAML  = "name: e\nbase: base.yaml\nreplicas: 2\nvariants:\n  - name: a\n  - name: b\n    set: {mitigations: {breaker: true}}\n"
)

var expSetup = steps(write("base.yaml", baseYAML), write("e.yaml", expYAML))

// summary figure: the number after label on its line.
func figure(stdout, label string) (int64, bool) {
	m := regexp.MustCompile(`(?m)^  ` + regexp.QuoteMeta(label) + ` +(\d+)`).FindStringSubmatch(stdout)
	if m == nil {
		return 0, false
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n, true
}

func wantFigure(label string, ok func(int64) bool, what string) func(r *Result) []string {
	return func(r *Result) []string {
		n, found := figure(r.Stdout, label)
		if !found || !ok(n) {
			return []string{fmt.Sprintf("%s is %d, want %s", label, n, what)}
		}
		return nil
	}
}

func flagCases() []*Case {
	var cs []*Case
	n := 0
	add := func(c *Case) {
		n++
		c.Group = 1
		c.ID = fmt.Sprintf("f%03d", n)
		if c.Name == "" {
			c.Name = strings.Join(c.Args, " ")
		}
		if c.Timeout == 0 && c.Expect == Reject {
			c.Timeout = 30 * time.Second
		}
		cs = append(cs, c)
	}
	// A bad value of one flag: refused, naming the flag.
	bad := func(flag, value string, pre ...string) {
		args := run(append(pre, "-"+flag, value)...)
		add(&Case{Name: strings.Join(append(pre, "-"+flag, fmt.Sprintf("%q", value)), " "), Args: args, Expect: Reject, Needle: []string{"-" + flag}})
	}
	for _, v := range []string{"0", "-1", "1.5", "abc", "", "10000001", "99999999999999999999999", "0x10", "1e3", " 5", "NaN"} {
		bad("vms", v)
	}
	bad("cpu-vms", "-1")
	bad("cpu-vms", "10000001")
	for _, v := range []string{"-1", "NaN", "Inf", "1e8", "-0x1p-2"} {
		bad("api-rate", v)
	}
	bad("api-burst", "-1")
	bad("client-api-rate", "nan")
	bad("client-api-rate", "+Inf")
	bad("clone-time", "-1s")
	bad("clone-time", "1001h")
	bad("clone-spread", "1001h")
	bad("boot-time", "-5s")
	bad("boot-spread", "2000h")
	bad("destroy-time", "1001h")
	bad("destroy-spread", "-1ns")
	bad("reject-time", "0")
	bad("reject-time", "999us")
	for _, v := range []string{"0", "-3", "NaN", "+Inf", "1e8", "1e-7", ""} {
		bad("arrival-rate", v)
	}
	bad("max-jobs", "-1")
	bad("max-jobs", "1099511627777")
	bad("build-time", "1001h")
	bad("build-time", "2562048h")
	bad("build-spread", "-1s")
	bad("build-timeout", "-1m")
	bad("build-workers", "0")
	bad("build-workers", "100001")
	bad("run-workers", "0")
	bad("run-workers", "1000000000")
	bad("queue-size", "-1")
	bad("queue-size", "10000001")
	bad("start-timeout", "-1s")
	bad("max-attempts", "-1")
	bad("max-attempts", "1000001")
	bad("stall-timeout", "0")
	for _, v := range []string{"0", "1ns", "999ms", "1001h"} {
		bad("cleanup-every", v)
	}
	bad("cleanup-rate", "-1")
	bad("cleanup-rate", "nan")
	bad("cleanup-cutoff", "0")
	bad("cleanup-workers", "0")
	bad("cleanup-concurrency", "-1")
	bad("cleanup-concurrency", "100001")
	bad("backoff-base", "0", "-backoff")
	bad("backoff-cap", "0", "-backoff")
	bad("backoff-multiplier", "0.5", "-backoff")
	bad("backoff-multiplier", "nan", "-backoff")
	bad("retry-budget-tokens", "0", "-retry-budget")
	bad("retry-budget-ratio", "inf", "-retry-budget")
	bad("breaker-min-requests", "0", "-breaker")
	bad("breaker-failure-ratio", "1.5", "-breaker")
	bad("breaker-failure-ratio", "0", "-breaker")
	bad("breaker-window", "-1s", "-breaker")
	bad("breaker-open-timeout", "0", "-breaker")
	bad("breaker-probes", "0", "-breaker")
	bad("reaper-ttl", "0", "-reaper")
	bad("shed-after", "0", "-shed")
	bad("shed-after", "87601h", "-shed")
	bad("alert-vm-count-min", "-1")
	bad("alert-vm-count-max", "10000001")
	bad("alert-requeue-rate-max", "-1")
	bad("alert-requeue-rate-max", "inf")
	bad("alert-backlog-age-max", "-1s")
	bad("alert-for", "-1s")
	bad("alert-keep-firing-for", "87601h")
	for _, v := range []string{"0", "25h", "999ms"} {
		bad("window", v)
	}
	bad("status-every", "0")
	for _, v := range []string{"1ns", "0", "25h"} {
		bad("sample-every", v)
	}
	bad("drained", "0")
	for _, v := range []string{"0", "-1h", "87601h", "10", "abc", ""} {
		bad("duration", v)
	}
	for _, v := range []string{"0", "-1", "nan", "inf", "1e8", "0.0009", ""} {
		bad("speed", v)
	}
	for _, v := range []string{"-1", "18446744073709551616", "abc"} {
		bad("seed", v)
	}
	for _, v := range []string{"2015-13-01T00:00:00Z", "2015-07-31", "2015-07-31T00:00:00", "10000-01-01T00:00:00Z", "yesterday"} {
		bad("epoch", v)
	}
	for _, v := range []string{"999", "20000001", "-1"} {
		bad("max-held", v)
	}
	add(&Case{Args: run("-break-cleanup=maybe"), Expect: Reject, Needle: []string{"-break-cleanup"}})
	add(&Case{Args: run("-break-cleanup=2"), Expect: Reject, Needle: []string{"-break-cleanup"}})
	add(&Case{Args: run("-backoff=yes"), Expect: Reject, Needle: []string{"-backoff"}})
	bad("break-at", "-1s", "-break-cleanup")
	bad("break-at", "2h", "-break-cleanup") // past -duration 1h: the fault would never come

	// Unknown flags and stray arguments.
	for _, a := range [][]string{{"-bogus"}, {"-VMS", "10"}, {"-vms"}, {"stray"}, {"-vms", "10", "extra"}, {"--", "-vms", "10"}, {"-duration=1h", "--", "x"}, {"-speed", "max", "-quiet", "-"}} {
		add(&Case{Args: append(run(), a...), Name: strings.Join(a, " "), Expect: Reject})
	}

	// Conflicting or inert combinations.
	conflict := func(note string, args ...string) {
		add(&Case{Args: args, Expect: Reject, Note: note, Setup: expSetup})
	}
	conflict("", append(run(), "-break-at", "10m")...)
	conflict("", "-list-scenarios", "-scenario", "travis-2015-osx")
	conflict("", "-list-scenarios", "-print-scenario", "travis-2015-osx")
	conflict("", "-list-scenarios", "extra")
	conflict("", "-print-scenario", "travis-2015-osx", "-scenario", "travis-2015-osx")
	conflict("", "-print-scenario", "nosuch")
	conflict("", "-print-scenario", "travis-2015-osx", "-vms", "3")
	conflict("", append(run(), "-pprof")...)
	conflict("", "-analyze", "x.csv", "-vms", "3")
	conflict("", "-analyze", "x.csv", "-series", "y.csv")
	conflict("", "-analyze", "x.csv", "-report", "y.html")
	conflict("", "-analyze", "x.csv", "-experiment", "e.yaml")
	conflict("", "-experiment", "e.yaml", "-vms", "3")
	conflict("", "-experiment", "e.yaml", "-seed", "1")
	conflict("", "-experiment", "e.yaml", "-speed", "max")
	conflict("", "-experiment", "e.yaml", "-log-file", "l.log")
	conflict("", "-experiment", "e.yaml", "-series", "s.csv")
	conflict("", "-experiment", "e.yaml", "-metrics-addr", "127.0.0.1:0")
	conflict("", "-experiment", "e.yaml", "-report", "r.svg")
	conflict("", "-experiment", "e.yaml", "-merge", "r.jsonl", "-results", "x.jsonl")
	conflict("", "-experiment", "e.yaml", "-merge", "r.jsonl", "-parallel", "2")
	conflict("", "-experiment", "e.yaml", "-merge", "r.jsonl", "-shard", "0/2")
	conflict("", "-experiment", "e.yaml", "-shard", "0/2", "-report", "r.html")
	conflict("", "-experiment", "e.yaml", "-shard", "2/2")
	conflict("", "-experiment", "e.yaml", "-shard", "abc")
	conflict("", "-experiment", "e.yaml", "-shard", "0/0")
	conflict("", "-experiment", "e.yaml", "-shard", "-1/2")
	conflict("", "-experiment", "e.yaml", "-parallel", "abc")
	conflict("a negative count of replicas at once is not a count: -h states no range, and it silently means one per core",
		"-experiment", "e.yaml", "-parallel", "-1")
	conflict("", "-experiment", "nosuch")
	conflict("", "-experiment", "e.yaml", "-print-experiment", "travis-2015-what-if")
	conflict("", "-experiment", "e.yaml", "-print-scenario", "travis-2015-osx")
	conflict("", "-print-experiment", "nosuch")
	conflict("", append(run(), "-shard", "0/2")...)
	conflict("", append(run(), "-results", "r.jsonl")...)
	conflict("", append(run(), "-merge", "r.jsonl")...)
	conflict("", append(run(), "-parallel", "2")...)
	conflict("", append(run(), "-metrics-addr", "abc")...)
	conflict("", append(run(), "-metrics-addr", "127.0.0.1:99999")...)
	conflict("", append(run(), "-metrics-addr", "192.0.2.1:9090")...)
	conflict("", append(run(), "-report", "r.txt")...)
	conflict("", append(run(), "-series", "s.txt")...)
	conflict("", append(run(), "-scenario", "nosuch")...)
	add(&Case{Name: "SLURM_ARRAY_TASK_COUNT=0 (no -shard) -experiment e.yaml", Args: []string{"-experiment", "e.yaml", "-quiet"},
		Env: []string{"SLURM_ARRAY_TASK_ID=0", "SLURM_ARRAY_TASK_COUNT=0"}, Setup: expSetup, Expect: Reject, Needle: []string{"SLURM_ARRAY_TASK_COUNT"},
		SetupD: "env SLURM_ARRAY_TASK_ID=0 SLURM_ARRAY_TASK_COUNT=0"})

	// Empty values: a flag given with nothing in it.
	empty := func(flag string, pre ...string) {
		args := append(append(run(), pre...), "-"+flag, "")
		add(&Case{Name: strings.Join(append(pre, "-"+flag, "''"), " "), Args: args, Expect: Reject, Needle: []string{"-" + flag}, Setup: expSetup,
			Note: "an empty -" + flag + " is taken as not given: the run goes on without what was asked (an unset shell variable in a script)"})
	}
	empty("scenario")
	empty("log-file")
	empty("report")
	empty("series")
	empty("metrics-addr")
	add(&Case{Name: "-experiment ''", Args: []string{"-experiment", "", "-quiet"}, Expect: Reject, Needle: []string{"-experiment"}, Timeout: 5 * time.Second,
		Note: "-experiment '' runs the default model, paced at -speed 120, instead of an experiment"})
	add(&Case{Name: "-analyze ''", Args: []string{"-analyze", ""}, Expect: Reject, Needle: []string{"-analyze"}, Timeout: 5 * time.Second,
		Note: "-analyze '' runs the default model, paced at -speed 120, instead of judging a file"})
	add(&Case{Name: "-print-scenario ''", Args: []string{"-print-scenario", ""}, Expect: Reject, Needle: []string{"-print-scenario"}, Timeout: 5 * time.Second,
		Note: "-print-scenario '' runs the default model, paced, instead of printing"})
	add(&Case{Name: "-print-experiment ''", Args: []string{"-print-experiment", ""}, Expect: Reject, Needle: []string{"-print-experiment"}, Timeout: 5 * time.Second,
		Note: "-print-experiment '' runs the default model, paced, instead of printing"})
	add(&Case{Name: "-experiment e.yaml -merge ''", Args: []string{"-experiment", "e.yaml", "-merge", "", "-quiet"}, Setup: expSetup, Expect: Reject, Needle: []string{"-merge"}})

	// Inert settings: a mitigation's setting without its switch, a burst
	// without a rate (no scenario can turn them on here).
	inert := func(args ...string) {
		add(&Case{Args: run(args...), Expect: Reject, Name: strings.Join(args, " ") + " (its switch not given)",
			Note: "inert: " + args[0] + " does nothing without its switch, like -break-at without -break-cleanup (README: flags that would do nothing get exit 2)"})
	}
	inert("-backoff-base", "1m")
	inert("-breaker-probes", "3")
	inert("-reaper-ttl", "1h")
	inert("-shed-after", "1h")
	inert("-retry-budget-tokens", "5")
	inert("-api-burst", "10")

	// Same flag twice: last wins (Go's convention; run_started logs the value used).
	add(&Case{Args: run("-vms", "10", "-vms", "20"), Expect: Either, Check: func(r *Result) []string {
		return wantFigure("capacity", func(n int64) bool { return n == 20 }, "20 (the last -vms)")(r)
	}})

	// Extreme but valid values: bounded time and memory.
	add(&Case{Name: "-sample-every 1s -duration 87600h (ten model years: long as asked, memory must stay flat)", Args: run("-sample-every", "1s", "-duration", "87600h"),
		Expect: LongRun, Timeout: 40 * time.Second, MemKB: 200 * 1024})
	add(&Case{Args: run("-sample-every", "1s", "-duration", "1000h", "-report", "r.html"), Expect: Accept, MemKB: 500 * 1024,
		Check: fileHas("r.html", "<html")})
	add(&Case{Args: run("-cleanup-every", "1s", "-duration", "24h"), Expect: Accept})
	add(&Case{Args: run("-arrival-rate", "1e7"), Expect: Budget})
	add(&Case{Args: run("-arrival-rate", "1e7", "-series", "s.csv", "-report", "r.svg"), Expect: Budget,
		Check: checks(fileHas("r.svg", "<svg"), csvComplete("s.csv"))})
	add(&Case{Args: run("-vms", "10", "-break-cleanup", "-reject-time", "1ms", "-clone-time", "0", "-boot-time", "0"), Expect: Budget})
	add(&Case{Args: run("-build-time", "1000h", "-build-spread", "1000h", "-build-timeout", "0", "-duration", "3h"), Expect: Accept,
		Check: wantFigure("completed", func(n int64) bool { return n == 0 }, "0 (a 1000 h build cannot finish in 3 h)")})
	add(&Case{Args: run("-build-time", "1000h", "-build-spread", "1000h", "-build-timeout", "0", "-max-jobs", "10"), Expect: Accept,
		Check: checks(wantFigure("completed", func(n int64) bool { return n == 0 }, "0"), stdoutHas("model duration reached"))})
	add(&Case{Args: run("-max-held", "1000"), Expect: Accept})
	add(&Case{Args: run("-max-held", "1000", "-break-cleanup", "-duration", "24h"), Expect: Budget})
	add(&Case{Name: "-max-held 20000000 -arrival-rate 1e7 (the largest budget, filled: its memory is what was asked)", Args: run("-max-held", "20000000", "-arrival-rate", "1e7"),
		Expect: Budget, MemKB: 4 * gib, Timeout: 120 * time.Second})
	add(&Case{Args: run("-build-workers", "100000", "-run-workers", "100000", "-cleanup-workers", "100000"), Expect: Accept})
	add(&Case{Args: run("-build-workers", "100000", "-run-workers", "100000", "-cleanup-workers", "100000", "-break-cleanup", "-duration", "4h"), Expect: Accept, Exits: []int{0, 1}})
	add(&Case{Args: run("-queue-size", "10000000"), Expect: Accept})
	add(&Case{Args: run("-vms", "10000000", "-cpu-vms", "10000000", "-api-rate", "1e7", "-api-burst", "10000000"), Expect: Accept})
	add(&Case{Name: "-vms 200 -break-cleanup -duration 120h (the issue's wrapped mean)", Args: run("-vms", "200", "-break-cleanup", "-duration", "120h"), Expect: Accept})
	add(&Case{Args: run("-window", "24h", "-sample-every", "1s", "-duration", "48h"), Expect: Accept})
	// Changed with issue 21: a run past year 9999 wrote a series that
	// -analyze refused (RFC 3339 has four-digit years): refused at its start.
	add(&Case{Args: run("-epoch", "9999-12-31T00:00:00Z", "-duration", "48h", "-log-file", "l.log", "-series", "s.csv"), Expect: Reject, Needle: []string{"-epoch"}})
	add(&Case{Args: run("-epoch", "0001-01-01T00:00:00Z"), Expect: Accept})
	add(&Case{Args: run("-seed", "18446744073709551615"), Expect: Accept})
	add(&Case{Args: run("-speed", "1e7", "-duration", "24h"), Expect: Accept})
	add(&Case{Args: run("-max-jobs", "1"), Expect: Accept, Check: stdoutHas("completed                 1")})
	add(&Case{Args: run("-max-jobs", "1099511627776", "-duration", "2h"), Expect: Accept})
	add(&Case{Args: run("-backoff", "-backoff-base", "1ms", "-backoff-cap", "1ms", "-backoff-multiplier", "1000", "-vms", "10", "-break-cleanup", "-reject-time", "1ms", "-clone-time", "0", "-boot-time", "0"),
		Expect: Accept, Exits: []int{0, 1}})
	add(&Case{Args: run("-shed", "-shed-after", "1ms", "-break-cleanup", "-vms", "10", "-duration", "4h"), Expect: Accept})
	// Changed after the fixes: a status line reports a sample, so one finer than
	// -sample-every is refused (it printed 720 lines, not 7,200, silently).
	add(&Case{Name: "-status-every 1s -duration 2h (finer than -sample-every 10s)", Args: []string{"-speed", "max", "-seed", "1", "-status-every", "1s", "-duration", "2h"}, Expect: Reject, Needle: []string{"-status-every", "-sample-every"}})
	add(&Case{Name: "-status-every 10s -sample-every 10s -duration 2h (not quiet: 720 status lines)", Args: []string{"-speed", "max", "-seed", "1", "-status-every", "10s", "-duration", "2h"}, Expect: Accept,
		Check: func(r *Result) []string {
			if n := strings.Count(r.Stderr, "\tstatus\t"); n < 719 {
				return []string{fmt.Sprintf("%d status lines, want 720", n)}
			}
			return nil
		}})
	add(&Case{Args: run("-breaker", "-breaker-min-requests", "10000000", "-break-cleanup", "-duration", "4h"), Expect: Accept})
	add(&Case{Args: run("-api-rate", "1e-6", "-duration", "4h"), Expect: Accept, Exits: []int{0, 1}})
	add(&Case{Args: run("-client-api-rate", "1e-6", "-duration", "4h"), Expect: Accept})
	add(&Case{Args: run("-alert-for", "87600h", "-alert-keep-firing-for", "87600h", "-drained", "87600h", "-cleanup-cutoff", "87600h"), Expect: Accept})
	add(&Case{Args: run("-break-cleanup", "-break-at", "1h"), Expect: Accept})
	add(&Case{Args: []string{"-h"}, Expect: Accept, NoSum: true, Check: func(r *Result) []string {
		if !strings.Contains(r.Stdout+r.Stderr, "-max-held") {
			return []string{"-h does not list the flags"}
		}
		return nil
	}})
	// Changed after the fixes: -parallel has a range, 0 to 1024.
	add(&Case{Name: "-experiment e.yaml -parallel 1000000 (past its range)", Args: []string{"-experiment", "e.yaml", "-parallel", "1000000", "-quiet"}, Setup: expSetup, Expect: Reject, Needle: []string{"-parallel"}})
	add(&Case{Name: "-experiment e.yaml -parallel 1024 (tiny experiment)", Args: []string{"-experiment", "e.yaml", "-parallel", "1024", "-quiet"}, Setup: expSetup, Expect: Accept, NoSum: true,
		Check: stdoutHas("experiment e")})
	// A game day's flags (issue 22): each bad value refused in one line
	// before anything is served or run; a game with no browser ends at its
	// idle timeout.
	const game = "travis-2015-osx"
	gameday := func(needle string, args ...string) {
		add(&Case{Name: "-gameday " + strings.Join(args, " "), Args: append([]string{"-gameday"}, args...), Expect: Reject,
			Needle: []string{needle}, Setup: write("bad.yaml", "name: x\nbogus: 1\n")})
	}
	gameday("-gameday", "nosuch")
	gameday("bad.yaml:2:1", "bad.yaml")
	gameday("-gameday", "missing.yaml")
	gameday("-gameday", "")
	for _, v := range []string{"abc", "127.0.0.1:99999", "127.0.0.1:-1", ":8080", "example.com:8080", "192.0.2.1:8080", ""} {
		gameday("-gameday-addr", game, "-gameday-addr", v)
	}
	add(&Case{Name: "-gameday " + game + " -gameday-addr (a port in use)", ArgsFn: func(string) []string {
		return []string{"-gameday", game, "-gameday-addr", heldPort()}
	}, Expect: Reject, Needle: []string{"-gameday-addr", "address already in use"}})
	for _, v := range []string{"soon", "2015-07-30T00:00:00Z", "-1h", "2015-08-06T06:00:00Z", "200h", ""} {
		gameday("-gameday-start", game, "-gameday-start", v)
	}
	gameday("-gameday-start", game, "-duration", "10h", "-gameday-start", "11h")
	for _, v := range []string{"-1s", "0", "2h", "fast", "NaN"} {
		gameday("-gameday-pace", game, "-gameday-pace", v)
	}
	for _, v := range []string{"-1s", "0", "999ms", "25h", "1000000h", "never"} {
		gameday("-gameday-idle", game, "-gameday-idle", v)
	}
	for _, f := range [][]string{{"-experiment", "travis-2015-what-if"}, {"-analyze", "x.csv"}, {"-scenario", game}, {"-series", "s.csv"},
		{"-report", "r.html"}, {"-log-file", "l.log"}, {"-quiet"}, {"-metrics-addr", "127.0.0.1:0"}, {"-list-scenarios"}, {"-speed", "max"}} {
		gameday(f[0], append([]string{game}, f...)...)
	}
	add(&Case{Args: []string{"-scenario", game, "-gameday-pace", "10s"}, Expect: Reject, Needle: []string{"-gameday-pace", "-gameday"}})
	add(&Case{Name: "-gameday " + game + " -gameday-idle 1s (no browser: the game ends at its idle timeout, with the summary)",
		Args: []string{"-gameday", game, "-gameday-idle", "1s"}, Expect: Accept, Exits: []int{1}, Timeout: 60 * time.Second,
		Check: stderrHas("no browser was heard from for the idle timeout")})

	_ = os.Getpid
	_ = filepath.Join
	return cs
}

// heldPort is a loopback address whose port the harness holds for as long
// as it runs: a port in use.
var heldPort = sync.OnceValue(func() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(err)
	return ln.Addr().String() // never closed: held till the harness exits
})
