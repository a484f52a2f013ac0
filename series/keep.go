package series

// Keeper keeps a bounded number of a run's rows, spread evenly over the
// run, and all of its marks: what the report's charts draw. When it holds
// its limit, it drops every other row it holds and keeps every other row
// from then on, so a run of any length keeps between Limit/2 and Limit
// rows, the first and the last among them. It is a Watcher.
type Keeper struct {
	limit  int
	stride int // keep one row in stride
	seen   int // rows seen since the last one kept
	rows   []Row
	last   Row // the newest row seen, kept or not
	any    bool
	marks  []Mark
}

// NewKeeper returns a Keeper of at most limit rows (at least 4).
func NewKeeper(limit int) *Keeper { return NewKeeperInto(limit, nil) }

// NewKeeperInto is NewKeeper keeping its rows in rows's array (its length
// ignored; its capacity, if it has none, the rows expected): runs made one
// after another may each reuse the last one's rows, once it has done with
// them, rather than grow a new array of its own.
func NewKeeperInto(limit int, rows []Row) *Keeper {
	clear(rows[:cap(rows)]) // hold nothing of the last run's
	return &Keeper{limit: max(limit, 4), stride: 1, rows: rows[:0]}
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

// Mark keeps m.
func (k *Keeper) Mark(m Mark) { k.marks = append(k.marks, m) }

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
