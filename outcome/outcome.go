// Package outcome runs a model and judges it: the pipeline's run, the
// analysis of every sample it takes, and the rows kept for the charts. An
// Outcome is what every output shows of a run (the summary, the report,
// the scenario's checks) and what an experiment compares.
package outcome

import (
	"context"
	"errors"
	"fmt"

	"go.uber.org/zap"

	"vmstorm/analysis"
	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/logx"
	"vmstorm/pipeline"
	"vmstorm/series"
	"vmstorm/workers"
)

// Outcome is one run, counted and judged.
type Outcome struct {
	Summary  *pipeline.Summary // what the model counted
	Analysis analysis.Result   // what its samples show
	Rows     []series.Row      // a bounded selection of the judged samples, for the charts
	Marks    []series.Mark     // the timeline's events, as applied
}

// Options say what a run is watched by.
type Options struct {
	Log      *zap.Logger      // the run's log; nil for none
	Checks   []analysis.Check // a scenario's checks, evaluated as the run goes
	Watchers []series.Watcher // given every judged sample and every mark
	KeepRows int              // rows kept for the charts; 0 for DefaultKeepRows
	// Shared, if not nil, is the memory budget the run shares with others
	// going on at once (pipeline.Options.Shared).
	Shared *workers.Shared
	// Rows, if not nil, is an array for the rows kept to reuse (its length
	// ignored): the Rows of an earlier Outcome no longer needed, as the
	// replicas of an experiment, one after another, hand theirs on.
	Rows []series.Row
	// Hold, if not nil, holds the run at steps of model time and adds the
	// events it is given to its timeline (pipeline.Hold): a game's player.
	Hold *pipeline.Hold
}

// DefaultKeepRows is how many rows an Outcome keeps for the charts: enough
// for a page's width several times over, whatever the run's length.
const DefaultKeepRows = 2000

// Run runs cfg in kernel k (see pipeline.NewKernel), has the analysis judge
// every sample, and returns the outcome. A run that ctx cut short is not an
// error: its summary says why it ended.
func Run(ctx context.Context, cfg config.Config, k *sim.Kernel, o Options) (*Outcome, error) {
	if o.Log == nil {
		o.Log = zap.NewNop()
	}
	if o.KeepRows <= 0 {
		o.KeepRows = DefaultKeepRows
	}
	if o.Rows == nil {
		// As many as the run will keep, so that they are not grown as it goes.
		o.Rows = make([]series.Row, 0, min(o.KeepRows, int(cfg.Duration/cfg.SampleEvery)+2))
	}
	keep := series.NewKeeperInto(o.KeepRows, o.Rows)
	an := analysis.New(cfg, incident.Classify, o.Checks, append([]series.Watcher{keep}, o.Watchers...)...)
	sum, err := pipeline.Run(ctx, cfg, k, pipeline.Options{Log: o.Log, Events: logx.Lifecycle(o.Log), Sink: an, Pager: an, Shared: o.Shared, Hold: o.Hold})
	if sum == nil {
		return nil, err
	}
	if heldErr := an.Err(); heldErr != nil {
		// Past the analysis's budget its judgement would be of part of the
		// run: the run is counted, and its judgement refused.
		err = errors.Join(err, fmt.Errorf("analysis: %w", heldErr))
	}
	if keptErr := keep.Err(); keptErr != nil {
		// Past the keeper's budget the charts would draw part of the
		// timeline as the whole of it: refused likewise.
		err = errors.Join(err, fmt.Errorf("charts: %w", keptErr))
	}
	return &Outcome{Summary: sum, Analysis: an.Result(), Rows: keep.Take(), Marks: keep.Marks()}, err
}
