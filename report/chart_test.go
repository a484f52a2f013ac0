package report_test

import (
	"bytes"
	"html"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/report"
)

// colours counts the distinct colours of img, up to limit.
func colours(img image.Image, limit int) int {
	seen := map[color.RGBA]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			seen[color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)] = true
			if len(seen) >= limit {
				return len(seen)
			}
		}
	}
	return len(seen)
}

// TestWriteChart: the chart alone, for a document, is the page's three
// panels on one time axis: the VM counts with the gauge, the backlog, and
// the rates, each with the timeline's marks and the alerts that fired.
func TestWriteChart(t *testing.T) {
	o := theIncident(t, nil)
	require.NotEmpty(t, o.Analysis.Alerts, "the storm fires an alert")

	t.Run("svg", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, report.WriteChart(&buf, o, "svg"))
		svg := buf.String()
		wellFormed(t, svg)
		text := html.UnescapeString(svg)
		for _, title := range []string{
			"VMs on the cluster: the true count, what the janitor reported, and the gauge",
			"Backlog: jobs waiting for a VM",
			"Requeues, completions and arrivals per model minute, over 5m",
		} {
			contains(t, text, ">"+title+"<", "a panel's title")
		}
		for _, key := range []string{"true count", "reported to monitoring", "holding capacity (the gauge)", "capacity",
			"backlog", "requeues", "completions", "arrivals", "fault or operator's action", "alert fires"} {
			contains(t, text, ">"+key+"<", "a key")
		}
		assert.Equal(t, 3, strings.Count(text, ">model time (minutes since the start)<"), "three panels, each with the time axis")
		for _, e := range o.Analysis.Alerts {
			if e.Firing {
				assert.Equal(t, 3, strings.Count(text, ">alert: "+e.Name+"<"), "%s is marked on each panel", e.Name)
			}
		}
	})

	t.Run("png", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, report.WriteChart(&buf, o, "png"))
		img, err := png.Decode(&buf)
		require.NoError(t, err)
		// 8 × 9 inches at 150 dpi for the three panels (this run's
		// incident fills most of it: no zoom), and the key under them.
		assert.Equal(t, 1200, img.Bounds().Dx())
		assert.Greater(t, img.Bounds().Dy(), 1350)
		assert.GreaterOrEqual(t, colours(img, 8), 8, "lines, text and marks in several colours")
	})

	t.Run("unknown format", func(t *testing.T) {
		err := report.WriteChart(&bytes.Buffer{}, o, "pdf")
		require.ErrorContains(t, err, `"pdf"`)
		require.ErrorContains(t, err, "svg or png")
	})
}

func TestWriteFile(t *testing.T) {
	o := theIncident(t, nil)
	tests := []struct {
		name   string
		prefix string // how the file must start
	}{
		{"report.html", "<!doctype html>"},
		{"REPORT.HTML", "<!doctype html>"},
		{"report.htm", "<!doctype html>"},
		{"chart.svg", "<?xml"},
		{"chart.png", "\x89PNG\r\n\x1a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.name)
			require.True(t, report.KnownFormat(path))
			require.NoError(t, report.WriteFile(path, o))
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			assert.True(t, strings.HasPrefix(string(b), tt.prefix), "starts with %q", tt.prefix)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o644), fi.Mode().Perm(), "readable by others, like any report")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Len(t, entries, 1, "no temporary file left behind")
		})
	}

	t.Run("the page is titled by Title", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "r.html")
		require.NoError(t, report.WriteFile(path, o))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.Equal(t, "vmstorm: broken cleanup, 200 VMs, seed 42", report.Title(o.Summary))
		contains(t, string(b), "<title>"+report.Title(o.Summary)+"</title>", "the title")
	})

	t.Run("replaces an old report whole", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "r.html")
		require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
		require.NoError(t, report.WriteFile(path, o))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(b), "<!doctype html>"))
	})

	for _, bad := range []string{"report.pdf", "report", "report.html.txt"} {
		t.Run("rejects "+bad, func(t *testing.T) {
			dir := t.TempDir()
			assert.False(t, report.KnownFormat(bad))
			err := report.WriteFile(filepath.Join(dir, bad), o)
			require.ErrorIs(t, err, report.ErrUnknownFormat)
			require.ErrorContains(t, err, ".html, .svg or .png")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing written")
		})
	}

	t.Run("missing directory", func(t *testing.T) {
		err := report.WriteFile(filepath.Join(t.TempDir(), "no", "such", "r.html"), o)
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}
