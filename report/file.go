// Package report writes what people read of a run: the text summary
// (WriteSummary), the faithfulness checks (WriteChecks), a series' analysis
// (WriteAnalysis), the self-contained HTML page or chart of a run
// (WriteHTML, WriteChart, WriteFile), and the comparison page of an
// experiment (WriteExperimentHTML, WriteExperimentFile), all written
// atomically.
package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"vmstorm/outcome"
	"vmstorm/pipeline"
)

// The standalone chart: three panels sized for a page of a document, a
// fourth over the incident's window if it has one (see zoomAxis), and
// the key to the marks' numbers under them.
const (
	chartW     = 8 * vg.Inch
	chartH     = 9 * vg.Inch
	chartZoomH = 3 * vg.Inch
	chartDPI   = 150
)

// WriteChart writes the run's main chart alone, for a postmortem document:
// the true and reported VM counts and the gauge against capacity, with the
// backlog and the requeue, completion and arrival rates in panels below on
// the same time axis, and the timeline's marks and the alerts on each;
// then the VMs again over the incident's window, where the marks crowd
// together on the whole run's axis; and, under the panels, the key: each
// mark's number, its time and its events, as the page's timeline lists
// them (a chart copied into a document has no page around it).
// format is "svg" or "png".
func WriteChart(w io.Writer, o *outcome.Outcome, format string) error {
	c := buildCharts(o)
	panels := []*chart{c.vms, c.backlog, c.rates}
	h := chartH
	if za, ok := zoomAxis(o); ok {
		panels = append(panels, buildChartsOn(o, za).vms)
		h += chartZoomH
	}
	key := markKey(o)
	h += keyHeight(key)
	paint := func(dc draw.Canvas) {
		drawPanels(draw.Crop(dc, 0, 0, keyHeight(key), 0), panels...)
		drawKey(draw.Crop(dc, 0, 0, 0, -(dc.Size().Y-keyHeight(key))), key)
	}
	switch format {
	case "svg":
		canvas := vgsvg.New(chartW, h)
		paint(draw.New(canvas))
		var buf bytes.Buffer
		if _, err := canvas.WriteTo(&buf); err != nil {
			return fmt.Errorf("report: rendering a chart: %w", err)
		}
		if _, err := w.Write(append(fixSVG(buf.Bytes(), ""), '\n')); err != nil {
			return fmt.Errorf("report: writing the chart: %w", err)
		}
		return nil
	case "png":
		canvas := vgimg.NewWith(vgimg.UseWH(chartW, h), vgimg.UseDPI(chartDPI))
		paint(draw.New(canvas))
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
// it writes leaves the temporary behind: RemoveStaleTemporaries removes it,
// and no temporary that a live process is writing.
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

// A temporary of the report at DIR/BASE is DIR/.BASE.tmp-PID-N: PID the
// writer's process id, N the decimal number os.CreateTemp puts in place of
// the pattern's "*" (a vmstorm before this one wrote DIR/.BASE.tmp-N).
// createTemporary makes one and isTemporary recognizes one: both from
// temporaryPrefix.
func temporaryPrefix(base string) string { return "." + base + ".tmp-" }

// createTemporary creates a new temporary for the report at path, in the
// same directory so that it can be renamed into place. Its writer holds an
// exclusive lock on it (flock) until it closes it, and its name carries
// the writer's process id: RemoveStaleTemporaries leaves it alone while
// either shows the writer is alive. A file system that cannot lock (some
// network ones) still has the process id.
func createTemporary(path string) (*os.File, error) {
	dir, base := splitPath(path)
	f, err := os.CreateTemp(dir, temporaryPrefix(base)+strconv.Itoa(os.Getpid())+"-*")
	if err != nil {
		return nil, err
	}
	_ = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) // a new file: no one else can hold it
	return f, nil
}

// isTemporary reports whether name, in the directory of a report named
// base, is one of its temporaries, and the process id of its writer ("" in
// the name of an older vmstorm's).
func isTemporary(base, name string) (pid string, ok bool) {
	n, ok := strings.CutPrefix(name, temporaryPrefix(base))
	pid, n, withPID := strings.Cut(n, "-")
	if !withPID {
		pid, n = "", pid
	}
	return pid, ok && digits(n) && (!withPID || digits(pid))
}

// digits reports whether s is one or more decimal digits.
func digits(s string) bool { return s != "" && strings.Trim(s, "0123456789") == "" }

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
// directory or a link with such a name; and of those, only the stale ones
// (see removeIfStale), so that a second run with the same report leaves
// the first's temporary alone while the first writes it. A directory that
// does not exist holds none: that is not an error.
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
		if pid, ok := isTemporary(base, e.Name()); ok && e.Type().IsRegular() {
			if err := removeIfStale(filepath.Join(dir, e.Name()), pid); err != nil && !errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("report: stale temporary: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// removeIfStale removes the temporary at path, written by process pid (""
// if its name does not say), if no live process is writing it: its writer,
// if named, is no process here (kill(pid, 0) finds none), and no process
// holds its lock, which this one takes before it removes the file. The
// lock is released when its holder exits, however it exits; the process
// id covers the moment between a temporary's creation and its lock, and a
// file system that cannot lock. A temporary it cannot judge (it cannot
// open it, or lock it for another reason than another's lock) is kept.
func removeIfStale(path, pid string) error {
	if n, err := strconv.Atoi(pid); err == nil && alive(n) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil // gone already, or not readable (not this user's): kept
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return nil // held by its writer (EWOULDBLOCK), or not lockable here: kept
	}
	return os.Remove(path)
}

// alive reports whether process pid exists: kill(pid, 0) delivers no
// signal, and fails with ESRCH for no such process (EPERM is one of
// another user's).
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
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
