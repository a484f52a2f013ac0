package series

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// offer gives k the rows at 1, 2, ... n model seconds.
func offer(k *Keeper, n int) {
	for i := 1; i <= n; i++ {
		k.Row(Row{Sample: Sample{T: time.Duration(i) * time.Second}, Changes: []Change{{Event: "x"}}})
	}
}

// TestKeeperKeepsABoundedSpread: at most the limit, at least half of it
// once it has seen that many, the first and the newest among them, in
// order, and none of the log's changes; Take gives the same rows as Rows.
func TestKeeperKeepsABoundedSpread(t *testing.T) {
	for _, tc := range []struct{ limit, n int }{{4, 3}, {4, 4}, {4, 5}, {10, 1000}, {2400, 360}, {2400, 10_000}} {
		k := NewKeeper(tc.limit)
		offer(k, tc.n)
		rows := k.Rows()
		assert.LessOrEqual(t, len(rows), tc.limit, "%+v", tc)
		assert.GreaterOrEqual(t, len(rows), min(tc.n, tc.limit/2), "%+v", tc)
		assert.Equal(t, time.Second, rows[0].T, "%+v: the first", tc)
		assert.Equal(t, time.Duration(tc.n)*time.Second, rows[len(rows)-1].T, "%+v: the newest", tc)
		for i := 1; i < len(rows); i++ {
			require.Less(t, rows[i-1].T, rows[i].T, "%+v", tc)
			require.Nil(t, rows[i].Changes)
		}
		assert.Equal(t, rows, k.Take(), "%+v", tc)
	}
}

// TestKeeperIntoReusesTheArray: a keeper given the last run's rows keeps
// its own in their array, the same rows a new keeper keeps, and nothing of
// the last run's beyond them.
func TestKeeperIntoReusesTheArray(t *testing.T) {
	last := NewKeeper(100)
	offer(last, 90)
	old := last.Take()
	require.Len(t, old, 90)

	fresh := NewKeeper(100)
	offer(fresh, 40)
	k := NewKeeperInto(100, old)
	offer(k, 40)
	rows := k.Take()
	assert.Equal(t, fresh.Rows(), rows)
	assert.Same(t, &old[0], &rows[0], "in the array given")
	assert.Zero(t, old[:cap(old)][len(rows)], "nothing of the last run's held beyond its rows")
}

// TestKeeperBoundsItsMarks: a keeper keeps marks up to its budget, in
// order, and no more; past it Err names the budget and the model time of
// the first mark not kept, and Marks are the ones kept. Within the budget
// Err is nil.
func TestKeeperBoundsItsMarks(t *testing.T) {
	for _, tc := range []struct {
		name      string
		budget, n int
		kept      int
		overAt    string // the first mark not kept, in model seconds; "" if none
	}{
		{"within", 3, 2, 2, ""},
		{"at", 3, 3, 3, ""},
		{"past", 3, 5, 3, "4"},
		{"far past", 1, 100, 1, "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			k := NewKeeper(10)
			require.Equal(t, MaxHeld, k.maxMarks, "a keeper's budget is MaxHeld")
			k.maxMarks = tc.budget
			for i := 1; i <= tc.n; i++ {
				k.Mark(Mark{T: time.Duration(i) * time.Second, Name: "m"})
			}
			marks := k.Marks()
			require.Len(t, marks, tc.kept)
			for i, m := range marks {
				assert.Equal(t, time.Duration(i+1)*time.Second, m.T, "the first marks, in order")
			}
			if tc.overAt == "" {
				assert.NoError(t, k.Err())
				return
			}
			require.Error(t, k.Err())
			assert.Contains(t, k.Err().Error(), fmt.Sprintf("more than %d marks", tc.budget))
			assert.Contains(t, k.Err().Error(), "model second "+tc.overAt+")")
		})
	}
}
