package experiment

import (
	"encoding/json"
	"io"
	"math"

	"vmstorm/compare"
)

// The kinds of a verdicts file's lines (-verdicts).
const (
	KindComparison = "comparison"
	KindFamily     = "family"
	KindRecovery   = "recovery"
	KindSweep      = "sweep"
	KindTipping    = "tipping"
)

// Number is a figure of a verdicts file: JSON has no infinity, so an
// infinite bound (an unbounded interval, a median not reached) is written
// as null, which the field's documentation reads.
type Number float64

// MarshalJSON writes the number, or null if it is not finite.
func (n Number) MarshalJSON() ([]byte, error) {
	if math.IsInf(float64(n), 0) || math.IsNaN(float64(n)) {
		return []byte("null"), nil
	}
	return json.Marshal(float64(n))
}

// ComparisonRecord is one comparison of a variant with the baseline on one
// measure: its verdict (or why it has none) and its difference.
type ComparisonRecord struct {
	Kind       string `json:"kind"`
	Experiment string `json:"experiment"`
	Measure    string `json:"measure"`
	Unit       string `json:"unit,omitempty"`
	Better     string `json:"better"`
	Variant    string `json:"variant"`
	Baseline   string `json:"baseline"`
	// Text is the table's verdict column, word for word.
	Text string `json:"text"`
	// Verdict is better, worse, equivalent or inconclusive; absent, with
	// NoVerdict saying why, when the comparison has none.
	Verdict      string      `json:"verdict,omitempty"`
	WithinMargin bool        `json:"within_margin,omitempty"`
	NoVerdict    string      `json:"no_verdict,omitempty"`
	Margin       float64     `json:"margin"`
	MarginRule   string      `json:"margin_rule"`
	Difference   *DiffRecord `json:"difference,omitempty"`
}

// DiffRecord is a paired difference: null for an infinite bound.
type DiffRecord struct {
	// Estimate is null when censored pairs leave it known only between
	// EstimateLo and EstimateHi.
	Estimate   *Number `json:"estimate"`
	EstimateLo Number  `json:"estimate_lo"`
	EstimateHi Number  `json:"estimate_hi"`
	Lo         Number  `json:"lo"`
	Hi         Number  `json:"hi"`
	Level      float64 `json:"level"`
	P          float64 `json:"p"`
	Pairs      int     `json:"pairs"`
	Bounded    int     `json:"bounded"`
	Method     string  `json:"method"`
	// Text is the table's difference column.
	Text string `json:"text"`
}

// FamilyRecord is the family of the comparisons with a verdict.
type FamilyRecord struct {
	Kind           string  `json:"kind"`
	Experiment     string  `json:"experiment"`
	Size           int     `json:"size"`
	Method         string  `json:"method"`
	Level          float64 `json:"level"`
	FamilyLevel    float64 `json:"family_level"`
	WithoutVerdict int     `json:"without_verdict"`
	// Text is the line under the table.
	Text string `json:"text"`
}

// RecoveryRecord is the metastability verdict of a variant, or of a sweep
// point (Point, the point's values by key; Round, for a point a tipping
// round added): its outcome, and each outcome's count and share.
type RecoveryRecord struct {
	Kind       string            `json:"kind"`
	Experiment string            `json:"experiment"`
	Variant    string            `json:"variant"`
	Point      map[string]string `json:"point,omitempty"`
	Round      int               `json:"round,omitempty"`
	Outcome    string            `json:"outcome"`
	Asked      int               `json:"asked"`
	Replicas   int               `json:"replicas"`
	Outcomes   OutcomesRecord    `json:"outcomes"`
	TimeH      *IntervalRecord   `json:"time_h"`
	ClearH     *IntervalRecord   `json:"clear_h"`
	// Text is the table's words for it.
	Text string `json:"text"`
}

// OutcomesRecord is each of the five outcomes' count and share.
type OutcomesRecord struct {
	Recovered  OutcomeRecord `json:"recovered"`
	Draining   OutcomeRecord `json:"draining"`
	Stuck      OutcomeRecord `json:"stuck"`
	Overloaded OutcomeRecord `json:"overloaded"`
	NotRemoved OutcomeRecord `json:"not_removed"`
}

// OutcomeRecord is how many replicas had an outcome, and its share with
// its interval (null when the cell is not judged).
type OutcomeRecord struct {
	Count int             `json:"count"`
	Share *IntervalRecord `json:"share"`
}

// TippingRecord is the tipping point along the sweep's x at one y (Y, its
// value by key, absent for a sweep of one axis).
type TippingRecord struct {
	Kind       string            `json:"kind"`
	Experiment string            `json:"experiment"`
	Variant    string            `json:"variant"`
	Along      string            `json:"along"`
	Y          map[string]string `json:"y,omitempty"`
	// Found: the share stuck crosses one half between two points, at
	// Estimate; Below: at or before the first. Lo and Hi bound it (null:
	// unbounded); null, with Found and Below false, when no point was
	// judged.
	Found      bool          `json:"found"`
	Below      bool          `json:"below"`
	Estimate   *Number       `json:"estimate"`
	Lo         *Number       `json:"lo"`
	Hi         *Number       `json:"hi"`
	Level      float64       `json:"level"`
	PointLevel float64       `json:"point_level"`
	Design     int           `json:"design"`
	Rounds     int           `json:"rounds"`
	Method     string        `json:"method"`
	Points     []PointRecord `json:"points"`
	Text       string        `json:"text"`
}

// PointRecord is one point of a tipping line: x's value and place, the
// round that added it (0: the grid's), its replicas stuck and judged.
type PointRecord struct {
	X      string  `json:"x"`
	Pos    float64 `json:"pos"`
	Round  int     `json:"round"`
	Stuck  int     `json:"stuck"`
	Judged int     `json:"judged"`
}

// IntervalRecord is an estimate with its interval.
type IntervalRecord struct {
	Estimate Number  `json:"estimate"`
	Lo       Number  `json:"lo"`
	Hi       Number  `json:"hi"`
	Level    float64 `json:"level"`
	N        int     `json:"n"`
	Method   string  `json:"method"`
}

// SweepRecord is the sweep's verdict line.
type SweepRecord struct {
	Kind       string `json:"kind"`
	Experiment string `json:"experiment"`
	Variant    string `json:"variant"`
	Text       string `json:"text"`
}

// NewIntervalRecord is iv as a record; nil for nil.
func NewIntervalRecord(iv *compare.Interval) *IntervalRecord {
	if iv == nil {
		return nil
	}
	return &IntervalRecord{Estimate: Number(iv.Estimate), Lo: Number(iv.Lo), Hi: Number(iv.Hi), Level: iv.Level, N: iv.N, Method: string(iv.Method)}
}

// BetterText is "lower" or "higher".
func BetterText(d compare.Direction) string {
	if d == compare.HigherIsBetter {
		return "higher"
	}
	return "lower"
}

// Verdicts are the table's verdicts as records, in the order a verdicts
// file writes them: each comparison, measure by measure and variant by
// variant; the family; each variant's metastability verdict; each sweep
// point's, x major; the sweep's line. The text table and the report give
// the same verdicts from the same Table.
func Verdicts(t *Table) []any {
	var out []any
	for k, m := range t.Measures {
		for _, v := range t.Variants[1:] {
			c := v.Cells[k].Comparison
			r := ComparisonRecord{Kind: KindComparison, Experiment: t.Experiment, Measure: m.Name, Unit: m.Unit, Better: BetterText(m.Better),
				Variant: v.Name, Baseline: t.Baseline, Text: c.Text(), NoVerdict: c.NoVerdict, Margin: t.Margins[k].Value, MarginRule: t.Margins[k].Rule}
			if c.NoVerdict == "" {
				r.Verdict, r.WithinMargin = c.Verdict.Word, c.Verdict.WithinMargin
				d := c.Diff
				r.Difference = &DiffRecord{EstimateLo: Number(d.EstimateLo), EstimateHi: Number(d.EstimateHi), Lo: Number(d.Lo), Hi: Number(d.Hi),
					Level: d.Level, P: d.P, Pairs: d.N, Bounded: d.Bounded, Method: string(d.Method), Text: DiffText(c)}
				if est, ok := d.Estimate(); ok {
					n := Number(est)
					r.Difference.Estimate = &n
				}
			}
			out = append(out, r)
		}
	}
	out = append(out, FamilyRecord{Kind: KindFamily, Experiment: t.Experiment, Size: t.Family.Size, Method: FamilyMethod, Level: t.Family.Level,
		FamilyLevel: compare.TargetLevel, WithoutVerdict: t.Family.WithoutVerdict, Text: FamilyText(t)})
	for _, v := range t.Variants {
		out = append(out, NewRecoveryRecord(t.Experiment, v.Name, nil, v.Recovery))
	}
	if s := t.Sweep; s != nil {
		for x, col := range s.Cells {
			for y, c := range col {
				point := map[string]string{s.X.Key: s.X.Values[x]}
				if s.Y.Key != "" {
					point[s.Y.Key] = s.Y.Values[y]
				}
				out = append(out, NewRecoveryRecord(t.Experiment, s.Variant, point, c))
			}
		}
		for y, l := range s.Tipping {
			for _, pt := range l.Points {
				if pt.Round > 0 {
					point := map[string]string{s.X.Key: pt.X}
					if s.Y.Key != "" {
						point[s.Y.Key] = s.Y.Values[y]
					}
					r := NewRecoveryRecord(t.Experiment, s.Variant, point, pt.Cell)
					r.Round = pt.Round
					out = append(out, r)
				}
			}
		}
		for _, l := range s.Tipping {
			out = append(out, tippingRecord(t, s, l))
		}
		out = append(out, SweepRecord{Kind: KindSweep, Experiment: t.Experiment, Variant: s.Variant, Text: s.Verdict()})
	}
	return out
}

// NewRecoveryRecord is a cell's verdict as a record.
func NewRecoveryRecord(experiment, variant string, point map[string]string, c RecoveryCell) RecoveryRecord {
	rec := func(o Outcome) OutcomeRecord {
		return OutcomeRecord{Count: c.Count(o), Share: NewIntervalRecord(c.Share(o))}
	}
	return RecoveryRecord{Kind: KindRecovery, Experiment: experiment, Variant: variant, Point: point, Outcome: string(c.Outcome()),
		Asked: c.Asked, Replicas: c.Replicas,
		Outcomes: OutcomesRecord{rec(Recovered), rec(Draining), rec(Stuck), rec(Overloaded), rec(NotRemoved)},
		TimeH:    NewIntervalRecord(c.Time), ClearH: NewIntervalRecord(c.Clear), Text: RecoveryText(c)}
}

func tippingRecord(t *Table, s *SweepTable, l TippingLine) TippingRecord {
	r := TippingRecord{Kind: KindTipping, Experiment: t.Experiment, Variant: s.Variant, Along: s.X.Key, Design: l.Design, Rounds: l.Rounds,
		Points: []PointRecord{}, Text: l.Text(s)}
	if l.Y != "" {
		r.Y = map[string]string{s.Y.Key: l.Y}
	}
	for _, p := range l.Points {
		r.Points = append(r.Points, PointRecord{X: p.X, Pos: p.Pos, Round: p.Round, Stuck: p.Cell.Count(Stuck), Judged: p.Cell.judgedCount()})
	}
	if c := l.Crossing; c != nil {
		num := func(x float64) *Number { n := Number(x); return &n }
		r.Found, r.Below, r.Level, r.PointLevel, r.Method = c.Found, c.Below, c.Level, c.PointLevel, string(c.Method)
		r.Lo, r.Hi = num(c.Lo), num(c.Hi)
		if c.Found {
			r.Estimate = num(c.Estimate)
		}
	}
	return r
}

// WriteVerdicts writes the table's verdicts as JSON lines (Verdicts), one
// record a line.
func WriteVerdicts(w io.Writer, t *Table) error {
	for _, r := range Verdicts(t) {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		if _, err := w.Write(append(b, '\n')); err != nil {
			return err
		}
	}
	return nil
}
