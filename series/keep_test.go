package series

import (
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
