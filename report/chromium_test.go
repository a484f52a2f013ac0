package report_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/report"
)

// TestHTMLRendersInChromium renders the page in headless Chromium, as a
// reader's browser would, with networking kept off so that any remote
// resource would be missing. Set REPORT_SCREENSHOT to a path to keep the
// screenshot.
func TestHTMLRendersInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("chromium is not on PATH; to render the report headless, install it (Debian: apt-get install chromium)")
	}
	o := theIncident(t, nil)
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	require.NoError(t, report.WriteFile(page, o))

	// Chromium's helper processes can outlive the browser for a moment and
	// write to its profile, so the profile is not in t.TempDir, whose
	// removal would then fail the test.
	profile, err := os.MkdirTemp("", "report-chromium-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(profile) })

	shot := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir="+profile, "--screenshot="+shot, "--window-size=1280,2400", "file://"+page)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.WaitDelay = 10 * time.Second // helpers holding the output pipes must not hang the test
	require.NoError(t, cmd.Run(), "chromium:\n%s", out.String())

	f, err := os.Open(shot)
	require.NoError(t, err, "chromium wrote no screenshot:\n%s", out.String())
	defer f.Close()
	img, err := png.Decode(f)
	require.NoError(t, err)
	assert.Equal(t, 1280, img.Bounds().Dx())
	assert.Equal(t, 2400, img.Bounds().Dy())
	// A blank or error page is one or two colours; the report has text,
	// three charts and their colours.
	assert.GreaterOrEqual(t, colours(img, 16), 16, "the screenshot shows the page")

	if keep := os.Getenv("REPORT_SCREENSHOT"); keep != "" {
		b, err := os.ReadFile(shot)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(keep, b, 0o644))
	}
}
