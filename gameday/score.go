package gameday

import (
	"context"
	"fmt"
	"time"

	"vmstorm/config"
	"vmstorm/incident"
	"vmstorm/internal/sim"
	"vmstorm/outcome"
	"vmstorm/pipeline"
)

// Score is what the scorecard shows of one run: the incident's times from
// its first fault, and what it cost.
type Score struct {
	Name string `json:"name"`
	// Hours from the first fault; Has* false when the run has none (never
	// detected, mitigated or recovered by its end).
	Detect, Mitigate, Recover          float64
	HasDetect, HasMitigate, HasRecover bool
	// JobsDelayed is the jobs that waited longer than the run's drained
	// threshold for a VM (pipeline.Summary.JobsDelayed).
	JobsDelayed int64
	VMsLeaked   int64
}

// ScoreOf is the score of a run's outcome.
func ScoreOf(name string, o *outcome.Outcome) Score {
	in := o.Analysis.Incident
	s := Score{Name: name, JobsDelayed: o.Summary.JobsDelayed, VMsLeaked: o.Summary.Leaked()}
	if in.Faulted {
		s.Detect, s.HasDetect = (in.DetectedAt - in.FaultAt).Hours(), in.Detected
		s.Mitigate, s.HasMitigate = (in.MitigatedAt - in.FaultAt).Hours(), in.Mitigated
		s.Recover, s.HasRecover = (in.RecoveredAt - in.FaultAt).Hours(), in.Recovered
	}
	return s
}

// Variant is one what-if variant's score.
type Variant struct {
	Score
	Best bool
}

// BestRule says how the best variant of the what-if is chosen.
const BestRule = "the fewest jobs delayed; of those, the earliest recovery (a run that never recovers is last); of those, the fewest VMs leaked; of those, the first in the experiment's order"

// better reports whether a beats b by BestRule.
func better(a, b Score) bool {
	if a.JobsDelayed != b.JobsDelayed {
		return a.JobsDelayed < b.JobsDelayed
	}
	if a.HasRecover != b.HasRecover {
		return a.HasRecover
	}
	if a.HasRecover && a.Recover != b.Recover {
		return a.Recover < b.Recover
	}
	return a.VMsLeaked < b.VMsLeaked
}

// Best marks the best of the variants by BestRule and returns its index,
// or -1 if there are none.
func Best(vs []Variant) int {
	best := -1
	for i := range vs {
		vs[i].Best = false
		if best < 0 || better(vs[i].Score, vs[best].Score) {
			best = i
		}
	}
	if best >= 0 {
		vs[best].Best = true
	}
	return best
}

// comparisonConfig is cfg run as the game's run is: its seed, its end,
// unpaced, with timeline tl cut to the end.
func (g *Game) comparisonConfig(cfg config.Config, tl incident.Timeline) config.Config {
	cfg.Seed, cfg.Duration, cfg.Epoch = g.cfg.Seed, g.cfg.Duration, g.cfg.Epoch
	cfg.Speed = config.MaxSpeed
	cfg.Timeline = nil
	for _, ev := range tl {
		if ev.At <= cfg.Duration {
			cfg.Timeline = append(cfg.Timeline, ev)
		}
	}
	return cfg
}

// compare runs the scorecard's comparisons, one after another: the
// scenario's own timeline (its responders) and each what-if variant once,
// all with the game's seed and end.
func (g *Game) compare(ctx context.Context) {
	defer close(g.compared)
	run := func(cfg config.Config) (*outcome.Outcome, error) {
		return outcome.Run(ctx, cfg, pipeline.NewKernel(cfg, sim.Serial), outcome.Options{})
	}
	sc := g.opt.Scenario.Config
	resp, err := run(g.comparisonConfig(sc, sc.Timeline))
	if err != nil || ctx.Err() != nil {
		g.setCompared(nil, nil, fmt.Errorf("the responders' run: %v", errOr(err, ctx)))
		return
	}
	var vs []Variant
	if e := g.opt.WhatIf; e != nil {
		for _, v := range e.Variants {
			o, err := run(g.comparisonConfig(v.Config, v.Config.Timeline))
			if err != nil || ctx.Err() != nil {
				g.setCompared(resp, nil, fmt.Errorf("the what-if's variant %s: %v", v.Name, errOr(err, ctx)))
				return
			}
			vs = append(vs, Variant{Score: ScoreOf(v.Name, o)})
		}
		Best(vs)
	}
	g.setCompared(resp, vs, nil)
}

func errOr(err error, ctx context.Context) error {
	if err != nil {
		return err
	}
	return context.Cause(ctx)
}

func (g *Game) setCompared(resp *outcome.Outcome, vs []Variant, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.responders, g.variants, g.compareErr = resp, vs, err
}

// Scorecard is the game's scorecard: the player's run beside the
// scenario's responders and the what-if's best variant.
type Scorecard struct {
	Player, Responders Score
	Variants           []Variant
	BestRule           string
	Drained            time.Duration
	Err                string `json:",omitempty"`
}

// Scorecard is the scorecard, once the run and the comparisons have ended.
func (g *Game) Scorecard() (Scorecard, bool) {
	select {
	case <-g.compared:
	default:
		return Scorecard{}, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.over || g.result == nil {
		return Scorecard{}, false
	}
	sc := Scorecard{Player: ScoreOf("you", g.result), Variants: g.variants, BestRule: BestRule, Drained: g.cfg.Drained}
	if g.responders != nil {
		sc.Responders = ScoreOf(g.opt.Scenario.Name+"'s responders", g.responders)
	}
	if g.compareErr != nil {
		sc.Err = g.compareErr.Error()
	}
	return sc, true
}
