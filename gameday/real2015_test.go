package gameday_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/experiment"
	"vmstorm/gameday"
	"vmstorm/incident"
	"vmstorm/scenario"
)

// The 2015 game, whole: travis-2015-osx from its default start (4 hours
// before its responders' first action) to its end, at the fastest pace,
// with the scorecard's comparisons (the responders' run and the six
// variants of travis-2015-what-if). It takes tens of seconds under -race,
// so it is opt-in:
//
//	GAMEDAY_2015=1 go test ./gameday -run Game2015 -v
//	go test ./gameday -run '^$' -bench Game2015 -benchtime 3x
//
// The test requires that a player who takes the responders' actions at
// their times scores exactly as they do; the benchmark reports the wall
// times of the game's phases.

// responders2015 is travis-2015-osx with its seed, the what-if experiment
// the game compares with, the responders' actions as a player's moves at
// their model times, and the game's start (4 hours before the first).
func responders2015(tb testing.TB) (*scenario.Scenario, *experiment.Experiment, []move, time.Duration) {
	tb.Helper()
	sc, err := scenario.Load("travis-2015-osx")
	require.NoError(tb, err)
	whatIf, err := experiment.LoadExperiment("travis-2015-what-if")
	require.NoError(tb, err)
	var moves []move
	for _, ev := range sc.Config.Timeline {
		if !incident.IsOperatorAction(ev.Action) || ev.AfterDetection {
			continue
		}
		at := ev.At
		ev.At = 0
		if n := len(moves); n > 0 && moves[n-1].At == at {
			moves[n-1].Events = append(moves[n-1].Events, ev)
			continue
		}
		require.Greater(tb, at, time.Duration(0))
		moves = append(moves, move{At: at, Events: []incident.Event{ev}})
	}
	require.NotEmpty(tb, moves)
	return sc, whatIf, moves, moves[0].At - 4*time.Hour
}

// phases are the wall times of a game's phases.
type phases struct {
	toStart, play, end time.Duration // to the start's pause; from it to the last move; from "finish" to the scorecard
}

// play2015 plays the 2015 game at the fastest pace, taking moves at their
// times (a pause at each), then ends it and waits for the scorecard.
func play2015(tb testing.TB, moves []move) (*gameday.Game, phases) {
	tb.Helper()
	sc, whatIf, _, start := responders2015(tb)
	g, err := gameday.New(gameday.Options{Scenario: sc, Start: start, Pace: -1, Idle: 10 * time.Minute, WhatIf: whatIf})
	require.NoError(tb, err)
	t0 := time.Now()
	ctx, stop := running(tb, g)
	defer stop()
	var ph phases
	at, ok := g.WaitPaused(ctx)
	require.True(tb, ok)
	require.Equal(tb, g.Start(), at, "the game waits at its start")
	ph.toStart = time.Since(t0)
	t1 := time.Now()
	for _, m := range moves {
		require.NoError(tb, g.Control(gameday.Control{Op: "pause_at", PauseAt: m.At}))
		at, ok := g.WaitPaused(ctx)
		require.True(tb, ok)
		require.Equal(tb, m.At, at)
		for _, ev := range m.Events {
			_, err := g.Act(ev, "test")
			require.NoError(tb, err)
		}
	}
	ph.play = time.Since(t1)
	t2 := time.Now()
	require.NoError(tb, g.Control(gameday.Control{Op: "finish"}))
	<-g.Ended()
	ph.end = time.Since(t2)
	return g, ph
}

// TestGame2015AsTheResponders plays the whole 2015 game taking the
// responders' actions at their times: the scorecard gives the player the
// responders' figures, every one, and a what-if variant for each of the
// experiment's. A move placed a minute off, or a game that is not the
// scenario's run, changes the figures.
func TestGame2015AsTheResponders(t *testing.T) {
	if os.Getenv("GAMEDAY_2015") == "" {
		t.Skip("the whole 2015 game takes tens of seconds: set GAMEDAY_2015=1 to play it")
	}
	_, whatIf, moves, _ := responders2015(t)
	g, ph := play2015(t, moves)
	t.Logf("to the start %v, the responders' %d moves %v, from finish to the scorecard %v", ph.toStart, len(moves), ph.play, ph.end)
	card, ok := g.Scorecard()
	require.True(t, ok)
	require.Empty(t, card.Err)
	want := card.Responders
	want.Name = "you"
	assert.Equal(t, want, card.Player, "the responders' actions at their times score as the responders")
	assert.True(t, card.Player.HasDetect && card.Player.HasMitigate && card.Player.HasRecover, "2015 was detected, mitigated and recovered from")
	assert.Len(t, card.Variants, len(whatIf.Variants))
}

// BenchmarkGame2015 plays the whole 2015 game at the fastest pace, as the
// responders did (responders) or ending it at its start (finish-at-start),
// and reports the wall seconds to the start's pause, of the play, and from
// "finish" to the scorecard (the player's run to its end, and the
// comparisons, which began with the game).
func BenchmarkGame2015(b *testing.B) {
	_, _, moves, _ := responders2015(b)
	for _, c := range []struct {
		name  string
		moves []move
	}{{"responders", moves}, {"finish-at-start", nil}} {
		b.Run(c.name, func(b *testing.B) {
			var sum phases
			for b.Loop() {
				_, ph := play2015(b, c.moves)
				sum.toStart += ph.toStart
				sum.play += ph.play
				sum.end += ph.end
			}
			n := float64(b.N)
			b.ReportMetric(sum.toStart.Seconds()/n, "to-start-s")
			b.ReportMetric(sum.play.Seconds()/n, "play-s")
			b.ReportMetric(sum.end.Seconds()/n, "end-s")
		})
	}
}
