package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// listener holds a port for the "metrics port in use" case.
var listener net.Listener

func outputCases() []*Case {
	var cs []*Case
	add := group(&cs, 3, "o", 60*time.Second)
	const my = "name: my\nduration: 1h\ncluster:\n  vms: 100\n"
	refuse := func(name string, args []string, setup func(string) error, setupD string, needle ...string) {
		add(&Case{Name: name, Args: args, Setup: setup, SetupD: setupD, Expect: Reject, Needle: needle})
	}
	refuse("-report in a missing directory", run("-report", "/nonexistent/dir/x.html"), nil, "", "-report")
	refuse("-report in /proc", run("-report", "/proc/F.html"), nil, "", "-report")
	refuse("-report in /sys", run("-report", "/sys/F.html"), nil, "", "-report")
	refuse("-report at a directory named x.html", run("-report", "x.html"), mkdir("x.html"), "mkdir x.html", "-report")
	refuse("-report under a regular file", run("-report", "f/x.html"), write("f", "keep\n"), "echo keep > f", "-report")
	refuse("-log-file at a fifo with no reader", run("-log-file", "ff.log"), fifo("ff.log"), "mkfifo ff.log", "-log-file")
	refuse("-log-file with a 300-character name", run("-log-file", strings.Repeat("l", 300)+".log"), nil, "", "-log-file")
	refuse("-results in a missing directory", []string{"-experiment", "e.yaml", "-results", "/nonexistent/dir/r.jsonl", "-quiet"}, expSetup, "base.yaml, e.yaml", "-results")
	refuse("-series in a missing directory", run("-series", "/nonexistent/dir/s.csv"), nil, "", "-series")

	// Write errors: one line, exit 1, and the summary (or the table).
	add(&Case{Name: "-log-file /dev/full", Args: run("-log-file", "/dev/full"), Expect: Accept, Exits: []int{1}, Check: stderrOneLine("log")})
	add(&Case{Name: "-series full.csv (a symlink to /dev/full)", Args: run("-series", "full.csv"), Setup: symlink("/dev/full", "full.csv"), SetupD: "ln -s /dev/full full.csv",
		Expect: Accept, Exits: []int{1}, Check: stderrOneLine("-series")})
	add(&Case{Name: "-results full.jsonl (a symlink to /dev/full): one line, exit 1, and the table (README: the summary, if any, is still printed)",
		Args: []string{"-experiment", "e.yaml", "-results", "full.jsonl", "-quiet"}, Setup: steps(expSetup, symlink("/dev/full", "full.jsonl")), SetupD: "base.yaml, e.yaml; ln -s /dev/full full.jsonl",
		Expect: Accept, Exits: []int{1}, NoSum: true, Check: checks(stderrOneLine("-results"), stdoutHas("experiment e"))})
	add(&Case{Name: "-report full.html (a symlink to /dev/full): the report replaces the link", Args: run("-report", "full.html"), Setup: symlink("/dev/full", "full.html"), SetupD: "ln -s /dev/full full.html",
		Expect: Accept, Check: fileHas("full.html", "<html")})

	// Two outputs, or an output and an input, that are one file.
	refuse("-log-file a.csv -series a.csv", run("-log-file", "a.csv", "-series", "a.csv"), nil, "", "same file")
	refuse("-log-file b.html -report b.html", run("-log-file", "b.html", "-report", "b.html"), nil, "", "same file")
	refuse("-log-file s.csv -series lnk/s.csv (lnk a symlink to .)", run("-log-file", "s.csv", "-series", "lnk/s.csv"), symlink(".", "lnk"), "ln -s . lnk", "same file")
	refuse("-log-file x.html -report sub/../x.html", run("-log-file", "x.html", "-report", "sub/../x.html"), mkdir("sub"), "mkdir sub", "same file")
	refuse("-scenario my.yaml -series alias.csv (a hard link of my.yaml)", run("-scenario", "my.yaml", "-series", "alias.csv"), steps(write("my.yaml", my), hardlink("my.yaml", "alias.csv")), "my.yaml; ln my.yaml alias.csv", "same file")
	refuse("-scenario my.yaml -log-file my.yaml", run("-scenario", "my.yaml", "-log-file", "my.yaml"), write("my.yaml", my), "my.yaml: a valid scenario", "same file")
	refuse("-scenario my.yaml -log-file lnk.log (a symlink to my.yaml)", run("-scenario", "my.yaml", "-log-file", "lnk.log"), steps(write("my.yaml", my), symlink("my.yaml", "lnk.log")), "my.yaml; ln -s my.yaml lnk.log", "same file")
	refuse("-scenario my.yaml -report r.html (r.html a hard link of my.yaml)", run("-scenario", "my.yaml", "-report", "r.html"), steps(write("my.yaml", my), hardlink("my.yaml", "r.html")), "my.yaml; ln my.yaml r.html", "same file")
	refuse("-experiment e.yaml -results e.yaml", []string{"-experiment", "e.yaml", "-results", "e.yaml", "-quiet"}, expSetup, "base.yaml, e.yaml", "same file")
	add(&Case{Name: "-experiment e.yaml -results base.yaml (the experiment's base scenario)", Args: []string{"-experiment", "e.yaml", "-results", "base.yaml", "-quiet"},
		Setup: expSetup, SetupD: "base.yaml, e.yaml (base: base.yaml)", Expect: Reject, Needle: []string{"base.yaml"},
		Note: "the base scenario that e.yaml reads is an input too: README 'no two outputs (or an output and an input) may be the same file'; base.yaml is overwritten with JSON results"})
	add(&Case{Name: "-log-file d.log (a dangling symlink to t.csv) -series t.csv", Args: run("-log-file", "d.log", "-series", "t.csv"), Setup: symlink("t.csv", "d.log"), SetupD: "ln -s t.csv d.log  (t.csv does not exist yet)",
		Expect: Reject, Needle: []string{"same file"},
		Note: "both outputs write t.csv: the paths check resolves the directory's links but not a dangling link itself, so the JSON log and the CSV are interleaved in one file"})
	add(&Case{Name: "-log-file ok.log (existing) -series dang.csv (a symlink into a missing directory)", Args: run("-log-file", "ok.log", "-series", "dang.csv"),
		Setup: steps(write("ok.log", "precious log\n"), symlink("/nonexistent/dir/x.csv", "dang.csv")), SetupD: "echo 'precious log' > ok.log; ln -s /nonexistent/dir/x.csv dang.csv",
		Expect: Reject, Needle: []string{"-series"}, Note: "refused (exit 2) only when the file is created, after -log-file has been truncated: a refused run must leave every file as it was"})
	add(&Case{Name: "-experiment e.yaml -merge 's*.html' -report s0.html (a results file named .html)", Args: []string{"-experiment", "e.yaml", "-merge", "s*.html", "-report", "s0.html", "-quiet"},
		Setup:  steps(expSetup, runBin("-experiment", "e.yaml", "-shard", "0/2", "-results", "s0.html", "-quiet"), runBin("-experiment", "e.yaml", "-shard", "1/2", "-results", "s1.html", "-quiet")),
		SetupD: "shards' -results written to s0.html and s1.html", Expect: Reject, Needle: []string{"same file"}})

	// The metrics port in use: nothing created, nothing truncated.
	add(&Case{Name: "metrics port in use, with an existing -log-file and a new -series", ArgsFn: func(string) []string {
		if listener == nil {
			listener, _ = net.Listen("tcp", "127.0.0.1:0")
		}
		return run("-metrics-addr", listener.Addr().String(), "-log-file", "keep.log", "-series", "new.csv")
	}, Setup: write("keep.log", "precious log\n"), SetupD: "a listener on the port; echo 'precious log' > keep.log", Expect: Reject, Needle: []string{"-metrics-addr"}})
	// A refused run leaves an existing output as it was.
	add(&Case{Name: "existing -log-file, bad scenario file", Args: run("-log-file", "keep.log", "-scenario", "bad.yaml"),
		Setup: steps(write("keep.log", "precious log\n"), write("bad.yaml", sc("vmz: 1\n"))), SetupD: "echo 'precious log' > keep.log; bad.yaml with an unknown key", Expect: Reject, LineCol: true})
	add(&Case{Name: "existing -results, bad -shard", Args: []string{"-experiment", "e.yaml", "-results", "keep.jsonl", "-shard", "5/2", "-quiet"},
		Setup: steps(expSetup, write("keep.jsonl", "precious\n")), SetupD: "keep.jsonl exists", Expect: Reject, Needle: []string{"-shard"}})
	add(&Case{Name: "existing -report, bad flag value", Args: run("-report", "keep.html", "-vms", "0"),
		Setup: write("keep.html", "<html>precious</html>\n"), SetupD: "keep.html exists", Expect: Reject, Needle: []string{"-vms"}})

	// Outputs that are fine.
	add(&Case{Name: "-report x.html with a stale temporary and a user's look-alike", Args: run("-report", "x.html"),
		Setup: steps(write(".x.html.tmp-123", ""), write(".x.html.tmp-notes", "mine\n")), SetupD: "touch .x.html.tmp-123; echo mine > .x.html.tmp-notes",
		Expect: Accept, Check: func(r *Result) []string {
			var p []string
			if _, err := os.Stat(filepath.Join(r.Dir, ".x.html.tmp-123")); err == nil {
				p = append(p, "the stale temporary is still there")
			}
			if _, err := os.Stat(filepath.Join(r.Dir, ".x.html.tmp-notes")); err != nil {
				p = append(p, "the user's .x.html.tmp-notes was removed")
			}
			return append(p, fileHas("x.html", "<html")(r)...)
		}})
	add(&Case{Name: "-log-file over an existing file (overwritten, as asked)", Args: run("-log-file", "old.log"), Setup: write("old.log", "old\n"), Expect: Accept, Check: logComplete("old.log")})
	add(&Case{Name: "-log-file /dev/null -series s.csv -report r.png", Args: run("-log-file", "/dev/null", "-series", "s.csv", "-report", "r.png"), Expect: Accept,
		Check: checks(csvComplete("s.csv"), func(r *Result) []string {
			if b, _ := os.ReadFile(filepath.Join(r.Dir, "r.png")); len(b) < 8 || string(b[1:4]) != "PNG" {
				return []string{"r.png is not a PNG"}
			}
			return nil
		})})
	add(&Case{Name: "-scenario my.yaml -log-file l.log -series s.csv -report r.html (all distinct)", Args: run("-scenario", "my.yaml", "-log-file", "l.log", "-series", "s.csv", "-report", "r.html"),
		Setup: write("my.yaml", my), Expect: Accept, Check: checks(unchanged("my.yaml"), logComplete("l.log"), csvComplete("s.csv"), fileHas("r.html", "<html"))})
	add(&Case{Name: "-analyze s.csv of a run, judged again", Args: []string{"-analyze", "s.csv"}, Setup: runBin("-speed", "max", "-quiet", "-seed", "1", "-duration", "2h", "-series", "s.csv"),
		Expect: Accept, NoSum: true, Check: checks(unchanged("s.csv"), stdoutHas("vmstorm analysis"))})
	return cs
}
