// Command demo feeds a live.View on its own stderr with a made-up run, so
// that a test can watch the View in a real terminal (tmux) and read the
// screen it leaves.
package main

import (
	"fmt"
	"os"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"vmstorm/analysis"
	"vmstorm/internal/sim"
	"vmstorm/live"
	"vmstorm/logx"
	"vmstorm/series"
)

func main() {
	// The made-up run's model time is set by hand, to each sample's time,
	// so that log lines are stamped with the model time they belong to.
	clock := sim.NewManualClock(time.Time{})
	// Redraw on every row: the most erasing and redrawing the terminal can
	// be made to do, interleaved with log lines that scroll it.
	view := live.New(os.Stderr, clock, live.RedrawEvery(0))
	logs := logx.New(logx.Options{Clock: clock, Console: view.LogWriter(), ConsoleLevel: zapcore.InfoLevel})
	var samples []series.Sample
	for i := int64(1); i <= 600; i++ {
		phase := analysis.PhaseHealthy
		switch {
		case i > 300:
			phase = analysis.PhaseStorm
		case i > 150:
			phase = analysis.PhaseSilentLeak
		}
		t := time.Duration(i) * 10 * time.Second
		clock.Set(t)
		s := series.Sample{
			T: t, VMs: 7 * i, ReportedVMs: min(i, 40),
			InUse: min(i, 200), Capacity: 200, Backlog: i, Requeues: 15 * i, Completed: i,
		}
		samples = append(samples, s)
		// The rates over the minute before, as the analysis derives them:
		// from the sample six back, or from the start.
		var from series.Sample
		if n := len(samples); n > 6 {
			from = samples[n-7]
		}
		view.Row(series.Row{Sample: s, Rates: analysis.RatesBetween(from, s), Phase: phase})
		if i%10 == 0 {
			logs.Info("demo_line", zap.Int64("n", i/10))
		}
		if i == 150 {
			view.Mark(series.Mark{T: t, Name: "rotate_cleanup_password"})
		}
	}
	if err := view.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	fmt.Println("SUMMARY follows the status area")
}
