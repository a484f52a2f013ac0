package report_test

import (
	"bytes"
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

func TestWriteChart(t *testing.T) {
	s := incident(t, nil)

	t.Run("svg", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, report.WriteChart(&buf, s, "svg"))
		svg := buf.String()
		wellFormed(t, svg)
		for _, want := range []string{"true count", "reported to monitoring", "capacity", "backlog", s.Marks[0].Name} {
			assert.Contains(t, svg, ">"+want+"<")
		}
		assert.NotContains(t, svg, ">requeues<", "the rates are not in the main chart")
	})

	t.Run("png", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, report.WriteChart(&buf, s, "png"))
		img, err := png.Decode(&buf)
		require.NoError(t, err)
		// 8 × 6.5 inches at 150 dpi.
		assert.Equal(t, image.Rect(0, 0, 1200, 975), img.Bounds())
		assert.GreaterOrEqual(t, colours(img, 8), 8, "lines, text and marks in several colours")
	})

	t.Run("unknown format", func(t *testing.T) {
		err := report.WriteChart(&bytes.Buffer{}, s, "pdf")
		require.ErrorContains(t, err, `"pdf"`)
		require.ErrorContains(t, err, "svg or png")
	})
}

func TestWriteFile(t *testing.T) {
	s := incident(t, nil)
	tests := []struct {
		name   string
		prefix string // how the file must start
	}{
		{"report.html", "<!doctype html>"},
		{"REPORT.HTML", "<!doctype html>"},
		{"chart.svg", "<?xml"},
		{"chart.png", "\x89PNG\r\n\x1a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, tt.name)
			require.NoError(t, report.WriteFile(path, s))
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

	t.Run("replaces an old report whole", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "r.html")
		require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
		require.NoError(t, report.WriteFile(path, s))
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		assert.True(t, strings.HasPrefix(string(b), "<!doctype html>"))
	})

	for _, bad := range []string{"report.pdf", "report", "report.html.txt"} {
		t.Run("rejects "+bad, func(t *testing.T) {
			dir := t.TempDir()
			err := report.WriteFile(filepath.Join(dir, bad), s)
			require.ErrorIs(t, err, report.ErrUnknownFormat)
			require.ErrorContains(t, err, ".html, .svg or .png")
			entries, err := os.ReadDir(dir)
			require.NoError(t, err)
			assert.Empty(t, entries, "nothing written")
		})
	}

	t.Run("missing directory", func(t *testing.T) {
		err := report.WriteFile(filepath.Join(t.TempDir(), "no", "such", "r.html"), s)
		require.ErrorIs(t, err, os.ErrNotExist)
	})
}
