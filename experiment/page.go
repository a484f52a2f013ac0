package experiment

import (
	"errors"
	"fmt"
	"slices"
)

// Page is what a report draws of a finished experiment: the experiment,
// its table, and the results the table summarizes, checked as the
// experiment's (Check) and in order (Sort), with the results whose curves
// are drawn (Drawn) by variant. NewPage makes one; the report draws it as
// it is.
type Page struct {
	Experiment *Experiment
	Table      *Table
	// Results are the results, in order (Sort).
	Results []Result
	// Drawn are the results whose curves the page draws, by variant, in
	// order.
	Drawn map[string][]Result
}

// NewPage is the page of experiment e, whose table is t, from its results
// (in any order: the page is the same). It refuses a table that is not
// e's, and results that are not (Check).
func NewPage(e *Experiment, t *Table, results []Result) (*Page, error) {
	switch {
	case e == nil || t == nil || e.Base == nil || len(e.Variants) == 0:
		return nil, errors.New("an experiment's page needs the experiment and its table")
	case t.Experiment != e.Name || len(t.Variants) != len(e.Variants) || (t.Sweep == nil) != (e.Sweep == nil):
		return nil, fmt.Errorf("the table of experiment %q is not the table of experiment %q", t.Experiment, e.Name)
	}
	if err := Check(e, results); err != nil {
		return nil, err
	}
	results = slices.Clone(results)
	Sort(results, e.VariantNames())
	p := &Page{Experiment: e, Table: t, Results: results, Drawn: map[string][]Result{}}
	for _, r := range results {
		if Drawn(e, r) {
			p.Drawn[r.Variant] = append(p.Drawn[r.Variant], r)
		}
	}
	return p, nil
}
