package outcome

import (
	"io"
	"time"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/series"
)

// Analyze judges a series a run wrote (series.Writer), read from r, as a
// run of cfg: what `vmstorm -analyze` says of it. The rows are judged as
// they are read, not held, so that a series may be longer than memory. It
// returns the judgement and the epoch it judged by: the run's, which the
// file's first row gives (the zero Time if it has none), or cfg's for a
// file of no rows.
func Analyze(r io.Reader, cfg config.Config, checks []analysis.Check) (analysis.Result, time.Time, error) {
	var judge *analysis.Replayer
	err := series.Each(r, func(row series.Row, marks []series.Mark, epoch time.Time) error {
		if judge == nil {
			cfg.Epoch = epoch
			judge = analysis.NewReplayer(cfg, checks)
		}
		judge.Row(row, marks)
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
