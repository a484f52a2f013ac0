package report

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"vmstorm/internal/format"
)

// sheet lays out the text summary: labelled values, whose values start in
// one column for the whole sheet and wrap under it at format.TextWidth, and
// tables, each aligned on its own. No line ends in a space.
type sheet struct {
	items []sheetItem
}

// sheetItem is one labelled value (a section's title is a label with no
// value), a table, or a blank line.
type sheetItem struct {
	label, value string
	rows         [][]string // a table: its rows of cells, headers first
	blank        bool
}

// kv adds a labelled value, its value written with fmt.Sprintf(f, a...).
func (s *sheet) kv(label, f string, a ...any) {
	s.items = append(s.items, sheetItem{label: label, value: fmt.Sprintf(f, a...)})
}

// title adds a section's title, alone on its line (or lines: it wraps at
// format.TextWidth, indented by two after the first).
func (s *sheet) title(label string) { s.items = append(s.items, sheetItem{label: label}) }

func (s *sheet) blank() { s.items = append(s.items, sheetItem{blank: true}) }

// table adds a table: each row's cells, the first column holding a row's
// indentation, aligned column by column two spaces apart.
func (s *sheet) table(rows ...[]string) { s.items = append(s.items, sheetItem{rows: rows}) }

// write lays the sheet out on w.
func (s *sheet) write(w io.Writer) error {
	// The values' column, which the tables' second columns share where
	// they fit, so that the sheet reads as one.
	col := 0
	for _, it := range s.items {
		switch {
		case it.value != "":
			col = max(col, utf8.RuneCountInString(it.label)+2)
		case it.rows != nil && widest(alignTable(it.rows, 0)) <= format.TextWidth:
			for _, r := range it.rows {
				col = max(col, utf8.RuneCountInString(r[0])+2)
			}
		}
	}
	var b strings.Builder
	for _, it := range s.items {
		switch {
		case it.blank:
			b.WriteString("\n")
		case it.rows != nil:
			// In the values' column if it fits, else as narrow as it goes.
			lines := alignTable(it.rows, col-2)
			if widest(lines) > format.TextWidth {
				lines = alignTable(it.rows, 0)
			}
			for _, line := range lines {
				b.WriteString(line + "\n")
			}
		case it.value == "":
			for _, line := range format.Wrap(it.label, 0, 2, format.TextWidth) {
				b.WriteString(line + "\n")
			}
		default:
			b.WriteString(hanging(it.label, col, it.value))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// hanging writes label, padded to col, and value after it, wrapped at
// format.TextWidth with each line after the first indented to col.
func hanging(label string, col int, value string) string {
	var b strings.Builder
	b.WriteString(label + strings.Repeat(" ", max(col-utf8.RuneCountInString(label), 1)))
	for i, line := range format.Wrap(value, col, col, format.TextWidth) {
		if i > 0 {
			b.WriteString(strings.Repeat(" ", col))
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}

// alignTable pads each column of rows to its widest cell (the first to at
// least first), two spaces apart, and trims each line's end.
func alignTable(rows [][]string, first int) []string {
	widths := []int{first}
	for _, r := range rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	out := make([]string, len(rows))
	for k, r := range rows {
		var b strings.Builder
		for i, c := range r {
			b.WriteString(c)
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+2))
			}
		}
		out[k] = strings.TrimRight(b.String(), " ")
	}
	return out
}

// widest is the width of the widest of lines.
func widest(lines []string) int {
	n := 0
	for _, l := range lines {
		n = max(n, utf8.RuneCountInString(l))
	}
	return n
}
