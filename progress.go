package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"go.uber.org/zap"
	"golang.org/x/term"

	"vmstorm/internal/format"
	"vmstorm/logx"
)

// estimate is how fast an experiment's runs go, done of total in elapsed
// wall time, and the time the rest will take at that rate. It is the mean
// rate since the start, which settles as runs finish; ok is false until
// one has.
func estimate(done, total int, elapsed time.Duration) (perSecond float64, left time.Duration, ok bool) {
	if done <= 0 || elapsed <= 0 {
		return 0, 0, false
	}
	perSecond = float64(done) / elapsed.Seconds()
	rest := max(total-done, 0)
	return perSecond, time.Duration(float64(rest) / perSecond * float64(time.Second)).Round(time.Second), true
}

// progressEvery is how often, in wall time, an experiment whose stderr is
// not a terminal logs its progress.
const progressEvery = 10 * time.Second

// progress shows how many of an experiment's runs are done, how many a
// second, and the time left: on a terminal, a bar redrawn in place at each
// run's end; otherwise, a JSON line (logx.JSON) when a run ends at least
// progressEvery after the last line, and one at the end.
type progress struct {
	w               io.Writer
	finished, total int
	start, logged   time.Time
	now             func() time.Time
	bar             bool
	log             *zap.Logger // nil on a terminal, or when nothing is shown
}

// newProgress returns the progress of total runs on w: nothing if show is
// false.
func newProgress(w io.Writer, total int, show bool, now func() time.Time) *progress {
	p := &progress{w: w, total: total, now: now, start: now()}
	p.logged = p.start
	f, ok := w.(interface{ Fd() uintptr })
	switch {
	case !show:
	case ok && term.IsTerminal(int(f.Fd())):
		p.bar = true
	default:
		p.log = logx.JSON(w)
	}
	return p
}

// grow adds n runs to the total: a tipping point's round, once the rounds
// before it have chosen its points.
func (p *progress) grow(n int) { p.total += n }

// add counts one run done.
func (p *progress) add() {
	p.finished++
	now := p.now()
	switch {
	case p.bar:
		p.draw(now)
	case p.log != nil && now.Sub(p.logged) >= progressEvery:
		p.line(now)
	}
}

// draw redraws the bar.
func (p *progress) draw(now time.Time) {
	const width = 30
	total := max(p.total, 1)
	filled := width * p.finished / total
	rate := ""
	if perSecond, left, ok := estimate(p.finished, p.total, now.Sub(p.start)); ok {
		rate = fmt.Sprintf("  %s runs/s  %s", perSecondText(perSecond), leftText(left))
	}
	fmt.Fprintf(p.w, "\rruns %d/%d [%s%s] %3d%%%s\033[K", p.finished, p.total,
		strings.Repeat("#", filled), strings.Repeat(".", width-filled), 100*p.finished/total, rate)
}

// line logs the progress as one JSON line.
func (p *progress) line(now time.Time) {
	p.logged = now
	elapsed := now.Sub(p.start)
	fields := []zap.Field{zap.Int("runs_done", p.finished), zap.Int("runs", p.total),
		zap.Float64("elapsed_s", math.Round(elapsed.Seconds()))}
	if perSecond, left, ok := estimate(p.finished, p.total, elapsed); ok {
		fields = append(fields, zap.Float64("runs_per_s", math.Round(perSecond*100)/100), zap.Float64("left_s", left.Seconds()))
	}
	p.log.Info("experiment_progress", fields...)
}

// done ends the progress: the bar's line, or a last JSON line.
func (p *progress) done() {
	switch {
	case p.bar && p.finished > 0:
		fmt.Fprintln(p.w)
	case p.log != nil && p.finished > 0:
		p.line(p.now())
	}
}

// perSecondText writes a rate of runs with two significant figures or so.
func perSecondText(r float64) string {
	switch {
	case r >= 10:
		return fmt.Sprintf("%.0f", r)
	case r >= 1:
		return fmt.Sprintf("%.1f", r)
	default:
		return fmt.Sprintf("%.2f", r)
	}
}

// leftText says the time left.
func leftText(left time.Duration) string {
	if left <= 0 {
		return "done"
	}
	return "about " + format.Duration(left) + " left"
}

// about says a wall-clock duration as a person would, to the figure that
// matters: "about 40 seconds", "about 3 minutes", "about 2.5 hours".
func about(d time.Duration) string {
	unit := func(n float64, one, many string) string {
		text := strings.TrimSuffix(fmt.Sprintf("%.1f", n), ".0")
		if text == "1" {
			return "about 1 " + one
		}
		return "about " + text + " " + many
	}
	switch {
	case d < 100*time.Second:
		return unit(max(math.Round(d.Seconds()/5)*5, 5), "second", "seconds")
	case d < 100*time.Minute:
		return unit(math.Round(d.Minutes()), "minute", "minutes")
	default:
		return unit(math.Round(d.Hours()*2)/2, "hour", "hours")
	}
}

// pacedNote is what a run paced at speed model seconds a wall second says
// before it starts, if it will take at least minPacedNote of wall time:
// how long, and how to go faster. A run limited to its jobs may end sooner.
func pacedNote(model time.Duration, speed float64, jobsLimited bool) (string, bool) {
	if speed <= 0 {
		return "", false // unpaced
	}
	wall := time.Duration(float64(model) / speed)
	if wall < minPacedNote {
		return "", false
	}
	upTo := ""
	if jobsLimited {
		upTo = "up to "
	}
	return fmt.Sprintf("%s of model time at -speed %s: %s%s of wall-clock time; -speed max for the fastest",
		format.Duration(model), format.Num(speed), upTo, about(wall)), true
}

// minPacedNote is the shortest paced run that pacedNote speaks of.
const minPacedNote = 10 * time.Second
