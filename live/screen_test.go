package live

import (
	"strconv"
	"strings"
	"testing"
)

// screen is a tiny terminal for the tests: an unbounded column of rows and
// a cursor, understanding exactly the sequences a View may send (CR, LF as
// a tty with onlcr does, CSI n A, CSI 2K). Anything else fails the test, so a
// stray sequence cannot slip past.
type screen struct {
	t    *testing.T
	rows [][]rune
	r, c int
}

func newScreen(t *testing.T, out string) *screen {
	t.Helper()
	s := &screen{t: t}
	s.feed(out)
	return s
}

func (s *screen) feed(out string) {
	s.t.Helper()
	in := []rune(out)
	for i := 0; i < len(in); i++ {
		switch ch := in[i]; ch {
		case '\n':
			s.r, s.c = s.r+1, 0
		case '\r':
			s.c = 0
		case '\x1b':
			j := i + 1
			if j >= len(in) || in[j] != '[' {
				s.t.Fatalf("escape without CSI at rune %d: %q", i, string(in[i:min(i+8, len(in))]))
			}
			j++
			start := j
			for j < len(in) && in[j] >= '0' && in[j] <= '9' {
				j++
			}
			if j >= len(in) {
				s.t.Fatalf("unterminated CSI at rune %d", i)
			}
			n := 0
			if j > start {
				n, _ = strconv.Atoi(string(in[start:j]))
			}
			switch in[j] {
			case 'A':
				s.r = max(s.r-max(n, 1), 0)
			case 'K':
				if n != 2 {
					s.t.Fatalf("CSI %dK: only clearing the whole line is expected", n)
				}
				if s.r < len(s.rows) {
					s.rows[s.r] = nil
				}
			default:
				s.t.Fatalf("unexpected CSI final %q at rune %d", in[j], i)
			}
			i = j
		default:
			if ch < ' ' {
				s.t.Fatalf("unexpected control character %q at rune %d", ch, i)
			}
			for len(s.rows) <= s.r {
				s.rows = append(s.rows, nil)
			}
			row := s.rows[s.r]
			for len(row) <= s.c {
				row = append(row, ' ')
			}
			row[s.c] = ch
			s.rows[s.r] = row
			s.c++
		}
	}
}

// lines is the screen's text, one string a row, trailing blanks trimmed;
// rows the cursor has moved past but nothing was written on count too.
func (s *screen) lines() []string {
	n := len(s.rows)
	if s.r > n || (s.r == n && s.c > 0) {
		n = s.r
	}
	out := make([]string, 0, n)
	for i := range n {
		var row []rune
		if i < len(s.rows) {
			row = s.rows[i]
		}
		out = append(out, strings.TrimRight(string(row), " "))
	}
	return out
}

// cursorBelow reports whether the cursor is at the start of the row after
// the last one with text: where the next thing printed should go.
func (s *screen) cursorBelow() bool {
	return s.c == 0 && s.r == len(s.lines())
}
