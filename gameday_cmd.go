package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"vmstorm/config"
	"vmstorm/experiment"
	"vmstorm/gameday"
	"vmstorm/incident"
	"vmstorm/internal/format"
	"vmstorm/report"
	"vmstorm/scenario"
)

// runGameday is -gameday: it serves a game day on the scenario sc (the
// configuration cfg, flags applied) until the game ends and no browser is
// left, or a signal; then it prints the run's summary.
func runGameday(cfg config.Config, opt options, sc *scenario.Scenario, stdout, stderr io.Writer) int {
	if cfg.Seed == 0 {
		cfg.Seed = randomSeed()
	}
	sc.Config = cfg
	start, err := gamedayStart(opt.gamedayStart, cfg)
	if err != nil { // check has refused it already
		fmt.Fprintf(stderr, "vmstorm: -gameday-start %s\n", err)
		return exitBadInput
	}
	// The what-if is the built-in experiment on the game's scenario whose
	// name says it is one (travis-2015-what-if, travis-2019-what-if), not
	// another experiment on it (travis-2015-assumptions).
	var whatIf *experiment.Experiment
	if !scenario.IsFile(opt.gameday) {
		for _, name := range experiment.Experiments() {
			if !strings.HasSuffix(name, "-what-if") {
				continue
			}
			e, err := experiment.LoadExperiment(name)
			if err == nil && e.BaseFile == "" && e.Base.Name == sc.Name {
				whatIf = e
				break
			}
		}
	}
	g, err := gameday.New(gameday.Options{Scenario: sc, Start: start, Pace: opt.gamedayPace, Idle: opt.gamedayIdle, WhatIf: whatIf})
	if err != nil {
		fmt.Fprintf(stderr, "vmstorm: -gameday: %v\n", err)
		return exitBadInput
	}
	srv, err := gameday.Listen(g, opt.gamedayAddr, gameday.NewToken())
	if err != nil {
		fmt.Fprintf(stderr, "vmstorm: -gameday-addr %v\n", err)
		return exitBadInput
	}
	srv.Serve()
	defer srv.Close()
	for _, line := range sc.Cut.Lines() {
		fmt.Fprintf(stderr, "vmstorm: %s\n", line)
	}
	fmt.Fprintf(stderr, "vmstorm: game day on %s (seed %d), from %s to %s: open %s\n", sc.Name, cfg.Seed,
		format.ModelTime(cfg.Epoch, g.Start()), format.ModelTime(cfg.Epoch, cfg.Duration), srv.URL())
	fmt.Fprintf(stderr, "vmstorm: the game ends after %s with no browser open on it\n", opt.gamedayIdle)

	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	defer catchSignals(cancel, exitAtOnce(stderr, "the summary"))()
	out, runErr := g.Run(ctx)
	if out != nil {
		if err := report.WriteSummary(stdout, out); err != nil {
			fmt.Fprintf(stderr, "vmstorm: writing the summary: %v\n", err)
			return exitFailed
		}
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "vmstorm: %v\n", runErr)
		return exitFailed
	}
	return exitOK
}

// gamedayStart is the model time -gameday-start names: a duration from
// the start or a calendar time; by default, 4 hours before the scenario's
// first operators' action (or its first fault, if it has none).
func gamedayStart(v string, cfg config.Config) (time.Duration, error) {
	if v == "" {
		first, found := time.Duration(0), false
		for _, ev := range cfg.Timeline {
			if incident.IsOperatorAction(ev.Action) && !ev.AfterDetection && (!found || ev.At < first) {
				first, found = ev.At, true
			}
		}
		if found {
			return max(first-4*time.Hour, 0), nil
		}
		for _, ev := range cfg.Timeline {
			if incident.IsFault(ev.Action) && (!found || ev.At < first) {
				first, found = ev.At, true
			}
		}
		return first, nil
	}
	var t time.Duration
	if at, err := time.Parse(time.RFC3339, v); err == nil && !cfg.Epoch.IsZero() {
		t = at.Sub(cfg.Epoch)
	} else if d, err := time.ParseDuration(v); err == nil {
		t = d
	} else {
		return 0, fmt.Errorf("%q: want a duration from the run's start (e.g. 110h) or, for a scenario with a calendar, a time such as 2015-08-04T14:00:00Z", v)
	}
	if t < 0 || t >= cfg.Duration {
		return 0, fmt.Errorf("%s: want a model time from the run's start, %s, to before its end, %s", v, format.ModelTime(cfg.Epoch, 0), format.ModelTime(cfg.Epoch, cfg.Duration))
	}
	return t, nil
}
