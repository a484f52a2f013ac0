package analysis_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"vmstorm/analysis"
	"vmstorm/incident"
	"vmstorm/series"
)

// TestTheAnalysisHoldsAtMostItsBudget: an Analyzer keeps at most its
// budget of marks and alerts' changes together, however many a run gives:
// within it, everything is kept and Err is nil; past it, no more is kept,
// the samples are still judged for the watchers, and Err says where it
// stopped keeping, so that no judgement is made from part of the run.
func TestTheAnalysisHoldsAtMostItsBudget(t *testing.T) {
	const budget = 40
	defer analysis.SetMaxHeld(budget)()
	// A backlog rule that fires and resolves at once: a '#' minute fires
	// it, a '.' minute resolves it, two changes per "#." pair.
	for _, tt := range []struct {
		name         string
		marks, flaps int // marks given, and alert firings (each resolved)
		over         bool
		firstNotHeld time.Duration
	}{
		{"marks within", budget, 0, false, 0},
		{"marks past", budget + 1, 0, true, minute(1)},
		{"alerts' changes within", 0, budget / 2, false, 0},
		{"alerts' changes past", 0, budget/2 + 1, true, minute(2*(budget/2+1) - 1)},
		{"both past", budget - 10, 10, true, minute(11)}, // the 11th change, at minute 11, is the first past
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			a := analysis.New(backlogRule(0, 0), incident.Classify, nil, rec)
			for i := range tt.marks {
				a.Mark(series.Mark{T: minute(1), Name: fmt.Sprintf("m%d", i)})
			}
			samples := backlogPattern(strings.Repeat("#.", tt.flaps) + "..")
			for _, s := range samples {
				a.Sample(s)
			}
			assert.Len(t, rec.rows, len(samples), "every sample is judged for the watchers")
			assert.Len(t, rec.marks, tt.marks, "every mark is passed on")
			r := a.Result()
			held := len(r.Marks) + len(r.Alerts) + max(len(r.Phases)-1, 0) // the current phase is not held
			assert.LessOrEqual(t, held, budget, "held within the budget")
			if !tt.over {
				require.NoError(t, a.Err())
				assert.Len(t, r.Marks, tt.marks)
				assert.Len(t, r.Alerts, 2*tt.flaps)
				return
			}
			assert.Equal(t, budget, held, "held up to the budget")
			require.Error(t, a.Err())
			assert.Equal(t, fmt.Sprintf("more than %d marks, alerts' changes and phases to hold (the first not held at model second %s): the analysis does not judge a run from part of them",
				budget, series.Seconds(tt.firstNotHeld)), a.Err().Error())
		})
	}
}

// TestAReplayerRefusesPastTheBudget: a series judged a row at a time is
// refused at the row whose marks pass the budget, including marks read
// ahead of their time, which wait to be judged; a series within it is
// judged whole.
func TestAReplayerRefusesPastTheBudget(t *testing.T) {
	const budget = 30
	defer analysis.SetMaxHeld(budget)()
	marks := func(at time.Duration, n int) []series.Mark {
		out := make([]series.Mark, n)
		for i := range out {
			out[i] = series.Mark{T: at, Name: fmt.Sprintf("m%d", i)}
		}
		return out
	}
	row := func(m int) series.Row { return series.Row{Sample: series.Sample{T: minute(m), Capacity: 10}} }

	t.Run("within", func(t *testing.T) {
		p := analysis.NewReplayer(quiet(), incident.Classify, nil)
		require.NoError(t, p.Row(row(1), marks(minute(1), budget/2)))
		require.NoError(t, p.Row(row(2), marks(minute(2), budget/2)))
		assert.Len(t, p.Result().Marks, budget)
		assert.NoError(t, p.Err())
	})
	t.Run("past, at their row", func(t *testing.T) {
		p := analysis.NewReplayer(quiet(), incident.Classify, nil)
		require.NoError(t, p.Row(row(1), marks(minute(1), budget/2)))
		require.ErrorContains(t, p.Row(row(2), marks(minute(2), budget/2+1)), fmt.Sprintf("more than %d marks", budget))
	})
	t.Run("past, read ahead of their time", func(t *testing.T) {
		p := analysis.NewReplayer(quiet(), incident.Classify, nil)
		require.NoError(t, p.Row(row(1), marks(minute(1), 10)))
		require.ErrorContains(t, p.Row(row(2), marks(minute(60), budget-10+1)), "at model second 3600")
	})
}

// TestReplayPanicsPastTheBudget: Replay, which holds a series whole, does
// not judge part of one.
func TestReplayPanicsPastTheBudget(t *testing.T) {
	defer analysis.SetMaxHeld(3)()
	marks := []series.Mark{{T: minute(1), Name: "a"}, {T: minute(1), Name: "b"}, {T: minute(1), Name: "c"}, {T: minute(1), Name: "d"}}
	rows := []series.Row{{Sample: series.Sample{T: minute(1), Capacity: 10}}}
	assert.PanicsWithValue(t, "analysis.Replay: more than 3 marks, alerts' changes and phases to hold (the first not held at model second 60): the analysis does not judge a run from part of them",
		func() { analysis.Replay(quiet(), incident.Classify, nil, rows, marks) })
	assert.NotPanics(t, func() { analysis.Replay(quiet(), incident.Classify, nil, rows, marks[:3]) })
}
