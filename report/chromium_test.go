package report_test

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/experiment"
	"vmstorm/internal/chromiumtest"
	"vmstorm/report"
)

// TestHTMLRendersInChromium renders the page in headless Chromium, as a
// reader's browser would, with networking kept off so that any remote
// resource would be missing. Set REPORT_SCREENSHOT to a path to keep the
// screenshot.
func TestHTMLRendersInChromium(t *testing.T) {
	o := theIncident(t, nil)
	page := filepath.Join(t.TempDir(), "report.html")
	require.NoError(t, report.WriteFile(page, o))
	img, shot := chromiumShot(t, page, 1280, 2400)
	assert.Equal(t, 1280, img.Bounds().Dx())
	assert.Equal(t, 2400, img.Bounds().Dy())
	// A blank or error page is one or two colours; the report has text,
	// three charts and their colours.
	assert.GreaterOrEqual(t, colours(img, 16), 16, "the screenshot shows the page")

	if keep := os.Getenv("REPORT_SCREENSHOT"); keep != "" {
		require.NoError(t, os.WriteFile(keep, shot, 0o644))
	}
}

// TestExperimentPageRendersInChromium renders the comparison page of the
// tests' experiment in headless Chromium: the browser's document holds the
// sweep's verdict line and the heat map's legend of every outcome, and the
// screenshot shows every outcome's colour (the legend's swatches, and the
// cells). Set REPORT_SCREENSHOT to a path to keep it (with
// "-experiment" before its extension).
func TestExperimentPageRendersInChromium(t *testing.T) {
	r := runTiny(t)
	page := filepath.Join(t.TempDir(), "experiment.html")
	require.NoError(t, report.WriteExperimentFile(page, pageOf(t, r.e, r.table, r.results)))

	dom := chromiumRun(t, "--dump-dom", "file://"+page)
	assert.Contains(t, dom, `<p id="sweep-verdict">`+html.EscapeString(r.table.Sweep.Verdict())+`</p>`)
	for _, o := range experiment.Outcomes {
		assert.Contains(t, dom, ">"+experiment.OutcomeName(o.Outcome)+"</text>", "the legend's %q, as the browser read the page", o.Outcome)
	}

	img, shot := chromiumShot(t, page, 1280, 16000)
	counts := map[color.RGBA]int{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			counts[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)]++
		}
	}
	for _, o := range experiment.Outcomes {
		if o.Outcome == experiment.NotRun {
			continue // white, as the page is
		}
		fill := report.OutcomeFill(o.Outcome)
		assert.GreaterOrEqual(t, counts[fill], 40, "%q's colour %v on the screen", o.Outcome, fill)
	}
	if keep := os.Getenv("REPORT_SCREENSHOT"); keep != "" {
		name := strings.TrimSuffix(keep, filepath.Ext(keep)) + "-experiment" + filepath.Ext(keep)
		require.NoError(t, os.WriteFile(name, shot, 0o644))
	}
}

// chromiumRun runs headless Chromium with args, networking off, and gives
// its standard output; the test skips if Chromium is not installed.
func chromiumRun(t *testing.T, args ...string) string {
	t.Helper()
	chromium, profile := chromiumtest.Find(t, "to render the report headless")

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, append([]string{"--headless", "--no-sandbox", "--disable-gpu",
		"--disable-quic", "--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--user-data-dir=" + profile}, args...)...)
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	cmd.WaitDelay = 10 * time.Second // helpers holding the output pipes must not hang the test
	require.NoError(t, cmd.Run(), "chromium:\n%s%s", out.String(), errs.String())
	return out.String()
}

// chromiumShot renders page at w x h pixels and gives the screenshot,
// decoded and as its PNG.
func chromiumShot(t *testing.T, page string, w, h int) (image.Image, []byte) {
	t.Helper()
	shot := filepath.Join(t.TempDir(), "shot.png")
	out := chromiumRun(t, "--screenshot="+shot, fmt.Sprintf("--window-size=%d,%d", w, h), "file://"+page)
	data, err := os.ReadFile(shot)
	require.NoError(t, err, "chromium wrote no screenshot:\n%s", out)
	img, err := png.Decode(bytes.NewReader(data))
	require.NoError(t, err)
	return img, data
}
