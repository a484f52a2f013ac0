// Package live keeps a run's status in a small area at the bottom of the
// terminal, redrawn in place, while the console log scrolls above it.
package live

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"vmstorm/internal/format"
	"vmstorm/internal/sim"
	"vmstorm/series"
)

const (
	defaultWidth  = 80
	defaultRedraw = 100 * time.Millisecond

	// Erasing the status area is, line by line from the bottom, "cursor up
	// one, clear the whole line". Clearing to the end of the screen (CSI J)
	// would be one sequence, but when the area sits at the top of the
	// screen tmux takes that for clearing the screen and, with its default
	// scroll-on-clear, pushes a copy of the area into the scrollback.
	upAndClearLine = "\x1b[1A\x1b[2K"
)

// Option configures a View.
type Option func(*View)

// ForceTerminal makes the View draw as if out were a terminal width
// columns wide, whatever out is; tests use it to read the escape sequences
// from a buffer or a pipe. A width below 1 means the default, 80.
func ForceTerminal(width int) Option {
	return func(v *View) {
		v.active = true
		v.fixedWidth = width
		if v.fixedWidth < 1 {
			v.fixedWidth = defaultWidth
		}
	}
}

// RedrawEvery sets the least wall time between two redraws caused by
// samples or marks (log lines and Close always redraw). The default is
// 100ms; zero redraws on every sample.
func RedrawEvery(d time.Duration) Option {
	return func(v *View) { v.every = max(d, 0) }
}

// View is the live status area. It is a series.Watcher, and its
// LogWriter is the console writer to hand to logx. All methods are safe for
// concurrent use.
type View struct {
	out        io.Writer
	clock      sim.Clock
	active     bool // out is (or is forced to be) a terminal
	fd         int  // out's descriptor, to ask for its size; -1 when forced
	fixedWidth int  // set by ForceTerminal
	every      time.Duration

	// One mutex around the terminal: zap writes from many goroutines,
	// samples and marks come from two more, and every write to out must
	// see the status area in the state the last one left it.
	mu       sync.Mutex
	closed   bool
	pending  []byte // the start of a log line whose end has not come yet
	buf      []byte // output being built, reused
	drawn    int    // status lines on the screen, just above the cursor
	lastDraw time.Time

	seen     bool // a sample has come; nothing is drawn before
	cur      series.Row
	lastMark string
}

var _ series.Watcher = (*View)(nil)

// New makes a View that draws on out, showing model times on clock. When
// out is not a terminal (and ForceTerminal is not given) the View is inert:
// LogWriter returns out itself and Row, Mark and Close do nothing, so
// piped output stays plain log lines.
func New(out io.Writer, clock sim.Clock, opts ...Option) *View {
	v := &View{out: out, clock: clock, fd: -1, every: defaultRedraw}
	if f, ok := out.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(f.Fd())) {
		v.active, v.fd = true, int(f.Fd())
	}
	for _, o := range opts {
		o(v)
	}
	if v.fixedWidth > 0 {
		v.fd = -1
	}
	return v
}

// LogWriter is the writer for the console log. Each complete line written
// goes above the status area; a partial line waits for its end, so that the
// status area is never drawn in the middle of a line.
func (v *View) LogWriter() io.Writer {
	if !v.active {
		return v.out
	}
	return logWriter{v}
}

type logWriter struct{ v *View }

func (w logWriter) Write(p []byte) (int, error) {
	v := w.v
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return v.out.Write(p)
	}
	v.pending = append(v.pending, p...)
	end := bytes.LastIndexByte(v.pending, '\n') + 1
	if end == 0 {
		return len(p), nil
	}
	b := v.erase(v.buf[:0])
	b = append(b, v.pending[:end]...)
	v.pending = v.pending[:copy(v.pending, v.pending[end:])]
	b = v.draw(b)
	if err := v.flush(b); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Row takes a judged sample of the model. It redraws only if RedrawEvery
// has passed since the last redraw: at high speed samples come far faster
// than anyone can read, and the newest one is drawn by the next redraw
// anyway. What changed at the sample (the cluster filling, a storm
// beginning, an alert firing: what the console logs under its own name)
// becomes the last event, as a mark of the timeline does; a new phase
// shows as the phase.
func (v *View) Row(r series.Row) {
	v.update(func() {
		v.cur, v.seen = r, true
		for _, c := range r.Changes {
			switch {
			case c.Event == "phase_changed":
			case c.Name != "":
				v.lastMark = c.Event + " " + c.Name
			default:
				v.lastMark = c.Event
			}
		}
	})
}

// Mark takes an event of the run's timeline; the status area shows the
// last event next to the phase, since the phase says what the model does
// and the event says what was done to it, or what it did.
func (v *View) Mark(m series.Mark) {
	v.update(func() { v.lastMark = m.Name })
}

// update changes what the status area shows, under the view's lock, and
// redraws it if it is time; once the view is closed, it does nothing.
func (v *View) update(change func()) {
	if !v.active {
		return
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return
	}
	change()
	v.maybeRedraw()
}

// Close draws the final status and leaves the cursor on the line below it,
// so that whatever is printed next (the summary) starts there. Log lines
// written after Close pass straight through. Close can be called more than
// once; it returns the error of the final write, if any.
func (v *View) Close() error {
	if !v.active {
		return nil
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return nil
	}
	v.closed = true
	b := v.erase(v.buf[:0])
	if len(v.pending) > 0 {
		b = append(append(b, v.pending...), '\n')
		v.pending = v.pending[:0]
	}
	b = v.draw(b)
	v.drawn = 0 // the final status stays on the screen; it is no longer ours to erase
	return v.flush(b)
}

// maybeRedraw redraws if enough wall time has passed. Called with mu held.
func (v *View) maybeRedraw() {
	if v.drawn > 0 && time.Since(v.lastDraw) < v.every {
		return
	}
	b := v.draw(v.erase(v.buf[:0]))
	_ = v.flush(b) // a sample has nowhere to report a terminal error; the next log write will
}

// erase appends what removes the status area. The cursor is at the start
// of the line below it. Called with mu held.
func (v *View) erase(b []byte) []byte {
	if v.drawn == 0 {
		return b
	}
	b = append(b, '\r')
	for range v.drawn {
		b = append(b, upAndClearLine...)
	}
	v.drawn = 0
	return b
}

// draw appends the status area, each line ended by a newline, so that the
// cursor rests at the start of the line below it. Called with mu held.
func (v *View) draw(b []byte) []byte {
	if !v.seen {
		return b
	}
	width, height := v.size()
	lines := v.lines(width)
	if height > 0 && height <= len(lines) {
		// Too short a terminal: the cursor could not move back up over the
		// area, and each redraw would leave a copy behind.
		return b
	}
	for _, l := range lines {
		b = append(append(b, l...), '\n')
	}
	v.drawn = len(lines)
	v.lastDraw = time.Now()
	return b
}

func (v *View) flush(b []byte) error {
	v.buf = b[:0]
	if len(b) == 0 {
		return nil
	}
	_, err := v.out.Write(b)
	return err
}

// size asks the terminal on every draw, so a resized window is followed.
// Height 0 means unknown.
func (v *View) size() (width, height int) {
	if v.fd < 0 {
		return v.fixedWidth, 0
	}
	w, h, err := term.GetSize(v.fd)
	if err != nil || w < 1 {
		return defaultWidth, 0
	}
	return w, h
}

// lines renders the status area for a terminal width columns wide. Lines
// stop one column short of the edge: a line that fills the last column
// leaves some terminals wrapping onto the next row, and the cursor-up count
// would then be wrong.
func (v *View) lines(width int) []string {
	s := v.cur
	header := "── " + format.ModelTime(v.clock.Calendar(0), s.T) + " ──"
	if s.Phase != "" {
		header += " phase: " + s.Phase + " ──"
	}
	if v.lastMark != "" {
		header += " last event: " + v.lastMark
	}
	// The bar gets what the gauge line's numbers leave over (about 50
	// columns while the counts have a few digits), so an 80-column terminal
	// still shows them all; its length must not follow the digits, or it
	// would jump as the counts grow.
	cells := min(max(width-1-50, 10), 40)
	gauge := fmt.Sprintf("in use %s %d/%d   VMs true %d   reported %d",
		bar(s.InUse, s.Capacity, cells), s.InUse, s.Capacity, s.VMs, s.ReportedVMs)
	rates := fmt.Sprintf("backlog %d   requeues %.1f/min   completions %.1f/min",
		s.Backlog, s.Rates.Requeues, s.Rates.Completions)
	out := []string{header, gauge, rates}
	for i, l := range out {
		out[i] = clip(l, width-1)
	}
	return out
}

// bar draws inUse against capacity as cells characters between brackets,
// full cells rounded down, so that a full bar means a full cluster. Values
// out of range (over capacity, negative, no capacity) are clamped rather
// than trusted.
func bar(inUse, capacity int64, cells int) string {
	cells = max(cells, 0)
	full := 0
	switch {
	case capacity <= 0 || inUse <= 0:
	case inUse >= capacity:
		full = cells
	default:
		full = int(inUse * int64(cells) / capacity)
	}
	return "[" + strings.Repeat("█", full) + strings.Repeat("░", cells-full) + "]"
}

// clip cuts s to at most n columns, counting one column a rune: the status
// text is ASCII and box-drawing characters, all one column wide.
func clip(s string, n int) string {
	if n <= 0 {
		return ""
	}
	for i := range s {
		if n == 0 {
			return s[:i]
		}
		n--
	}
	return s
}
