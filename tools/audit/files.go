package main

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

const sc0 = "name: x\nduration: 1h\n"

func sc(extra string) string { return sc0 + extra }

func fileCases() []*Case {
	var cs []*Case
	add := group(&cs, 2, "s", 30*time.Second)
	// A scenario file: refused at LINE:COL (lc) or as a file (flag named).
	scen := func(name, content string, expect string, lc bool, extra ...func(*Case)) {
		c := &Case{Name: "scenario: " + name, Args: run("-scenario", "s.yaml"), Setup: write("s.yaml", content), Expect: expect, LineCol: lc,
			SetupD: "s.yaml: " + name}
		if !lc && expect == Reject {
			c.Needle = []string{"s.yaml"}
		}
		for _, f := range extra {
			f(c)
		}
		add(c)
	}
	bad := func(name, content string) { scen(name, content, Reject, true) }
	ok := func(name, content string) { scen(name, content, Accept, false) }
	either := func(name, content string) { scen(name, content, Either, false) }

	// Malformed YAML.
	scen("empty file", "", Reject, false)
	scen("comments only", "# nothing\n# here\n", Reject, false)
	bad("a list at the top", "- a\n- b\n")
	bad("a scalar at the top", "hello\n")
	bad("unclosed double quote", sc("description: \"abc\n"))
	bad("unclosed flow list", sc("description: [a, b\n"))
	bad("bad indentation", "name: x\n  duration: 1h\n")
	bad("tab indentation", sc("cluster:\n\tvms: 10\n"))
	bad("two documents", sc("---\n"+sc0))
	bad("junk after the document end", sc("...\n}}}\n"))
	bad("complex key", sc("? [a, b]\n: 1\n"))
	bad("a key of 100 KB", sc(strings.Repeat("k", 100_000)+": 1\n"))
	// Keys and types.
	bad("unknown top-level key", sc("vmz: 3\n"))
	bad("unknown nested key", sc("cluster:\n  vmz: 3\n"))
	bad("upper-case key", sc("cluster:\n  VMS: 3\n"))
	bad("duplicate top-level key", sc("duration: 2h\n"))
	bad("duplicate nested key", sc("cluster:\n  vms: 3\n  vms: 4\n"))
	bad("vms: abc", sc("cluster:\n  vms: abc\n"))
	bad("vms: 1.5", sc("cluster:\n  vms: 1.5\n"))
	bad("vms: 0", sc("cluster:\n  vms: 0\n"))
	bad("vms: -5", sc("cluster:\n  vms: -5\n"))
	bad("vms: 1e20", sc("cluster:\n  vms: 1e20\n"))
	bad("vms: true", sc("cluster:\n  vms: true\n"))
	bad("vms: ~ (null)", sc("cluster:\n  vms: ~\n"))
	bad("vms: (empty)", sc("cluster:\n  vms:\n"))
	bad("vms: .inf", sc("cluster:\n  vms: .inf\n"))
	bad("vms: [1, 2]", sc("cluster:\n  vms: [1, 2]\n"))
	either("vms: \"200\" (a quoted number)", sc("cluster:\n  vms: \"200\"\n"))
	either("vms: 0x10", sc("cluster:\n  vms: 0x10\n"))
	either("vms: 1_000", sc("cluster:\n  vms: 1_000\n"))
	bad("arrival_rate: .nan", sc("workload:\n  arrival_rate: .nan\n"))
	bad("arrival_rate: 1e8", sc("workload:\n  arrival_rate: 1e8\n"))
	bad("duration: 5 (no unit)", "name: x\nduration: 5\n")
	bad("duration: abc", "name: x\nduration: abc\n")
	bad("duration: 87601h", "name: x\nduration: 87601h\n")
	scen("duration missing", "name: x\n", Reject, false)
	scen("name missing", "duration: 1h\n", Either, false)
	bad("speed: fast", sc("speed: fast\n"))
	ok("speed: max", sc("speed: max\n"))
	bad("seed: -1", sc("seed: -1\n"))
	bad("seed: 1.5", sc("seed: 1.5\n"))
	bad("seed: 18446744073709551616", sc("seed: 18446744073709551616\n"))
	bad("report_stale: yes (YAML 1.1 boolean)", sc("janitor:\n  report_stale: yes\n"))
	bad("report_stale: 1", sc("janitor:\n  report_stale: 1\n"))
	bad("sample_every: 1ns", sc("reporting:\n  sample_every: 1ns\n"))
	bad("max_held: 999", sc("max_held: 999\n"))
	bad("epoch: 2015-13-01", sc("epoch: 2015-13-01T00:00:00Z\n"))
	bad("epoch: year 10000", sc("epoch: 10000-01-01T00:00:00Z\n"))
	// Tags, anchors, directives.
	bad("!!str tag on an integer", sc("cluster:\n  vms: !!str 10\n"))
	bad("a custom tag", sc("cluster:\n  vms: !foo 10\n"))
	bad("!!binary", sc("description: !!binary aGVsbG8=\n"))
	bomb := "a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\nh: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]\ni: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]\n"
	bad("billion laughs (aliases, 9^9) under unknown keys", sc(bomb))
	bad("billion laughs as description", sc(strings.ReplaceAll(bomb, "i: &i", "description: &i")))
	either("an alias of a valid value", sc("cluster:\n  vms: &v 10\n  cpu_vms: *v\n"))
	either("a merge key <<", sc("cluster:\n  <<: {vms: 10}\n"))
	either("%YAML 1.1 directive", "%YAML 1.1\n---\n"+sc0)
	// Deep nesting.
	deep := 100_000
	bad("100,000 nested flow lists as a value", sc("description: "+strings.Repeat("[", deep)+strings.Repeat("]", deep)+"\n"))
	bad("33 nested flow lists", sc("description: "+strings.Repeat("[", 33)+strings.Repeat("]", 33)+"\n"))
	bad("100,000 nested flow mappings", sc("description: "+strings.Repeat("{a: ", deep)+"1"+strings.Repeat("}", deep)+"\n"))
	bad("100,000 nested block sequences on one line", sc("description: \n  "+strings.Repeat("- ", deep)+"x\n"))
	var ind strings.Builder
	for i := range 1000 {
		ind.WriteString(strings.Repeat(" ", i) + "a:\n")
	}
	bad("1,000 nested block mappings (indentation)", sc("description:\n"+indent(ind.String(), "  ")))
	bad("nesting after a quote inside a plain value", sc("description: it's\ncluster: "+strings.Repeat("[", deep)+strings.Repeat("]", deep)+"\n"))
	bad("nesting after a double quote inside a plain value", sc("description: say \"hi\ncluster: "+strings.Repeat("[", deep)+strings.Repeat("]", deep)+"\n"))
	bad("nesting after a quote inside a flow", sc("description: [a'b, "+strings.Repeat("[", deep)+strings.Repeat("]", deep)+"]\n"))
	either("brackets inside a quoted string (not nesting)", sc("description: \""+strings.Repeat("[", deep)+"\"\n"))
	// Sizes and kinds of file.
	scen("2 MiB of comments", sc(strings.Repeat("# padding padding padding padding padding padding padding padding\n", 2<<20/66+1)), Reject, false)
	one := sc("description: padded to 1 MiB\n")
	scen("exactly 1 MiB, valid", one+strings.Repeat("#", (1<<20)-len(one)-1)+"\n", Accept, false)
	scen("1 MiB + 1 byte", one+strings.Repeat("#", (1<<20)-len(one))+"\n", Reject, false)
	file := func(name, path string, setup func(string) error, setupD string) {
		add(&Case{Name: "scenario: " + name, Args: run("-scenario", path), Setup: setup, SetupD: setupD, Expect: Reject, Needle: []string{"-scenario"}, Timeout: 10 * time.Second})
	}
	file("/dev/zero", "/dev/zero", nil, "")
	file("/dev/urandom", "/dev/urandom", nil, "")
	file("a fifo with no writer", "ff.yaml", fifo("ff.yaml"), "mkfifo ff.yaml")
	file("a directory", "d.yaml", mkdir("d.yaml"), "mkdir d.yaml")
	file("a missing file", "missing.yaml", nil, "")
	file("a symlink to /dev/zero", "z.yaml", symlink("/dev/zero", "z.yaml"), "ln -s /dev/zero z.yaml")
	add(&Case{Name: "scenario: a file named like a built-in, without .yaml (./mine)", Args: run("-scenario", "mine"), Setup: write("mine", sc0), Expect: Reject, Needle: []string{"mine"}})
	garbage := make([]byte, 4096)
	rand.Read(garbage)
	scen("4 KB of random bytes", string(garbage), Reject, false)
	scen("NUL bytes", sc("description: a\x00b\n"), Reject, false)
	scen("invalid UTF-8", sc("description: \xff\xfe\xfd\n"), Reject, false)
	scen("UTF-16 with a BOM", utf16(sc0), Reject, false)
	either("UTF-8 BOM", "\xef\xbb\xbf"+sc0)
	ok("CRLF line ends", strings.ReplaceAll(sc("cluster:\n  vms: 10\n"), "\n", "\r\n"))
	ok("a 900 KB description", sc("description: "+strings.Repeat("x", 900_000)+"\n"))
	// Many entries, within 1 MiB.
	var tl strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&tl, "  - {at: %ds, action: restart_janitor}\n", i)
	}
	scen("20,000 timeline entries", "name: x\nduration: 6h\ntimeline:\n"+tl.String(), Accept, false, func(c *Case) { c.Timeout = 60 * time.Second })
	var ck strings.Builder
	for range 9000 {
		ck.WriteString("  - {name: c, calibration: true, metric: vms_true, stat: max, max: 1e9}\n")
	}
	scen("9,000 checks", sc("checks:\n"+ck.String()), Accept, false, func(c *Case) { c.Timeout = 60 * time.Second })
	var bu strings.Builder
	for i := range 15000 {
		fmt.Fprintf(&bu, "      - {at: %ds, for: 1s, factor: 2}\n", i)
	}
	var bu1000 strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&bu1000, "      - {at: %ds, for: 1s, factor: 2}\n", i)
	}
	// Changed after the fixes: at most 1,000 bursts.
	scen("15,000 traffic bursts (past the limit of 1,000)", "name: x\nduration: 6h\nworkload:\n  traffic:\n    bursts:\n"+bu.String(), Reject, false)
	scen("1,000 traffic bursts", "name: x\nduration: 6h\nworkload:\n  traffic:\n    bursts:\n"+bu1000.String(), Accept, false, func(c *Case) { c.Timeout = 60 * time.Second })
	var qs strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&qs, "    - {name: q%d, share: 1}\n", i)
	}
	scen("20,000 queues", sc("workload:\n  queues:\n"+qs.String()), Accept, false, func(c *Case) { c.Timeout = 60 * time.Second })
	// Traffic.
	ok("traffic without weekend", sc("workload:\n  traffic:\n    peak_hour: 17\n    night: 0.5\n"))
	bad("peak_hour: 24", sc("workload:\n  traffic:\n    peak_hour: 24\n"))
	bad("peak_hour: -1", sc("workload:\n  traffic:\n    peak_hour: -1\n"))
	ok("peak_hour: 23.99", sc("workload:\n  traffic:\n    peak_hour: 23.99\n"))
	bad("night: 0", sc("workload:\n  traffic:\n    night: 0\n"))
	bad("night: 1.5", sc("workload:\n  traffic:\n    night: 1.5\n"))
	bad("weekend: 0", sc("workload:\n  traffic:\n    weekend: 0\n"))
	bad("a burst with factor -1", sc("workload:\n  traffic:\n    bursts:\n      - {at: 1m, for: 1m, factor: -1}\n"))
	// Timeline.
	bad("timeline out of order", sc("timeline:\n  - {at: 30m, action: restart_janitor}\n  - {at: 10m, action: restart_janitor}\n"))
	bad("timeline entry after the end", sc("timeline:\n  - {at: 2h, action: restart_janitor}\n"))
	bad("timeline time before the epoch", sc("epoch: 2015-07-31T00:00:00Z\ntimeline:\n  - {at: 2015-07-30T00:00:00Z, action: restart_janitor}\n"))
	bad("timeline calendar time without an epoch", sc("timeline:\n  - {at: 2015-07-30T00:00:00Z, action: restart_janitor}\n"))
	bad("action without its argument (pause_builds)", sc("timeline:\n  - {at: 10m, action: pause_builds}\n"))
	bad("action without its argument (aggressive_cleanup)", sc("timeline:\n  - {at: 10m, action: aggressive_cleanup}\n"))
	bad("action without an at", sc("timeline:\n  - {action: restart_janitor}\n"))
	bad("unknown action", sc("timeline:\n  - {at: 10m, action: reboot_everything}\n"))
	bad("an argument the action does not take", sc("timeline:\n  - {at: 10m, action: restart_janitor, rate: 5}\n"))
	bad("unknown queue", sc("timeline:\n  - {at: 10m, action: pause_builds, queue: nope}\n"))
	bad("crash_workers fraction 2", sc("timeline:\n  - {at: 10m, action: crash_workers, fraction: 2}\n"))
	// Changed after the fixes: in a one-hour scenario an action 61 min after
	// detection could never happen: refused, saying so.
	scen("at: detection + 61m in a 1 h run", sc("timeline:\n  - {at: 10m, action: rotate_cleanup_password}\n  - {at: detection + 61m, action: fix_cleanup_credentials}\n  - {at: detection + 61m, action: restart_janitor}\n"), Reject, true)
	either("at: detection+61m (no spaces)", sc("timeline:\n  - {at: 10m, action: rotate_cleanup_password}\n  - {at: detection+61m, action: fix_cleanup_credentials}\n"))
	either("at: detection", sc("timeline:\n  - {at: 10m, action: rotate_cleanup_password}\n  - {at: detection, action: fix_cleanup_credentials}\n"))
	bad("at: detection - 5m", sc("timeline:\n  - {at: detection - 5m, action: restart_janitor}\n"))
	bad("at: detection + -5m", sc("timeline:\n  - {at: detection + -5m, action: restart_janitor}\n"))
	bad("at: detection + abc", sc("timeline:\n  - {at: detection + abc, action: restart_janitor}\n"))
	bad("at: detection + 87601h", sc("timeline:\n  - {at: detection + 87601h, action: restart_janitor}\n"))
	bad("at: Detection + 1m", sc("timeline:\n  - {at: Detection + 1m, action: restart_janitor}\n"))
	bad("at: detection + 61 (no unit)", sc("timeline:\n  - {at: detection + 61, action: restart_janitor}\n"))
	bad("at: detections + 1m", sc("timeline:\n  - {at: detections + 1m, action: restart_janitor}\n"))
	// Checks.
	bad("check with both at and from", sc("checks:\n  - {name: c, calibration: true, metric: vms_true, stat: at, at: 10m, from: 5m, max: 10}\n"))
	bad("check with no bounds", sc("checks:\n  - {name: c, calibration: true, metric: vms_true, stat: max}\n"))
	bad("check with neither causes nor calibration", sc("checks:\n  - {name: c, metric: vms_true, stat: max, max: 10}\n"))
	bad("check with both causes and calibration", sc("timeline:\n  - {at: 10m, action: rotate_cleanup_password}\nchecks:\n  - {name: c, calibration: true, causes: [janitor_broken], metric: vms_true, stat: max, max: 10}\n"))
	bad("unknown cause", sc("checks:\n  - {name: c, causes: [gremlins], metric: vms_true, stat: max, max: 10}\n"))
	bad("a cause the scenario does not have", sc("checks:\n  - {name: c, causes: [janitor_broken], metric: vms_true, stat: max, max: 10}\n"))
	bad("unknown metric", sc("checks:\n  - {name: c, calibration: true, metric: vibes, stat: max, max: 10}\n"))
	bad("unknown stat", sc("checks:\n  - {name: c, calibration: true, metric: vms_true, stat: mode, max: 10}\n"))
	bad("unknown alert in detected", sc("timeline:\n  - {at: 10m, action: rotate_cleanup_password}\nchecks:\n  - {name: c, causes: [janitor_broken], detected: {not_before: 0s, by: 1h, alert: pager}}\n"))

	// -analyze inputs.
	an := func(name string, args []string, setup func(string) error, setupD string, timeout time.Duration) {
		add(&Case{Name: "-analyze: " + name, Args: args, Setup: setup, SetupD: setupD, Expect: Reject, Needle: []string{"-analyze"}, Timeout: timeout})
	}
	an("/dev/zero", []string{"-analyze", "/dev/zero"}, nil, "", 20*time.Second)
	an("a fifo with no writer", []string{"-analyze", "ff.csv"}, fifo("ff.csv"), "mkfifo ff.csv", 10*time.Second)
	an("a 1 GiB sparse file (no newline)", []string{"-analyze", "big.csv"}, sparse("big.csv", 1<<30), "truncate -s 1G big.csv", 30*time.Second)
	an("an empty file", []string{"-analyze", "e.csv"}, write("e.csv", ""), "", 10*time.Second)
	an("a directory", []string{"-analyze", "d.csv"}, mkdir("d.csv"), "mkdir d.csv", 10*time.Second)
	an("a series whose second row is garbage", []string{"-analyze", "g.csv"}, steps(runBin("-speed", "max", "-quiet", "-duration", "10m", "-series", "g.csv"), appendTo("g.csv", "garbage,,,\n")), "vmstorm -speed max -quiet -duration 10m -series g.csv; echo garbage,,, >> g.csv", 10*time.Second)

	// Experiment files.
	exp := func(name, content string, expect string, lc bool, extra ...func(*Case)) {
		c := &Case{Name: "experiment: " + name, Args: []string{"-experiment", "x.yaml", "-quiet"}, Setup: steps(write("base.yaml", baseYAML), write("x.yaml", content)),
			Expect: expect, LineCol: lc, NoSum: true, SetupD: "base.yaml: " + strings.ReplaceAll(baseYAML, "\n", "⏎") + "; x.yaml: " + name}
		if !lc && expect == Reject {
			c.Needle = []string{"-experiment"}
		}
		for _, f := range extra {
			f(c)
		}
		add(c)
	}
	xbad := func(name, content string) { exp(name, content, Reject, true) }
	const x0 = "name: e\nbase: base.yaml\nreplicas: 2\n"
	v := "variants:\n  - name: a\n"
	xbad("name missing", "base: base.yaml\nreplicas: 2\n"+v)
	xbad("base missing", "name: e\nreplicas: 2\n"+v)
	xbad("base: no such built-in", "name: e\nbase: nosuch\nreplicas: 2\n"+v)
	xbad("base file missing", "name: e\nbase: missing.yaml\nreplicas: 2\n"+v)
	xbad("base is a directory", "name: e\nbase: /tmp/\nreplicas: 2\n"+v)
	xbad("base is /dev/zero", "name: e\nbase: /dev/zero\nreplicas: 2\n"+v)
	xbad("base is the experiment itself", "name: e\nbase: x.yaml\nreplicas: 2\n"+v)
	xbad("base is a bad scenario (vms: 1.5)", "name: e\nbase: bad.yaml\nreplicas: 2\n"+v)
	cs[len(cs)-1].Setup = steps(cs[len(cs)-1].Setup, write("bad.yaml", sc("cluster:\n  vms: 1.5\n")))
	xbad("replicas: 0", "name: e\nbase: base.yaml\nreplicas: 0\n"+v)
	xbad("replicas: 100001", "name: e\nbase: base.yaml\nreplicas: 100001\n"+v)
	xbad("replicas: 1.5", "name: e\nbase: base.yaml\nreplicas: 1.5\n"+v)
	xbad("replicas missing", "name: e\nbase: base.yaml\n"+v)
	xbad("variants: []", x0+"variants: []\n")
	xbad("variants missing", x0)
	xbad("two variants of one name", x0+"variants:\n  - name: a\n  - name: a\n")
	xbad("a variant without a name", x0+"variants:\n  - set: {cluster: {vms: 10}}\n")
	xbad("set: an unknown key", x0+"variants:\n  - name: a\n    set: {cluster: {vmz: 10}}\n")
	xbad("set: timeline", x0+"variants:\n  - name: a\n    set: {timeline: []}\n")
	xbad("set: workload.queues", x0+"variants:\n  - name: a\n    set: {workload: {queues: []}}\n")
	xbad("set: vms 0", x0+"variants:\n  - name: a\n    set: {cluster: {vms: 0}}\n")
	xbad("set: name", x0+"variants:\n  - name: a\n    set: {name: z}\n")
	xbad("drop: an unknown action", x0+"variants:\n  - name: a\n    drop: [reboot]\n")
	xbad("add: at abc", x0+"variants:\n  - name: a\n    add:\n      - {at: abc, action: restart_janitor}\n")
	xbad("add: at detection - 1m", x0+"variants:\n  - name: a\n    add:\n      - {at: detection - 1m, action: restart_janitor}\n")
	exp("add: at detection + 61m (valid)", x0+"timeline:\n  - {at: 10m, action: rotate_cleanup_password}\nvariants:\n  - name: a\n  - name: b\n    add:\n      - {at: detection + 61m, action: fix_cleanup_credentials}\n      - {at: detection + 61m, action: restart_janitor}\n", Accept, false,
		func(c *Case) { c.Check = stdoutHas("experiment e") })
	xbad("measures: unknown", x0+"measures: [vibes]\n"+v)
	xbad("measures: twice", x0+"measures: [wait_max, wait_max]\n"+v)
	xbad("recovery without within", x0+"recovery:\n  removed_by: [restart_janitor]\n"+v)
	xbad("recovery within: abc", x0+"recovery:\n  removed_by: [restart_janitor]\n  within: abc\n"+v)
	xbad("recovery removed_by: unknown action", x0+"recovery:\n  removed_by: [reboot]\n  within: 1h\n"+v)
	xbad("sweep of an unknown variant", x0+v+"sweep:\n  variant: zz\n  x: {key: workload.arrival_rate, values: [1, 2]}\n")
	xbad("sweep of an unknown key", x0+v+"sweep:\n  variant: a\n  x: {key: workload.vibes, values: [1, 2]}\n")
	xbad("sweep values of the wrong type", x0+v+"sweep:\n  variant: a\n  x: {key: cluster.vms, values: [a, b]}\n")
	xbad("sweep of 420 points", x0+v+"sweep:\n  variant: a\n  x: {key: cluster.vms, values: ["+seq(21)+"]}\n  y: {key: workload.arrival_rate, values: ["+seq(20)+"]}\n")
	xbad("sweep trigger_removed: a bad time", x0+"recovery:\n  removed_by: [restart_janitor]\n  within: 1h\n"+v+"sweep:\n  variant: a\n  x: {key: recovery.trigger_removed, values: [soon]}\n")
	xbad("unknown top-level key", x0+v+"colour: blue\n")
	xbad("100,000 nested flow lists", x0+v+"description: "+strings.Repeat("[", deep)+strings.Repeat("]", deep)+"\n")
	exp("2 MiB experiment file", x0+v+strings.Repeat("# padding padding padding padding padding padding padding padding\n", 2<<20/66+1), Reject, false)
	xfile := func(name, path string, setup func(string) error, setupD string) {
		add(&Case{Name: "experiment: " + name, Args: []string{"-experiment", path, "-quiet"}, Setup: setup, SetupD: setupD, Expect: Reject, Needle: []string{"-experiment"}, Timeout: 10 * time.Second})
	}
	xfile("/dev/zero", "/dev/zero", nil, "")
	xfile("a fifo with no writer", "ff.yaml", fifo("ff.yaml"), "mkfifo ff.yaml")
	xfile("a directory", "d.yaml", mkdir("d.yaml"), "mkdir d.yaml")
	xfile("a missing file", "missing.yaml", nil, "")
	xbad("base is a fifo with no writer", "name: e\nbase: ff.yaml\nreplicas: 2\n"+v)
	cs[len(cs)-1].Setup = steps(cs[len(cs)-1].Setup, fifo("ff.yaml"))
	cs[len(cs)-1].Timeout = 10 * time.Second
	// Valid by each rule, but the whole: 100000 replicas x 400 sweep points.
	exp("replicas: 100000 and a sweep of 400 points (40 M tasks; each limit respected)", "name: e\nbase: base.yaml\nreplicas: 100000\n"+v+
		"sweep:\n  variant: a\n  x: {key: cluster.vms, values: ["+seq(20)+"]}\n  y: {key: workload.arrival_rate, values: ["+seq(20)+"]}\n", Either, false,
		func(c *Case) { c.Timeout = 40 * time.Second })
	// Changed after the fixes: at most 100,000 runs in all (2 variants x 50000).
	exp("replicas: 50000 x 2 variants of a 10-minute base (long as asked; memory must stay bounded)", "name: e\nbase: small.yaml\nreplicas: 50000\n"+v+"  - name: b\n", LongRun, false,
		func(c *Case) {
			c.Timeout = 30 * time.Second
			c.MemKB = 1 * gib
			c.Exits = []int{143}
			c.Setup = steps(c.Setup, write("small.yaml", "name: s\nduration: 10m\ncluster:\n  vms: 20\n"))
			c.SetupD += "; small.yaml: name: s⏎duration: 10m⏎cluster:⏎  vms: 20"
			c.Check = stdoutHas("experiment e")
		})
	exp("a base at its memory budget (arrival_rate 1e7), 2 replicas on 2 cores", "name: e\nbase: heavy.yaml\nreplicas: 2\n"+v, Accept, false,
		func(c *Case) {
			c.Setup = steps(c.Setup, write("heavy.yaml", "name: h\nduration: 1h\nworkload:\n  arrival_rate: 1e7\n"))
			c.SetupD += "; heavy.yaml: name: h⏎duration: 1h⏎workload:⏎  arrival_rate: 1e7"
			c.Exits = []int{0, 1}
		})
	exp("the same base, 8 replicas, -parallel 8 (the budget is per replica)", "name: e\nbase: heavy.yaml\nreplicas: 8\n"+v, Accept, false,
		func(c *Case) {
			c.Args = []string{"-experiment", "x.yaml", "-quiet", "-parallel", "8"}
			c.Setup = steps(c.Setup, write("heavy.yaml", "name: h\nduration: 1h\nworkload:\n  arrival_rate: 1e7\n"))
			c.SetupD += "; heavy.yaml: name: h⏎duration: 1h⏎workload:⏎  arrival_rate: 1e7"
			c.Exits = []int{0, 1}
		})

	// -merge inputs.
	shards := steps(expSetup, runBin("-experiment", "e.yaml", "-shard", "0/2", "-results", "r0.jsonl", "-quiet"), runBin("-experiment", "e.yaml", "-shard", "1/2", "-results", "r1.jsonl", "-quiet"))
	shardsD := "base.yaml, e.yaml (2 variants x 2 replicas); vmstorm -experiment e.yaml -shard 0/2 -results r0.jsonl; ... -shard 1/2 -results r1.jsonl"
	merge := func(name string, args []string, setup func(string) error, setupD string, expect string, timeout time.Duration) {
		add(&Case{Name: "-merge: " + name, Args: append([]string{"-experiment", "e.yaml", "-quiet"}, args...), Setup: setup, SetupD: setupD, Expect: expect,
			Needle: []string{"-merge"}, NoSum: true, Timeout: timeout, Check: stdoutHas("experiment e")})
	}
	merge("a file that is not results", []string{"-merge", "n.jsonl"}, steps(expSetup, write("n.jsonl", "{\"hello\": 1}\n")), "n.jsonl: {\"hello\": 1}", Reject, 10*time.Second)
	merge("an empty file", []string{"-merge", "n.jsonl"}, steps(expSetup, write("n.jsonl", "")), "n.jsonl empty", Reject, 10*time.Second)
	merge("/dev/zero", []string{"-merge", "/dev/zero"}, expSetup, "", Reject, 10*time.Second)
	merge("a fifo with no writer", []string{"-merge", "ff.jsonl"}, steps(expSetup, fifo("ff.jsonl")), "mkfifo ff.jsonl", Reject, 10*time.Second)
	merge("a 100 MiB sparse file", []string{"-merge", "sp.jsonl"}, steps(expSetup, sparse("sp.jsonl", 100<<20)), "truncate -s 100M sp.jsonl", Reject, 10*time.Second)
	merge("results of another experiment", []string{"-merge", "r0.jsonl", "-merge", "r1.jsonl"}, steps(shards, write("e.yaml", strings.Replace(expYAML, "name: e", "name: other", 1))), shardsD+"; then e.yaml renamed 'other'", Reject, 10*time.Second)
	// Changed after the fixes: one path given twice is read once (the merge is
	// right); a copy under another name is refused ("given twice").
	merge("one shard given twice (one path, read once)", []string{"-merge", "r0.jsonl", "-merge", "r0.jsonl", "-merge", "r1.jsonl"}, shards, shardsD, Accept, 10*time.Second)
	merge("one shard of two", []string{"-merge", "r0.jsonl"}, shards, shardsD, Reject, 10*time.Second)
	merge("a glob that matches nothing", []string{"-merge", "none-*.jsonl"}, expSetup, "", Reject, 10*time.Second)
	merge("results of an edited file", []string{"-merge", "r*.jsonl"}, steps(shards, write("e.yaml", strings.Replace(expYAML, "replicas: 2", "replicas: 2\ndescription: edited", 1))), shardsD+"; then e.yaml edited", Reject, 10*time.Second)
	merge("the two shards (valid)", []string{"-merge", "r*.jsonl"}, shards, shardsD, Accept, 20*time.Second)
	_ = os.Getpid
	_ = filepath.Join
	return cs
}

func seq(n int) string {
	var s []string
	for i := 1; i <= n; i++ {
		s = append(s, fmt.Sprint(i))
	}
	return strings.Join(s, ", ")
}

func indent(s, pre string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(s, "\n") {
		if l != "" {
			b.WriteString(pre + l)
		}
	}
	return b.String()
}

func utf16(s string) string {
	b := []byte{0xff, 0xfe}
	for _, r := range s {
		b = append(b, byte(r), 0)
	}
	return string(b)
}

func appendTo(name, s string) func(string) error {
	return func(d string) error {
		f, err := os.OpenFile(filepath.Join(d, name), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = f.WriteString(s)
		return err
	}
}
