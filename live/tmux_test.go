package live

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/internal/format"
)

// TestInTmux runs testdata/demo in a real terminal, a detached tmux pane of
// 100x20, and reads the screen and its scrollback: the log lines must have
// scrolled above one status area, with no copy of it left behind anywhere.
func TestInTmux(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a program in tmux")
	}
	tmux, err := exec.LookPath("tmux")
	if err != nil {
		t.Skip("tmux is not installed")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the demo")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	bin := filepath.Join(t.TempDir(), "demo")
	build := exec.CommandContext(ctx, goBin, "build", "-o", bin, "./testdata/demo")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "building the demo:\n%s", out)

	// A server of our own, so the test neither sees nor disturbs anyone's
	// tmux sessions, and no configuration file changes the pane.
	server := fmt.Sprintf("vmstorm-live-test-%d", os.Getpid())
	run := func(args ...string) string {
		t.Helper()
		cmd := exec.CommandContext(ctx, tmux, append([]string{"-L", server, "-f", "/dev/null"}, args...)...)
		cmd.Env = append(os.Environ(), "TERM=xterm-256color")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "tmux %s:\n%s", strings.Join(args, " "), out)
		return string(out)
	}
	t.Cleanup(func() {
		_ = exec.Command(tmux, "-L", server, "kill-server").Run()
	})

	// The pane signals a channel when the demo has exited, and then stays
	// open (sleep) so its screen can be read; kill-server ends it.
	shell := fmt.Sprintf("%s; %s -L %s wait-for -S demo-done; sleep 600", quote(bin), quote(tmux), quote(server))
	run("new-session", "-d", "-x", "100", "-y", "20", shell)
	run("wait-for", "demo-done")
	visible := run("capture-pane", "-p")
	all := run("capture-pane", "-p", "-S", "-")
	t.Logf("the pane:\n%s", visible)

	lines := strings.Split(strings.TrimRight(visible, "\n"), "\n")
	require.Len(t, lines, 19, "the last 15 log lines, one status area of 3 lines, the summary line,"+
		" and the cursor on the pane's last row")
	demoLine := regexp.MustCompile(`^(T\+\d\d:\d\d:\d\d)\s+INFO\s+demo_line\s+\{"n": (\d+)\}$`)
	for i, l := range lines[:15] {
		m := demoLine.FindStringSubmatch(l)
		require.NotNil(t, m, "row %d is a log line: %q", i, l)
		assert.Equal(t, fmt.Sprint(46+i), m[2], "row %d", i)
		// Line n is logged with sample 10n, at model time 100n seconds.
		at := time.Duration(46+i) * 100 * time.Second
		assert.Equal(t, format.ModelTime(testClock().Calendar(0), at), m[1], "row %d: stamped with model time", i)
	}
	assert.Equal(t, "── T+01:40:00 ── phase: storm ── last event: rotate_cleanup_password", lines[15])
	assert.Equal(t, "in use ["+strings.Repeat("█", 40)+"] 200/200   VMs true 4200   reported 40", lines[16])
	assert.Equal(t, "backlog 600   requeues 90.0/min   completions 6.0/min", lines[17])
	assert.Equal(t, "SUMMARY follows the status area", lines[18])

	// The whole scrollback: every log line once and in order, one status
	// area, and nothing else.
	var n int
	for _, l := range strings.Split(strings.TrimRight(all, "\n"), "\n") {
		if m := demoLine.FindStringSubmatch(l); m != nil {
			n++
			assert.Equal(t, fmt.Sprint(n), m[2], "log lines in order")
		}
	}
	assert.Equal(t, 60, n, "every log line is in the scrollback")
	assert.Equal(t, 1, strings.Count(all, "── T+"), "one status area in all the pane ever showed")
	assert.Equal(t, 1, strings.Count(all, "in use ["))
	assert.Equal(t, 1, strings.Count(all, "backlog "))
}

func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
