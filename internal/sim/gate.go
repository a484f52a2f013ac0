package sim

import (
	"context"
	"sync"
)

// Gate lets the first Open() workers of a pool, by index, work; the others
// wait until it opens wider. It sizes a pool while it runs: a janitor's
// concurrency, workers lost to a crash and restarted.
type Gate struct {
	mu      sync.Mutex
	open    int
	changed chan struct{}
}

// NewGate returns a gate open to n workers.
func NewGate(n int) *Gate { return &Gate{open: n, changed: make(chan struct{})} }

// Set opens the gate to n workers, waking the waiting ones.
func (g *Gate) Set(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = n
	close(g.changed)
	g.changed = make(chan struct{})
}

// Open is how many workers may work.
func (g *Gate) Open() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.open
}

// Wait returns once worker i may work, or false if ctx is done first.
func (g *Gate) Wait(ctx context.Context, i int) bool {
	for {
		g.mu.Lock()
		open, changed := g.open, g.changed
		g.mu.Unlock()
		if i < open {
			return true
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return false
		}
	}
}
