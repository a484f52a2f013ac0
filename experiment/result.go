package experiment

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"

	"vmstorm/metastable"
)

// Result is what one replica measured: one JSON line of a results file
// (-results), and all that the table and the report need of it, so that
// the results of shards merge into the same table as one process gives.
type Result struct {
	Experiment string `json:"experiment"`
	// File is the fingerprint of the experiment file and its base
	// scenario (Fingerprint): results of another version of either do not
	// merge.
	File    string `json:"file"`
	Variant string `json:"variant"`
	// Point is the sweep point, as indices into the sweep's values; absent
	// for a variant's replica.
	Point []int `json:"point,omitempty"`
	// Refine is the tipping point's refinement point; absent otherwise.
	Refine  *Refinement `json:"refine,omitempty"`
	Replica int         `json:"replica"`
	Seed    Seed        `json:"seed"`
	Ended   string      `json:"ended"`
	// Error is set when the run stopped on an error of its own (the memory
	// budget): its measures are those of what it ran.
	Error string `json:"error,omitempty"`
	// Measures are the replica's figures by measure name; null when it has
	// none (a time to detect in a run that was never detected).
	Measures map[string]*float64 `json:"measures"`
	// Censored gives, for a measure with no figure because the run ended
	// before its event (Measure.CensoredAt), the hours the run had for it:
	// from the first fault to the end. A null figure not in Censored is
	// missing (no fault at all, or no job arrived).
	Censored map[string]float64 `json:"censored_h,omitempty"`
	// Control: the run is a replica's control, its trigger never applied.
	Control bool `json:"control,omitempty"`
	// Trace is what the recovery question needs of the run; absent when
	// the experiment asks none.
	Trace *metastable.Trace `json:"trace,omitempty"`
	// Outcome is the replica's (not a control's) outcome, once its control
	// has run (Pairs); absent when the experiment asks no recovery
	// question. Verdict gives what it rests on.
	Outcome string          `json:"outcome,omitempty"`
	Verdict *ReplicaVerdict `json:"verdict,omitempty"`
	Curves  Curves          `json:"curves"`
}

// Swept reports whether r is the sweep's: at a point of its grid or of a
// refinement.
func (r Result) Swept() bool { return r.Point != nil || r.Refine != nil }

// ReplicaVerdict is what a replica's outcome rests on, in hours: the time
// from the removal to healthy for good (recovered, or draining and seen
// to), or the projected time to clear with its interval (draining, still
// unhealthy at the window's end).
type ReplicaVerdict struct {
	HealthyH *float64 `json:"healthy_h,omitempty"`
	ClearH   *float64 `json:"clear_h,omitempty"`
	ClearLo  *float64 `json:"clear_lo_h,omitempty"`
	ClearHi  *float64 `json:"clear_hi_h,omitempty"`
	Why      string   `json:"why"`
}

// Seed is a replica's seed as a results file spells it: a JSON string of
// its decimal digits, which every JSON tool keeps exactly (jq and
// JavaScript read a number as a float64, which rounds a seed past 2^53 to
// another seed). A JSON number is read as well, exactly, as the files of a
// vmstorm before this one wrote it.
type Seed uint64

// MarshalJSON writes s as a string of its digits.
func (s Seed) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, strconv.FormatUint(uint64(s), 10)), nil
}

// UnmarshalJSON reads s from a string of digits or from a number.
func (s *Seed) UnmarshalJSON(b []byte) error {
	digits := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &digits); err != nil {
			return err
		}
	}
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil {
		return fmt.Errorf("seed %s: want a whole number from 0 to %d, as a string of its digits", b, uint64(math.MaxUint64))
	}
	*s = Seed(v)
	return nil
}

// WriteJSON writes r as one line of JSON.
func WriteJSON(w io.Writer, r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// maxLine bounds one line of a results file.
const maxLine = 4 << 20

// ReadJSON reads a results file: one Result per line. A line that is not
// a result is an error that names it.
func ReadJSON(name string, r io.Reader) ([]Result, error) {
	var out []Result
	err := EachJSON(name, r, func(res Result) error {
		out = append(out, res)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EachJSON reads a results file as ReadJSON does, and gives each result to
// each as it is read, so that a caller need not hold them all; an error of
// each stops the reading.
func EachJSON(name string, r io.Reader, each func(Result) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	line := 0
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var res Result
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&res); err != nil {
			return fmt.Errorf("%s:%d: not a vmstorm result: %v", name, line, err)
		}
		if dec.More() || len(bytes.TrimSpace(sc.Bytes()[dec.InputOffset():])) > 0 {
			return fmt.Errorf("%s:%d: not a vmstorm result: more than one JSON value on the line (one result a line)", name, line)
		}
		if res.Experiment == "" || res.Variant == "" || res.Measures == nil {
			return fmt.Errorf("%s:%d: not a vmstorm result: no experiment, variant or measures", name, line)
		}
		if err := each(res); err != nil {
			return fmt.Errorf("%s:%d: %w", name, line, err)
		}
	}
	if err := sc.Err(); errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("%s:%d: not a vmstorm result: a line longer than %d MiB", name, line+1, maxLine>>20)
	} else if err != nil {
		return fmt.Errorf("%s: %v", name, err)
	}
	return nil
}

// Sort puts results in the plan's order: variants' replicas first, by
// variant and replica, then the sweep's, by point and replica, then the
// refinements', by round, x and y; a replica's control after it. Variants
// are ordered as names lists them.
func Sort(results []Result, names []string) {
	kind := func(r Result) int {
		switch {
		case r.Refine != nil:
			return 2
		case r.Point != nil:
			return 1
		}
		return 0
	}
	slices.SortStableFunc(results, func(a, b Result) int {
		c := cmp.Or(
			cmp.Compare(kind(a), kind(b)),
			cmp.Compare(slices.Index(names, a.Variant), slices.Index(names, b.Variant)),
			slices.Compare(a.Point, b.Point),
		)
		if c == 0 && a.Refine != nil && b.Refine != nil {
			c = cmp.Or(cmp.Compare(a.Refine.Round, b.Refine.Round), cmp.Compare(a.Refine.Y, b.Refine.Y), cmp.Compare(a.Refine.X, b.Refine.X))
		}
		return cmp.Or(c, cmp.Compare(a.Replica, b.Replica), boolCompare(a.Control, b.Control))
	})
}

func boolCompare(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// Check reports whether results are e's, each a task of its rounds
// (Rounds: the plan, and the tipping point's rounds those results fix)
// with the task's seed, each task's at most once, and each replica's
// outcome, where its line gives one, the one its trace and its control's
// give: the results of shards of one experiment, merged.
func Check(e *Experiment, results []Result) error {
	for _, r := range results {
		if r.Experiment != e.Name {
			return fmt.Errorf("a result of experiment %q, not %q", r.Experiment, e.Name)
		}
		if e.Recovery.Asked() != (r.Trace != nil) {
			return fmt.Errorf("variant %s, replica %d%s: a trace of its recovery where the experiment asks none, or none where it asks: not a result of this file", r.Variant, r.Replica, where(r))
		}
		if t := r.Trace; t != nil && len(t.NotByItself) > 0 {
			return fmt.Errorf("variant %s, replica %d%s: %v came after the trigger's removal: not a result vmstorm writes", r.Variant, r.Replica, where(r), t.NotByItself)
		}
	}
	names := e.VariantNames()
	plan := map[string]Task{}
	for _, round := range Rounds(e, results) {
		for _, t := range round {
			plan[taskKey(t.Variant, t.Point, t.Refine, t.Replica, t.Control)] = t
		}
	}
	seen := map[string]bool{}
	fingerprint := Fingerprint(e)
	for _, r := range results {
		key := taskKey(r.Variant, r.Point, r.Refine, r.Replica, r.Control)
		t, planned := plan[key]
		switch {
		case r.Experiment != e.Name:
			return fmt.Errorf("a result of experiment %q, not %q", r.Experiment, e.Name)
		case r.File != fingerprint && r.File == fileFingerprint(e):
			return fmt.Errorf("variant %s, replica %d%s was written by an older vmstorm, whose fingerprint (%s) covered the experiment file only, not its base scenario: run the shards again with this one", r.Variant, r.Replica, where(r), r.File)
		case r.File != fingerprint:
			return fmt.Errorf("variant %s, replica %d%s ran from another version of the file or of its base scenario (fingerprint %s, not %s): run every shard from one file and one base", r.Variant, r.Replica, where(r), r.File, fingerprint)
		case r.Point != nil && len(r.Point) == 0:
			return fmt.Errorf("variant %s, replica %d has the sweep point [], which is none: a variant's replica has no point, a sweep's is [x] or [x, y]", r.Variant, r.Replica)
		case !slices.Contains(names, r.Variant):
			return fmt.Errorf("a result of variant %q, which experiment %s has not", r.Variant, e.Name)
		case !planned:
			return fmt.Errorf("variant %s, %s %d%s is no task of experiment %s: were its results run from another version of the file?", r.Variant, runName(r.Control), r.Replica, where(r), e.Name)
		case uint64(r.Seed) != t.Seed:
			return fmt.Errorf("variant %s, replica %d%s ran with seed %d, not the plan's %d: were its results run from another version of the file?", r.Variant, r.Replica, where(r), r.Seed, t.Seed)
		case seen[key]:
			return fmt.Errorf("variant %s, %s %d%s is given twice: merge each shard once", r.Variant, runName(r.Control), r.Replica, where(r))
		}
		for name, c := range r.Censored {
			if v, ok := r.Measures[name]; !ok || v != nil || c < 0 {
				return fmt.Errorf("variant %s, replica %d%s: censored_h gives %s, which has a figure or is not measured, or a negative time: not a result vmstorm writes", r.Variant, r.Replica, where(r), name)
			}
		}
		seen[key] = true
	}
	return checkOutcomes(e, results)
}

// checkOutcomes judges each replica whose control is there (a replica
// waiting for its control is not counted), and checks its outcome, where
// its line gives one, against that judgement.
func checkOutcomes(e *Experiment, results []Result) error {
	if !e.Recovery.Asked() {
		return nil
	}
	controls := map[string]*Result{}
	for i, r := range results {
		if r.Control {
			controls[pairKey(r.Variant, r.Point, r.Refine, r.Replica)] = &results[i]
		}
	}
	for _, r := range results {
		if r.Control {
			continue
		}
		c := controls[pairKey(r.Variant, r.Point, r.Refine, r.Replica)]
		if c == nil && r.Trace.RemovedH != nil {
			continue // its control has not run: not judged, not counted
		}
		v, err := judge(e, r, c)
		if err != nil {
			return err
		}
		if r.Outcome != "" && string(v.Outcome) != r.Outcome {
			return fmt.Errorf("variant %s, replica %d%s says it was %s, and its trace and its control's say %s: not a result vmstorm writes", r.Variant, r.Replica, where(r), r.Outcome, v.Outcome)
		}
	}
	return nil
}

// runName is "replica", or "the control of replica".
func runName(control bool) string {
	if control {
		return "the control of replica"
	}
	return "replica"
}

// Fingerprint is what decides the experiment's runs: its file and its
// base scenario. It is the first 16 hex digits of the SHA-256 of their
// texts, each after its length, so that no two pairs of texts run
// together give the same bytes.
func Fingerprint(e *Experiment) string {
	h := sha256.New()
	for _, text := range [][]byte{e.Source, e.BaseSource} {
		h.Write(binary.BigEndian.AppendUint64(nil, uint64(len(text))))
		h.Write(text)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// fileFingerprint is the fingerprint of the results of a vmstorm before
// Fingerprint covered the base scenario: the experiment file's alone.
func fileFingerprint(e *Experiment) string {
	sum := sha256.Sum256(e.Source)
	return hex.EncodeToString(sum[:8])
}

// taskKey names a task by its variant, point or refinement, replica, and
// whether it is the control.
func taskKey(variant string, point []int, refine *Refinement, replica int, control bool) string {
	return fmt.Sprintf("%s %t", pairKey(variant, point, refine, replica), control)
}
