package series

import (
	"fmt"
	"time"
)

// MaxHeld is the budget for what a run keeps of its timeline beyond its
// rows: a million things of about a hundred bytes each, about 100 MB. The
// analysis counts its marks, alerts' changes and phases against it
// (analysis.MaxHeld is this figure), and a Keeper its marks. A run of
// 87,600 hours sampled every second, with its alerts changing at every
// sample, would pass it; no built-in run comes near.
const MaxHeld = 1_000_000

// Keeper keeps a bounded number of a run's rows, spread evenly over the
// run, and its marks up to MaxHeld: what the report's charts draw. When it
// holds its limit of rows, it drops every other row it holds and keeps
// every other row from then on, so a run of any length keeps between
// Limit/2 and Limit rows, the first and the last among them. Marks are not
// thinned, since each is an event the charts name: past MaxHeld of them it
// keeps no more, and Err says from when. It is a Watcher.
type Keeper struct {
	limit  int
	stride int // keep one row in stride
	seen   int // rows seen since the last one kept
	rows   []Row
	last   Row // the newest row seen, kept or not
	any    bool
	marks  []Mark

	maxMarks int           // MaxHeld, but in a test
	over     bool          // a mark was not kept ...
	overAt   time.Duration // ... the first of them at this model time
}

// NewKeeper returns a Keeper of at most limit rows (at least 4).
func NewKeeper(limit int) *Keeper { return NewKeeperInto(limit, nil) }

// NewKeeperInto is NewKeeper keeping its rows in rows's array (its length
// ignored; its capacity, if it has none, the rows expected): runs made one
// after another may each reuse the last one's rows, once it has done with
// them, rather than grow a new array of its own.
func NewKeeperInto(limit int, rows []Row) *Keeper {
	clear(rows[:cap(rows)]) // hold nothing of the last run's
	return &Keeper{limit: max(limit, 4), stride: 1, rows: rows[:0], maxMarks: MaxHeld}
}

// Row offers r to the keeper.
func (k *Keeper) Row(r Row) {
	r.Changes = nil // the log's; the charts do not need them
	k.last, k.any = r, true
	k.seen++
	if k.seen < k.stride {
		return
	}
	k.seen = 0
	if len(k.rows) == k.limit {
		kept := k.rows[:0]
		for i := 0; i < len(k.rows); i += 2 {
			kept = append(kept, k.rows[i])
		}
		clear(k.rows[len(kept):])
		k.rows = kept
		k.stride *= 2
	}
	k.rows = append(k.rows, r)
}

// Mark keeps m, while the keeper holds fewer than MaxHeld marks.
func (k *Keeper) Mark(m Mark) {
	if len(k.marks) >= k.maxMarks {
		if !k.over {
			k.over, k.overAt = true, m.T
		}
		return
	}
	k.marks = append(k.marks, m)
}

// Err is nil while the keeper has kept every mark it was given. Past its
// budget (MaxHeld marks) it keeps no more, and Err says where it stopped:
// Marks are then part of the run's, and not to be drawn as its own.
func (k *Keeper) Err() error {
	if !k.over {
		return nil
	}
	return fmt.Errorf("more than %d marks to keep for the charts (the first not kept at model second %s): the marks kept are part of the run's",
		k.maxMarks, Seconds(k.overAt))
}

// Rows are the rows kept, in order, ending with the newest row seen.
func (k *Keeper) Rows() []Row { return k.rowsIn(append([]Row(nil), k.rows...)) }

// Take is Rows in the keeper's own array, not a copy: call it once no row
// is to come, and use the keeper no more.
func (k *Keeper) Take() []Row {
	out := k.rowsIn(k.rows)
	k.rows = nil
	return out
}

// rowsIn is Rows, given the rows kept in out.
func (k *Keeper) rowsIn(out []Row) []Row {
	switch {
	case !k.any || len(out) > 0 && out[len(out)-1].T == k.last.T:
	case len(out) == k.limit:
		out[len(out)-1] = k.last // the newest in place of the newest kept: at most limit
	default:
		out = append(out, k.last)
	}
	return out
}

// Marks are the marks kept, in order.
func (k *Keeper) Marks() []Mark { return append([]Mark(nil), k.marks...) }
