// Package report writes what people read of a run: the text summary
// (WriteSummary), the faithfulness checks (WriteChecks), a series' analysis
// (WriteAnalysis), the self-contained HTML page or chart of a run
// (WriteHTML, WriteChart, WriteFile), and the comparison page of an
// experiment (WriteExperimentHTML, WriteExperimentFile), all written
// atomically.
package report

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"vmstorm/outcome"
	"vmstorm/pipeline"
)

// The standalone chart: three panels sized for a page of a document.
const (
	chartW   = 8 * vg.Inch
	chartH   = 9 * vg.Inch
	chartDPI = 150
)

// WriteChart writes the run's main chart alone, for a postmortem document:
// the true and reported VM counts and the gauge against capacity, with the
// backlog and the requeue, completion and arrival rates in panels below on
// the same time axis, and the timeline's marks and the alerts on each.
// format is "svg" or "png".
func WriteChart(w io.Writer, o *outcome.Outcome, format string) error {
	c := buildCharts(o)
	switch format {
	case "svg":
		svg, err := renderSVG(chartW, chartH, "", c.vms, c.backlog, c.rates)
		if err != nil {
			return err
		}
		if _, err := w.Write(append(svg, '\n')); err != nil {
			return fmt.Errorf("report: writing the chart: %w", err)
		}
		return nil
	case "png":
		canvas := vgimg.NewWith(vgimg.UseWH(chartW, chartH), vgimg.UseDPI(chartDPI))
		drawPanels(draw.New(canvas), c.vms, c.backlog, c.rates)
		if _, err := (vgimg.PngCanvas{Canvas: canvas}).WriteTo(w); err != nil {
			return fmt.Errorf("report: writing the chart: %w", err)
		}
		return nil
	default:
		return fmt.Errorf("report: chart format %q: want svg or png", format)
	}
}

// ErrUnknownFormat is returned by WriteFile for a path whose extension it
// cannot write.
var ErrUnknownFormat = errors.New("unknown report format")

// KnownFormat reports whether WriteFile can write a report at path, by its
// extension.
func KnownFormat(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".htm", ".svg", ".png":
		return true
	}
	return false
}

// WriteFile writes a report on s to path, in the format its extension
// names: .html (the page, WriteHTML), .svg or .png (the chart
// alone, WriteChart). The report is written to a temporary file in the same
// directory and renamed into place, so that path never holds half a report,
// even if the run is interrupted while it is written. A process killed while
// it writes leaves the temporary behind: RemoveStaleTemporaries removes it.
func WriteFile(path string, o *outcome.Outcome) error {
	ext := strings.ToLower(filepath.Ext(path))
	var write func(io.Writer) error
	switch ext {
	case ".html", ".htm":
		write = func(w io.Writer) error { return WriteHTML(w, o, Title(o.Summary)) }
	case ".svg", ".png":
		write = func(w io.Writer) error { return WriteChart(w, o, ext[1:]) }
	default:
		return fmt.Errorf("report: %s: %w %q: want .html, .svg or .png", path, ErrUnknownFormat, ext)
	}

	return writeAtomically(path, write)
}

// writeAtomically writes path with write, through a temporary of
// createTemporary's that it renames into place, and removes the temporary
// if anything fails.
func writeAtomically(path string, write func(io.Writer) error) error {
	f, err := createTemporary(path)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(tmp)
		}
	}()
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	// CreateTemp makes the file private; a report is for reading. Sync
	// before the rename, so that a crash cannot leave path naming a file
	// whose data never reached the disk.
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	renamed = true
	return nil
}

// A temporary of the report at DIR/BASE is DIR/.BASE.tmp-N, N the decimal
// number os.CreateTemp puts in place of the pattern's "*". createTemporary
// makes one and isTemporary recognizes one: both from temporaryPrefix.
func temporaryPrefix(base string) string { return "." + base + ".tmp-" }

// createTemporary creates a new temporary for the report at path, in the
// same directory so that it can be renamed into place.
func createTemporary(path string) (*os.File, error) {
	dir, base := splitPath(path)
	return os.CreateTemp(dir, temporaryPrefix(base)+"*")
}

// isTemporary reports whether name, in the directory of a report named
// base, is one of its temporaries.
func isTemporary(base, name string) bool {
	n, ok := strings.CutPrefix(name, temporaryPrefix(base))
	return ok && n != "" && strings.Trim(n, "0123456789") == ""
}

func splitPath(path string) (dir, base string) {
	dir, base = filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	return dir, base
}

// RemoveStaleTemporaries removes the temporaries that an earlier WriteFile
// of a report at path left behind when it was killed before it could
// remove them (SIGKILL, a crash, a power cut): the regular files named as
// WriteFile names the temporaries of path, and nothing else, not even a
// directory or a link with such a name. Call it before a run, not while
// another process may be writing a report at the same path. A directory
// that does not exist holds none: that is not an error.
func RemoveStaleTemporaries(path string) error {
	dir, base := splitPath(path)
	if base == "" {
		return nil // WriteFile writes no report at a directory's path
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("report: stale temporaries of %s: %w", path, err)
	}
	var errs []error
	for _, e := range entries {
		if e.Type().IsRegular() && isTemporary(base, e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("report: stale temporary: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// Title is the page title WriteFile gives a run: what was broken, the
// capacity and the seed, enough to tell two reports apart.
func Title(s *pipeline.Summary) string {
	if s.Config.Name != "" {
		return fmt.Sprintf("vmstorm: %s, seed %d", s.Config.Name, s.Config.Seed)
	}
	state := "healthy cluster"
	if len(s.Config.FullTimeline()) > 0 {
		state = "broken cleanup"
	}
	return fmt.Sprintf("vmstorm: %s, %d VMs, seed %d", state, s.Config.VMs, s.Config.Seed)
}
