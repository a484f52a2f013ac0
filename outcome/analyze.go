package outcome

import (
	"fmt"
	"io"
	"time"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/series"
)

// MaxJudged bounds what the judgement of a series holds beyond a window of
// rows (analysis.Replayer.Held: marks, alerts' changes, phases), about a
// hundred bytes each: a series past it is refused, not judged in
// gigabytes. A run of 87,600 hours judged every second, with its alerts
// changing at every sample, would pass it; no run of the built-ins comes
// near.
const MaxJudged = 1_000_000

// maxJudged is the bound Analyze applies: MaxJudged, but in a test.
var maxJudged = MaxJudged

// Analyze judges a series a run wrote (series.Writer), read from r, as a
// run of cfg: what `vmstorm -analyze` says of it. The rows are judged as
// they are read, not held, so that a series may be longer than memory. It
// returns the judgement and the epoch it judged by: the run's, which the
// file's first row gives (the zero Time if it has none), or cfg's for a
// file of no rows.
//
// What a run cannot have written is an error that says where: a row past
// the longest run (config.MaxDuration), two rows less than
// config.MinInterval apart but for the last (a run samples at most once a
// model second, and once more at its end), or more than MaxJudged things
// to hold; series.Each refuses the rest (time that goes back, marks out
// of place). So the memory it takes is bounded, whatever the file: the
// window's rows (at most its span in seconds) and MaxJudged things.
func Analyze(r io.Reader, cfg config.Config, checks []analysis.Check) (analysis.Result, time.Time, error) {
	var judge *analysis.Replayer
	line, last, gap := 1, time.Duration(-1), config.MinInterval // gap: between the last two rows
	err := series.Each(r, func(row series.Row, marks []series.Mark, epoch time.Time) error {
		line++
		switch {
		case row.T > config.MaxDuration:
			return fmt.Errorf("series: line %d, column model_s: %s is past the longest run, %dh", line, series.Seconds(row.T), config.MaxDuration/time.Hour)
		case gap < config.MinInterval:
			return fmt.Errorf("series: line %d: the two rows before it are %ss apart, and a run samples at most once a model second (and once more at its end)", line, series.Seconds(gap))
		}
		if last >= 0 {
			gap = row.T - last
		}
		last = row.T
		if judge == nil {
			cfg.Epoch = epoch
			judge = analysis.NewReplayer(cfg, checks)
		}
		judge.Row(row, marks)
		if judge.Held() > maxJudged {
			return fmt.Errorf("series: line %d: more than %d marks, alerts' changes and phases to hold: no run within vmstorm's limits writes so many", line, maxJudged)
		}
		return nil
	})
	if err != nil {
		return analysis.Result{}, time.Time{}, err
	}
	if judge == nil {
		judge = analysis.NewReplayer(cfg, checks) // a header and no rows
	}
	return judge.Result(), cfg.Epoch, nil
}
