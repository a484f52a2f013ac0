package outcome

import (
	"fmt"
	"io"
	"time"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/series"
)

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
// model second, and once more at its end), or more marks, alerts' changes
// and phases than the analysis holds (analysis.MaxHeld, the Replayer's
// error); series.Each refuses the rest (time that goes back, marks out of
// place). So the memory it takes is bounded, whatever the file: the
// window's rows (at most its span in seconds) and analysis.MaxHeld things.
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
			judge = analysis.NewReplayer(cfg, incident.Classify, checks)
		}
		if err := judge.Row(row, marks); err != nil {
			return fmt.Errorf("series: line %d: %w", line, err)
		}
		return nil
	})
	if err != nil {
		return analysis.Result{}, time.Time{}, err
	}
	if judge == nil {
		judge = analysis.NewReplayer(cfg, incident.Classify, checks) // a header and no rows
	}
	return judge.Result(), cfg.Epoch, nil
}
