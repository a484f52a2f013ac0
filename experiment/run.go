// Package experiment reads an experiment file (Experiment, ParseExperiment,
// LoadExperiment, the built-in experiments) and runs it: every
// replica of every variant of a base scenario, and every point of its
// sweep, each a run of the model at -speed max in a kernel of its own, in
// parallel on all cores; then it compares the variants on their measures,
// with confidence intervals (package compare), and judges whether each
// returns to healthy by itself once its trigger is removed (the
// metastability verdict).
//
// Data flows one way: the plan of tasks, the runs, one Result per replica
// (which is all a table or a report needs, so that the results of shards
// run on other machines merge into the same table), then the table.
package experiment

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"vmstorm/config"
	"vmstorm/internal/dist"
	"vmstorm/internal/sim"
	"vmstorm/metastable"
	"vmstorm/outcome"
	"vmstorm/pipeline"
	"vmstorm/series"
	"vmstorm/workers"
)

// Task is one run of an experiment: a replica of a variant, or of the
// sweep's variant at one point of its grid or of its tipping point's
// refinement; or the control of one of those, the same run with the same
// seed and its trigger never applied. Index is its place in the plan;
// Pair, shared by a replica and its control, fixes the shard both fall in.
type Task struct {
	Index   int
	Pair    int
	Variant string
	// Point is the sweep's point, as indices into its X and Y values; nil
	// for a variant's replica, and for a refinement's.
	Point []int
	// Refine is the refinement point, for a task of the tipping point's
	// rounds; nil otherwise.
	Refine  *Refinement
	Replica int
	Seed    uint64
	Control bool
}

// Refinement is a point the tipping point's rounds add along the sweep's x:
// its round (from 1), its x value as the axis writes it, and the index of
// its y value (0 for a sweep of one axis).
type Refinement struct {
	Round int    `json:"round"`
	X     string `json:"x"`
	Y     int    `json:"y"`
}

// Swept reports whether the task is the sweep's: at a point of its grid or
// of a refinement.
func (t Task) Swept() bool { return t.Point != nil || t.Refine != nil }

// Plan lists every task of e that the file alone fixes, in a fixed order:
// the replicas of each variant, then the sweep's points, replica by
// replica, each replica followed by its control where it has one
// (Experiment.Controlled). Replica r runs with the same seed in
// every variant and at every point (common random numbers), so that
// differences come from the variants, not the draws. The tipping point's
// rounds come after (Refine): they depend on these tasks' results.
func Plan(e *Experiment) []Task {
	var tasks []Task
	pair := 0
	add := func(variant string, point []int, cfg config.Config, replicas int) {
		controlled := e.Controlled(cfg)
		for r := range replicas {
			t := Task{Index: len(tasks), Pair: pair, Variant: variant, Point: point, Replica: r, Seed: ReplicaSeed(e.Seed, r)}
			tasks = append(tasks, t)
			if controlled {
				t.Index, t.Control = len(tasks), true
				tasks = append(tasks, t)
			}
			pair++
		}
	}
	for _, v := range e.Variants {
		add(v.Name, nil, v.Config, e.Replicas)
	}
	if s := e.Sweep; s != nil {
		base := e.Variants[slices.IndexFunc(e.Variants, func(v Variant) bool { return v.Name == s.Variant })].Config
		for x := range s.X.Values {
			for y := range max(len(s.Y.Values), 1) {
				point := []int{x}
				if len(s.Y.Values) > 0 {
					point = append(point, y)
				}
				cfg, _ := s.At(base, point, e.Recovery) // checked when the file was read
				add(s.Variant, point, cfg, s.Replicas)
			}
		}
	}
	return tasks
}

// ReplicaSeed is the seed of replica r of an experiment seeded with seed:
// never 0, which would mean "pick one".
func ReplicaSeed(seed uint64, r int) uint64 {
	return dist.Stream(seed, uint64(r)).Uint64() | 1
}

// Shard is the tasks of shard i of n (0 <= i < n): every n-th pair of
// tasks from the i-th, so that each shard gets its share of every variant,
// and a replica's control runs in the replica's shard.
func Shard(tasks []Task, i, n int) []Task {
	var out []Task
	for _, t := range tasks {
		if t.Pair%n == i {
			out = append(out, t)
		}
	}
	return out
}

// Config is the configuration task t runs: its variant's, at its sweep
// point, with the recovery question's load, its faults left out for a
// control, with its seed, unpaced.
func Config(e *Experiment, t Task) (config.Config, error) {
	i := slices.IndexFunc(e.Variants, func(v Variant) bool { return v.Name == t.Variant })
	if i < 0 {
		return config.Config{}, fmt.Errorf("experiment %s: no variant %q", e.Name, t.Variant)
	}
	cfg := e.Variants[i].Config
	var err error
	switch s := e.Sweep; {
	case t.Point != nil:
		cfg, err = s.At(cfg, t.Point, e.Recovery)
	case t.Refine != nil:
		y := ""
		if len(s.Y.Values) > 0 {
			y = s.Y.Values[t.Refine.Y]
		}
		cfg, err = s.AtValue(cfg, t.Refine.X, y, e.Recovery)
	}
	if err != nil {
		return cfg, err
	}
	// The hold is placed from the run's own removal, in its control too,
	// which has no fault to remove.
	cfg = e.Recovery.Hold(cfg)
	if t.Control {
		cfg.Timeline, cfg.BreakCleanup = cfg.Timeline.WithoutFaults(), false
	}
	cfg.Seed, cfg.Speed = t.Seed, config.MaxSpeed
	return cfg, nil
}

// GCPercent is the garbage collector's target for a process that runs an
// experiment (see CollectLessOften): collect once the heap is five times
// what it holds, not twice. The replicas hold a few MB between them and
// each spends some hundreds of kB, so at Go's default (100) a collection
// came every 3 MB or so, 400 of them in 1,000 replicas of the default broken
// run, each scanning every goroutine's stack and stopping the world twice:
// a fifth of the CPU on a quiet machine, more on a busy one, where stopping
// the world waits for threads the kernel has set aside. The price is the
// heap's peak, which MemoryFloor bounds.
const GCPercent = 400

// MemoryFloor is the heap that CollectLessOften lets GCPercent fill: past
// it, the collector keeps the heap within twice what it holds, as at Go's
// default. Without it, an experiment that holds much (20 variants of 1,000
// replicas and their report: some 130 MB) peaked at 574 MB, not 262.
const MemoryFloor = 256 << 20

// memoryLimit is the soft memory limit for a heap that holds live bytes:
// MemoryFloor, or twice live once that is more.
func memoryLimit(live uint64) int64 { return max(MemoryFloor, 2*int64(live)) }

// CollectLessOften sets the garbage collector's target to GCPercent, with
// a soft memory limit (runtime/debug.SetMemoryLimit) that keeps the heap
// within memoryLimit of what it holds, checked every quarter of a second
// by a goroutine of its own, unless the environment sets GOGC or
// GOMEMLIMIT; it returns how to set both back, which stops that goroutine
// and waits for it. It is for a process whose work is an experiment (the
// command, a benchmark), not for Run to do: the target and the limit are
// the whole process's.
func CollectLessOften() (restore func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	was, wasLimit := debug.SetGCPercent(GCPercent), debug.SetMemoryLimit(MemoryFloor)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				followHeap()
			}
		}
	})
	return func() {
		close(stop)
		wg.Wait()
		debug.SetGCPercent(was)
		debug.SetMemoryLimit(wasLimit)
	}
}

// followHeap sets the soft memory limit to memoryLimit of the heap's live
// bytes, as the last collection found them.
func followHeap() {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	metrics.Read(sample)
	if sample[0].Value.Kind() == metrics.KindUint64 {
		debug.SetMemoryLimit(memoryLimit(sample[0].Value.Uint64()))
	}
}

// ErrInterrupted says a task was cut short: its result is not kept.
var ErrInterrupted = errors.New("interrupted")

// Run runs tasks, at most parallel at once (0 for one per core), each in
// a kernel of its own, started in startOrder's order (the sweep's points
// spread over its grid), and calls done with each result as it comes, from
// one goroutine at a time. It returns when every task has run, or, once
// ctx is done, when the tasks under way have stopped; their results are
// not given to done, and the error is ErrInterrupted.
func Run(ctx context.Context, e *Experiment, tasks []Task, parallel int, done func(Result)) error {
	if parallel <= 0 {
		parallel = runtime.GOMAXPROCS(0)
	}
	shared := &workers.Shared{Max: SharedBudget(e)}
	// The replicas' processes run on goroutines that the replicas before
	// them ran on: each run starts hundreds.
	pool := sim.NewPool()
	defer pool.Close() // after g.Wait: every replica has returned
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	var mu sync.Mutex
	for _, t := range startOrder(tasks) {
		if gctx.Err() != nil {
			break
		}
		g.Go(func() error {
			r, err := runTask(gctx, e, t, shared, pool)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			done(r)
			return nil
		})
	}
	err := g.Wait()
	if ctx.Err() != nil {
		return ErrInterrupted
	}
	return err
}

// startOrder is the order Run starts tasks in: the variants' replicas as
// given, then the sweep's, a point at a time (its replicas and their
// controls together, as given), the points spread over the grid by a
// fixed stride through them (near their number over the golden ratio, and
// prime to it), not row by row. A sweep's points differ in cost (a point
// of twice the arrivals runs twice the jobs); spread, the rate of the runs
// done so far, from which an experiment's progress estimates the time
// left, is the whole sweep's from its first minutes. Row by row it was its
// first rows', the cheapest in the 20 x 20 map, whose estimate was then a
// third of the time left with more than half its runs done. An
// interrupted sweep has whole points all over its grid, a coarser map,
// where it had its first rows. What a run does never depends on when it
// starts.
func startOrder(tasks []Task) []Task {
	out := make([]Task, 0, len(tasks))
	var points [][]Task
	for _, t := range tasks {
		switch {
		case !t.Swept():
			out = append(out, t)
		case len(points) > 0 && samePoint(points[len(points)-1][0], t):
			points[len(points)-1] = append(points[len(points)-1], t)
		default:
			points = append(points, []Task{t})
		}
	}
	n := len(points)
	stride := max(int(float64(n)/math.Phi), 1)
	for gcd(stride, n) != 1 {
		stride++
	}
	for k := range n {
		out = append(out, points[k*stride%n]...)
	}
	return out
}

// samePoint reports whether swept tasks a and b run at one point: of the
// grid, or of one refinement.
func samePoint(a, b Task) bool {
	if (a.Refine == nil) != (b.Refine == nil) {
		return false
	}
	return slices.Equal(a.Point, b.Point) && (a.Refine == nil || *a.Refine == *b.Refine)
}

// gcd is the greatest common divisor of a and b (a, b > 0).
func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// RunAll runs every task of e in one process, round by round (Rounds):
// the plan, then each of the tipping point's rounds once the rounds before
// it have all their results, which choose its points. started, if not nil,
// gets each round's tasks before they run, done each result as Run gives
// it. It returns as Run does; an interrupted round runs no round after it.
func RunAll(ctx context.Context, e *Experiment, parallel int, started func([]Task), done func(Result)) error {
	var kept []Result
	for k := 0; ; k++ {
		rounds := Rounds(e, kept)
		if k >= len(rounds) {
			return nil
		}
		if started != nil {
			started(rounds[k])
		}
		err := Run(ctx, e, rounds[k], parallel, func(r Result) {
			done(r)
			r.Curves = Curves{} // the rounds need the outcomes, not the curves
			kept = append(kept, r)
		})
		if err != nil {
			return err
		}
	}
}

// SharedBudget is the memory budget of the replicas that run at once: the
// largest of the variants' own (max_held), so that a replica alone never
// reaches it before its own budget, and its result never depends on how
// many ran beside it.
func SharedBudget(e *Experiment) int64 {
	m := e.Base.Config.MaxHeld
	for _, v := range e.Variants {
		m = max(m, v.Config.MaxHeld)
	}
	return m
}

// RunTask runs one task and measures it.
func RunTask(ctx context.Context, e *Experiment, t Task) (Result, error) {
	return runTask(ctx, e, t, nil, nil)
}

// runTask is RunTask within a memory budget shared with the tasks that run
// at once, its processes on goroutines from pool (nil for new ones). A task
// stopped by the budget has no result: the error says to run fewer at once.
func runTask(ctx context.Context, e *Experiment, t Task, shared *workers.Shared, pool *sim.Pool) (Result, error) {
	cfg, err := Config(e, t)
	if err != nil {
		return Result{}, err
	}
	var rec *metastable.Recorder
	var watchers []series.Watcher
	if e.Recovery.Asked() {
		rec = metastable.NewRecorder(question(e, cfg), cfg.Duration, cfg.SampleEvery)
		watchers = append(watchers, rec)
	}
	rows, _ := rowArrays.Get().(*[]series.Row)
	if rows == nil {
		rows = new([]series.Row)
	}
	k := pipeline.NewKernel(cfg, sim.Serial)
	k.Reuse(pool)
	o, err := outcome.Run(ctx, cfg, k, outcome.Options{Checks: nil, KeepRows: keepRows, Shared: shared, Rows: *rows, Watchers: watchers})
	if o != nil {
		// Measured (below) before the next replica takes them.
		defer func() { *rows = o.Rows; rowArrays.Put(rows) }()
	}
	if ctx.Err() != nil {
		return Result{}, ErrInterrupted
	}
	if o == nil {
		return Result{}, fmt.Errorf("experiment %s, variant %s, replica %d: %w", e.Name, t.Variant, t.Replica, err)
	}
	if se, ok := errors.AsType[*workers.SharedBudgetError](err); ok {
		return Result{}, fmt.Errorf("experiment %s: the replicas running at once held %d jobs and VMs together, the most the largest max_held of its variants (%d) allows; run fewer at once (-parallel)",
			e.Name, se.Held, se.Max)
	}
	r := measure(e, t, cfg, o, rec)
	if err != nil {
		r.Error = err.Error() // the memory budget, for one: the run stopped early
	}
	return r, nil
}

// keepRows is the rows a replica keeps for its curves.
const keepRows = 4 * CurvePoints

// rowArrays are the arrays of rows of replicas measured, for the next ones
// to keep theirs in (a replica's rows are a good part of what it would
// otherwise allocate).
var rowArrays sync.Pool

// measure reads task t's result from its outcome and, when the
// experiment asks the recovery question, from what its recorder saw.
func measure(e *Experiment, t Task, cfg config.Config, o *outcome.Outcome, rec *metastable.Recorder) Result {
	r := Result{
		Experiment: e.Name, File: Fingerprint(e), Variant: t.Variant, Point: t.Point, Refine: t.Refine, Replica: t.Replica, Seed: Seed(t.Seed),
		Control: t.Control, Ended: o.Summary.Ended, Measures: map[string]*float64{},
	}
	for _, name := range e.Measures {
		m, _ := LookupMeasure(name)
		if v, ok := m.Of(o); ok {
			r.Measures[name] = &v
			continue
		}
		r.Measures[name] = nil
		if c, ok := m.CensoredAt(o); ok {
			if r.Censored == nil {
				r.Censored = map[string]float64{}
			}
			r.Censored[name] = c
		}
	}
	if rec != nil {
		tr := rec.Trace(o.Summary.Model)
		if !t.Control {
			tr.BacklogNormal, tr.LeakNormal = nil, nil // a control's, for its replica's judgement
		}
		r.Trace = &tr
	}
	r.Curves = curves(o.Rows, cfg.Duration)
	return r
}

// question is the recovery question as a recorder of a run of cfg asks it.
func question(e *Experiment, cfg config.Config) metastable.Question {
	rc := e.Recovery
	return metastable.Question{IsRemoval: rc.IsRemoval, Horizon: rc.Horizon, Trend: rc.Trend, Cycle: rc.Cycle(cfg), Drained: cfg.Drained}
}

// CurvePoints is how many points of each curve a result keeps: evenly
// spaced over the run.
const CurvePoints = 600

// Curves are a replica's state over the run, at CurvePoints evenly spaced
// model times, for the report's bands: the true VM count, the backlog, and
// the requeue rate (per model minute, over the run's window).
type Curves struct {
	StepS    float64   `json:"step_s"`
	VMs      []float64 `json:"vms"`
	Backlog  []float64 `json:"backlog"`
	Requeues []float64 `json:"requeues_per_min"`
}

// CurveReplicas is how many replicas of each variant the report draws
// curves from, at most: the first ones, so that the bands do not depend on
// which shard ran which replica. CurveBudget bounds the replicas whose
// curves an experiment's report holds in all (each replica's are
// CurvePoints points of three curves, 14 KB), so that a large experiment's
// curves stay within memory: a variant of an experiment of more than
// CurveBudget/CurveReplicas variants draws fewer (DrawnReplicas).
const (
	CurveReplicas = 1000
	CurveBudget   = 5_000
)

// DrawnReplicas is how many replicas of each variant of e the report draws
// curves from: CurveReplicas, or fewer for an experiment of many variants,
// CurveBudget among them all (none for more than CurveBudget variants).
func DrawnReplicas(e *Experiment) int {
	return min(CurveReplicas, CurveBudget/max(len(e.Variants), 1))
}

// Drawn reports whether the report of e draws r's curves: a variant's (a
// sweep point's and a control's are not drawn), of one of its first
// DrawnReplicas(e) replicas.
func Drawn(e *Experiment, r Result) bool {
	return !r.Swept() && !r.Control && r.Replica < DrawnReplicas(e)
}

// curves samples rows at the grid's times: each point takes the latest row
// at or before it.
func curves(rows []series.Row, d time.Duration) Curves {
	c := Curves{StepS: (d / CurvePoints).Seconds(),
		VMs: make([]float64, 0, CurvePoints), Backlog: make([]float64, 0, CurvePoints), Requeues: make([]float64, 0, CurvePoints)}
	i := 0
	for k := range CurvePoints {
		t := time.Duration(k+1) * d / CurvePoints
		for i+1 < len(rows) && rows[i+1].T <= t {
			i++
		}
		if len(rows) == 0 || rows[i].T > t {
			c.VMs, c.Backlog, c.Requeues = append(c.VMs, 0), append(c.Backlog, 0), append(c.Requeues, 0)
			continue
		}
		c.VMs = append(c.VMs, float64(rows[i].VMs))
		c.Backlog = append(c.Backlog, float64(rows[i].Backlog))
		c.Requeues = append(c.Requeues, round(rows[i].Rates.Requeues))
	}
	return c
}

// round keeps a rate to two decimals, as the results file writes it.
func round(x float64) float64 { return math.Round(x*100) / 100 }
