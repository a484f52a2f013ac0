package sim

import "context"

// Gate lets the first Open() workers of a pool, by index, work; the others
// wait until it opens wider. It sizes a pool while it runs: a janitor's
// concurrency, workers lost to a crash and restarted.
type Gate struct {
	k       *Kernel
	open    int
	waiting []gateEntry // guarded by k.mu
}

type gateEntry struct {
	entry
	i int
}

// NewGate returns a gate of k open to n workers.
func NewGate(k *Kernel, n int) *Gate { return &Gate{k: k, open: n} }

// Set opens the gate to n workers, waking the waiting ones it now lets
// through, in the order they came.
func (g *Gate) Set(n int) {
	g.k.lock()
	defer g.k.unlock()
	g.open = n
	kept := g.waiting[:0]
	for _, w := range g.waiting {
		switch {
		case !w.live():
		case w.i < n:
			g.k.wakeLocked(w.p, delivered)
		default:
			kept = append(kept, w)
		}
	}
	clear(g.waiting[len(kept):])
	g.waiting = kept
}

// Open is how many workers may work.
func (g *Gate) Open() int {
	g.k.lock()
	defer g.k.unlock()
	return g.open
}

// Wait returns once worker i may work, or false if the kernel is stopped
// first.
func (g *Gate) Wait(ctx context.Context, i int) bool {
	p := procOf(ctx)
	k := g.k
	k.lock()
	if k.stopped {
		k.unlock()
		return false
	}
	if i < g.open {
		k.unlock()
		return true
	}
	k.beginLocked(p, true)
	g.waiting = append(g.waiting, gateEntry{entry{p, p.gen}, i})
	return k.block(p) == delivered
}
