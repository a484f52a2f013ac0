package experiment

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"vmstorm/compare"
	"vmstorm/config"
	"vmstorm/internal/format"
)

// SweepTable is the sweep's grid: the outcomes at each point, and along x
// where the share of stuck replicas crosses one half (the tipping point),
// at each y.
type SweepTable struct {
	Variant string
	X, Y    Axis
	// Cells[x][y] (y 0 when the sweep has one axis).
	Cells [][]RecoveryCell
	// Tipping is the tipping point along x at each y (one for a sweep of
	// one axis); nil when x is not a number (or a model time).
	Tipping []TippingLine
}

// TippingLine is the tipping point along x at one value of y: the points
// it rests on (the grid's, and those its rounds added), and where the
// share of stuck replicas, of those judged (neither overloaded nor never
// removed), crosses one half.
type TippingLine struct {
	Y      string // y's value; "" for a sweep of one axis
	Points []TippingPoint
	// Crossing is the crossing and its interval (compare.CrossHalf), over a
	// design of Design points (the grid's x values and the rounds'); nil
	// when no point has a judged replica, or a point is not complete.
	Crossing *compare.Crossing
	Design   int
	// Rounds is how many rounds added a point on this line.
	Rounds int
	// Incomplete counts the points whose replicas did not all finish.
	Incomplete int
}

// TippingPoint is one point of a tipping line: x's value and place, the
// round that added it (0 for the grid's), and its outcomes.
type TippingPoint struct {
	X     string
	Pos   float64
	Round int
	Cell  RecoveryCell
}

// judgedCount is how many of the cell's replicas count for the tipping
// point: those whose trigger was removed and that were not overloaded.
func (c RecoveryCell) judgedCount() int {
	return c.Count(Recovered) + c.Count(Draining) + c.Count(Stuck)
}

// sweepTable makes the sweep's table from the judged replicas of its
// grid, by point, and of its refinements, by x value and y index.
func sweepTable(e *Experiment, grid map[string][]Result, refined map[refineKey][]Result) *SweepTable {
	s := e.Sweep
	st := &SweepTable{Variant: s.Variant, X: s.X, Y: s.Y}
	ny := max(len(s.Y.Values), 1)
	st.Cells = make([][]RecoveryCell, len(s.X.Values))
	for x := range st.Cells {
		st.Cells[x] = make([]RecoveryCell, ny)
		for y := range ny {
			st.Cells[x][y] = recoveryCell(grid[pointKey(s, x, y)], s.Replicas)
		}
	}
	if !e.Recovery.Asked() {
		return st
	}
	epoch := e.Base.Config.Epoch
	if _, err := s.X.Position(epoch, s.X.Values[0]); err != nil {
		return st // x is not a number: no tipping point along it
	}
	rounds := 0
	if s.Tipping != nil {
		rounds = s.Tipping.Rounds
	}
	for y := range ny {
		line := TippingLine{Design: len(s.X.Values) + rounds}
		if len(s.Y.Values) > 0 {
			line.Y = s.Y.Values[y]
		}
		for x, v := range s.X.Values {
			pos, _ := s.X.Position(epoch, v)
			line.Points = append(line.Points, TippingPoint{X: v, Pos: pos, Cell: st.Cells[x][y]})
		}
		for k, rs := range refined {
			if k.y != y {
				continue
			}
			pos, err := s.X.Position(epoch, k.x)
			if err != nil {
				continue // not a result vmstorm writes: Check refuses it
			}
			line.Points = append(line.Points, TippingPoint{X: k.x, Pos: pos, Round: k.round, Cell: recoveryCell(rs, s.Tipping.Replicas)})
			line.Rounds = max(line.Rounds, k.round)
		}
		slices.SortFunc(line.Points, func(a, b TippingPoint) int { return cmpFloat(a.Pos, b.Pos) })
		line.cross()
		st.Tipping = append(st.Tipping, line)
	}
	return st
}

// cross finds the line's crossing from its complete points with a judged
// replica.
func (l *TippingLine) cross() {
	var counts []compare.Count
	for _, p := range l.Points {
		switch o := p.Cell.Outcome(); {
		case !o.Judged():
			l.Incomplete++
		case p.Cell.judgedCount() > 0:
			counts = append(counts, compare.Count{X: p.Pos, K: p.Cell.Count(Stuck), N: p.Cell.judgedCount()})
		}
	}
	if l.Incomplete > 0 || len(counts) == 0 {
		return
	}
	c, err := compare.CrossHalf(counts, max(l.Design, len(counts)))
	if err != nil {
		panic(fmt.Sprintf("experiment: the tipping point: %v", err)) // the counts are the table's own
	}
	l.Crossing = &c
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// refineKey names a refinement point: its round, x value and y index.
type refineKey struct {
	round int
	x     string
	y     int
}

// pointKey names a grid point.
func pointKey(s *Sweep, x, y int) string {
	if len(s.Y.Values) == 0 {
		return fmt.Sprint([]int{x})
	}
	return fmt.Sprint([]int{x, y})
}

// Rounds are e's tasks round by round, as far as results allow: round 0 is
// the plan (Plan); round k (from 1, up to the sweep's tipping rounds) adds,
// at each y of the sweep, one point along x midway between the two points
// where the share of stuck replicas crosses one half (on the isotonic fit
// of the points so far), with the tipping's replicas, each with its
// control. Round k is known only once every task of the rounds before it
// has its result among results, and is a function of those results: so
// that a merge of one process's results checks them as it checks the
// plan's. A line whose share does not cross one half between two points,
// or whose midpoint cannot be run (its value rounds to an end, or makes a
// run the recovery question refuses), gets no point in that round.
func Rounds(e *Experiment, results []Result) [][]Task {
	rounds := [][]Task{Plan(e)}
	s := e.Sweep
	if s == nil || s.Tipping == nil {
		return rounds
	}
	have := map[string]bool{}
	for _, r := range results {
		have[taskKey(r.Variant, r.Point, r.Refine, r.Replica, r.Control)] = true
	}
	next, pair := len(rounds[0]), 0
	for _, t := range rounds[0] {
		pair = max(pair, t.Pair+1)
	}
	for k := 1; k <= s.Tipping.Rounds; k++ {
		for _, round := range rounds {
			for _, t := range round {
				if !have[taskKey(t.Variant, t.Point, t.Refine, t.Replica, t.Control)] {
					return rounds // an earlier round is not complete
				}
			}
		}
		var before []Result
		for _, r := range results {
			if r.Refine == nil || r.Refine.Round < k {
				before = append(before, r)
			}
		}
		t := summarize(e, before) // checked by the caller, whose rounds these are
		if t.Sweep == nil {
			return rounds
		}
		var tasks []Task
		for y, line := range t.Sweep.Tipping {
			v, cfg, ok := refinement(e, line, y)
			if !ok {
				continue
			}
			controlled := e.Controlled(cfg)
			for r := range s.Tipping.Replicas {
				seed := ReplicaSeed(e.Seed, refineSeed(e, k, y)+r)
				task := Task{Index: next, Pair: pair, Variant: s.Variant, Refine: &Refinement{Round: k, X: v, Y: y}, Replica: r, Seed: seed}
				tasks = append(tasks, task)
				next++
				if controlled {
					task.Index, task.Control = next, true
					tasks = append(tasks, task)
					next++
				}
				pair++
			}
		}
		if len(tasks) == 0 {
			return rounds // no line crosses where it could be refined
		}
		rounds = append(rounds, tasks)
	}
	return rounds
}

// refineSeed is the first replica number of round k's point at y: replicas
// of their own, beyond any grid point's (at most MaxReplicas), so that a
// point chosen from earlier results is run on seeds those results did not
// see, and its share is binomial whatever chose it (compare.CrossHalf).
func refineSeed(e *Experiment, k, y int) int {
	ny := max(len(e.Sweep.Y.Values), 1)
	return MaxReplicas * (1 + (k-1)*ny + y)
}

// refinement is the x value round's point on line (at y's index) takes,
// with its configuration, and false if the line gets none: its share does
// not cross one half between two points, or their midpoint cannot be run.
func refinement(e *Experiment, line TippingLine, y int) (string, config.Config, bool) {
	c := line.Crossing
	if c == nil || !c.Found {
		return "", config.Config{}, false
	}
	i := slices.IndexFunc(c.Fit, func(p float64) bool { return p >= 0.5 })
	lo, hi := c.Points[i-1].X, c.Points[i].X
	s := e.Sweep
	yv := ""
	if len(s.Y.Values) > 0 {
		yv = s.Y.Values[y]
	}
	epoch := e.Base.Config.Epoch
	mid := (lo + hi) / 2
	candidates := []string{s.X.ValueAt(epoch, mid)}
	if r := math.Round(mid); r != mid {
		candidates = append(candidates, strconv.FormatFloat(r, 'f', -1, 64)) // a whole-number key
	}
	base := e.Variants[slices.IndexFunc(e.Variants, func(v Variant) bool { return v.Name == s.Variant })].Config
	for _, v := range candidates {
		pos, err := s.X.Position(epoch, v)
		if err != nil || !(pos > lo && pos < hi) {
			continue // rounds onto an end: nothing between them to refine
		}
		if slices.ContainsFunc(line.Points, func(p TippingPoint) bool { return p.X == v }) {
			continue
		}
		cfg, err := s.AtValue(base, v, yv, e.Recovery)
		if err != nil || e.Recovery.CheckRun(cfg) != nil {
			continue
		}
		return v, cfg, true
	}
	return "", config.Config{}, false
}

// Text says where the line's tipping point is, with its interval, or that
// it has none and why.
func (l TippingLine) Text(s *SweepTable) string {
	key := s.X.Key
	head := "tipping point along " + key
	if l.Y != "" {
		head += " at " + s.Y.Key + " " + l.Y
	}
	c := l.Crossing
	switch {
	case l.Incomplete > 0:
		return fmt.Sprintf("%s: not judged (%d points incomplete)", head, l.Incomplete)
	case c == nil:
		return fmt.Sprintf("%s: none: no point has a replica to judge (every replica overloaded, or its trigger never removed)", head)
	case !c.Monotone():
		return fmt.Sprintf("%s: not found: the share stuck does not rise with %s (a point stuck with confidence lies left of one that is not)", head, key)
	case c.Below:
		return fmt.Sprintf("%s: below the grid: stuck in at least half the judged replicas already at %s%s", head, l.Points[0].X, l.known(s))
	case c.Found:
		return fmt.Sprintf("%s: %s [%s, %s] (%s)", head, l.valueText(s, c.Estimate), l.bound(s, c.Lo), l.bound(s, c.Hi), l.method())
	}
	// None in the grid: say where the replicas were judged, and where
	// they were overloaded.
	var judged, overloaded []string
	lastJudged, firstOverloaded := math.Inf(-1), math.Inf(1)
	for _, p := range l.Points {
		switch {
		case p.Cell.Outcome() == Overloaded:
			overloaded = append(overloaded, p.X)
			firstOverloaded = min(firstOverloaded, p.Pos)
		case p.Cell.judgedCount() > 0:
			judged = append(judged, p.X)
			lastJudged = max(lastJudged, p.Pos)
		}
	}
	why := "the share stuck stays below one half at every point judged (" + strings.Join(judged, ", ") + ")"
	if len(overloaded) > 0 && lastJudged < firstOverloaded {
		why = fmt.Sprintf("the fault drains at every %s below overload (judged at %s; overloaded at %s)", key, strings.Join(judged, ", "), strings.Join(overloaded, ", "))
	} else if len(overloaded) > 0 {
		why += "; overloaded at " + strings.Join(overloaded, ", ")
	}
	return fmt.Sprintf("%s: none in the grid: %s%s", head, why, l.known(s))
}

// known says what the interval does tell when there is no crossing: a
// bound on where one could be, if a point's share was below (or above)
// one half with confidence.
func (l TippingLine) known(s *SweepTable) string {
	c := l.Crossing
	switch {
	case !math.IsInf(c.Lo, 0) && !math.IsInf(c.Hi, 0):
		return fmt.Sprintf("; a crossing would lie in [%s, %s] (%s)", l.bound(s, c.Lo), l.bound(s, c.Hi), l.method())
	case !math.IsInf(c.Lo, 0):
		return fmt.Sprintf("; a crossing would lie above %s (%s)", l.bound(s, c.Lo), l.method())
	case !math.IsInf(c.Hi, 0):
		return fmt.Sprintf("; a crossing would lie at or below %s (%s)", l.bound(s, c.Hi), l.method())
	}
	return ""
}

// bound writes a bound of the interval: a place along x, or an infinity.
func (l TippingLine) bound(s *SweepTable, x float64) string {
	switch {
	case math.IsInf(x, -1):
		return "−∞"
	case math.IsInf(x, 1):
		return "∞"
	}
	return l.valueText(s, x)
}

func (l TippingLine) method() string {
	c := l.Crossing
	return fmt.Sprintf("95%%: each of %d points at %s, Clopper-Pearson; %d rounds", l.Design, LevelText(c.PointLevel), l.Rounds)
}

// valueText writes a place along x: a figure, or a model time.
func (l TippingLine) valueText(s *SweepTable, pos float64) string {
	if s.X.Key == TriggerRemovedKey {
		return format.Duration(roundMinute(pos)) + " into the run"
	}
	return format.Figure(pos)
}

// roundMinute is hours as a duration, to the minute.
func roundMinute(h float64) time.Duration {
	return time.Duration(math.Round(h*60)) * time.Minute
}
