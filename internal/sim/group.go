package sim

import "context"

// Group is a set of model processes with an owner that waits for them, as
// errgroup.Group is for goroutines (errgroup's Wait blocks outside the
// kernel, where the kernel cannot see it). Its zero value is ready to use;
// one process owns it, starts its members and waits for them.
type Group struct {
	n      int   // members still running, guarded by k.mu
	waiter *proc // the owner, while it waits
}

// Go starts f as a member of g; ctx must carry a process, whose kernel runs
// the new one.
func (g *Group) Go(ctx context.Context, f func(ctx context.Context)) {
	k := procOf(ctx).k
	k.lock()
	defer k.unlock()
	g.n++
	k.goLocked(ctx, f, g)
}

// Wait waits until every member of g has returned. Stopping the kernel does
// not end the wait: it ends the members, and so the wait.
func (g *Group) Wait(ctx context.Context) {
	p := procOf(ctx)
	k := p.k
	k.lock()
	if g.n == 0 {
		k.unlock()
		return
	}
	k.beginLocked(p, false)
	g.waiter = p
	k.block(p)
}
