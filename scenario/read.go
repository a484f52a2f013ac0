package scenario

import (
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"unicode/utf8"
)

// Limits on what a scenario file may be, so that no file can exhaust the
// memory or hang the decoder: its size, and how deeply its values nest.
const (
	MaxFileSize = 1 << 20 // bytes
	MaxNesting  = 32      // lists and mappings within one another, written inline ([...], {...})
	MaxIndent   = 256     // columns of indentation
)

// ReadFile reads a scenario file: a regular file of at most MaxFileSize
// bytes. A device, a fifo (which could block for ever) or a directory is
// refused, as is a larger file, with a one-line error that says what is
// wrong and what is valid.
func ReadFile(path string) ([]byte, error) {
	// Opened without blocking, so that a fifo with no writer cannot hang
	// the open; what it is is checked on the open file itself.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err // a *fs.PathError: it names the file
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err // a *fs.PathError: it names the file
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s); want a YAML file", path, kind(info.Mode()))
	}
	if info.Size() > MaxFileSize {
		return nil, fmt.Errorf("%s: %d bytes; want a file of at most %d bytes (1 MiB)", path, info.Size(), MaxFileSize)
	}
	data, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err // a *fs.PathError: it names the file
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("%s: more than %d bytes; want a file of at most %d bytes (1 MiB)", path, MaxFileSize, MaxFileSize)
	}
	return data, nil
}

func kind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a fifo"
	case m&os.ModeDevice != 0 || m&os.ModeCharDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "not a plain file"
}

// checkNesting refuses, before the YAML parser sees them, values nested
// more deeply than MaxNesting inline ([...] and {...}) or indented more than
// MaxIndent columns (a list's dash at the start of a line counts as a
// column): the parser's memory grows with the square of the nesting. It
// skips quoted strings and comments.
func checkNesting(filename string, data []byte) error {
	depth, line, col := 0, 1, 0
	var quote, prev byte = 0, '\n'
	// lead is the last byte of the line before this one that is not blank,
	// in a quoted string or in a comment ('\n' at the start of a line): a
	// quote opens a quoted string only where a value may begin.
	lead := byte('\n')
	comment, escaped := false, false
	indent, inIndent := 0, true
	for i, b := range data {
		col++
		last := prev
		prev = b
		switch {
		case b == '\n':
			line, col, comment, indent, inIndent, lead = line+1, 0, false, 0, true, '\n'
			if quote == '\'' {
				quote = 0 // a single-quoted string ends with its line here: the parser judges the rest
			}
			continue
		case comment:
			continue
		case quote == '"' && escaped:
			escaped = false
			continue
		case quote == '"' && b == '\\':
			escaped = true
			continue
		case quote != 0:
			if b == quote {
				quote, lead = 0, b
			}
			continue
		}
		if inIndent {
			// "- - - x" nests block lists on one line: each dash is as
			// deep as a column of indentation.
			dash := (b == '-' || b == '?') && (i+1 == len(data) || strings.IndexByte(" \t\n", data[i+1]) >= 0)
			if b == ' ' || b == '\t' || dash {
				indent++
				if indent > MaxIndent {
					return &Error{File: filename, Line: line, Column: col, Msg: fmt.Sprintf("the line is indented more than %d columns", MaxIndent),
						Hint: "a scenario nests a few levels deep; docs/scenarios.md shows its shape"}
				}
				continue
			}
			inIndent = false
		}
		switch b {
		case '#':
			comment = last == ' ' || last == '\t' || last == '\n'
		case '"', '\'':
			// A quote opens a quoted string only where a value begins; in
			// the middle of a plain value (a'b, 5" floppy) it is one of its
			// characters, and hides nothing.
			if strings.IndexByte("\n:-[{,?", lead) >= 0 {
				quote = b
			}
		case '[', '{':
			depth++
			if depth > MaxNesting {
				return &Error{File: filename, Line: line, Column: col, Msg: fmt.Sprintf("the value nests more than %d lists or mappings deep", MaxNesting),
					Hint: "a scenario nests a few levels deep; docs/scenarios.md shows its shape"}
			}
		case ']', '}':
			depth = max(depth-1, 0)
		}
		if b != ' ' && b != '\t' && !comment {
			lead = b
		}
	}
	return nil
}

// checkText refuses a file that is not text as YAML allows it: UTF-8, with
// no control character but a tab, a line feed or a carriage return. The
// error gives the first bad byte's place.
func checkText(filename string, data []byte) error {
	line, col := 1, 0
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		col++
		switch {
		case r == utf8.RuneError && size <= 1:
			return &Error{File: filename, Line: line, Column: col, Msg: fmt.Sprintf("byte 0x%02x is not UTF-8 text", data[i]),
				Hint: "a scenario is a YAML text file, in UTF-8"}
		case r == '\n':
			line, col = line+1, 0
		case r < 0x20 && r != '\t' && r != '\r', r == 0x7f:
			return &Error{File: filename, Line: line, Column: col, Msg: fmt.Sprintf("control character %U in the text", r),
				Hint: "a scenario is a YAML text file: no control characters but tabs and line ends"}
		}
		i += size
	}
	return nil
}
