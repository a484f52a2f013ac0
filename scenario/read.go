package scenario

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unicode"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/lexer"
	"github.com/goccy/go-yaml/token"

	"vmstorm/internal/format"
)

// Limits on what a scenario or experiment file may be, so that no file
// can exhaust the memory or hang the decoder: its size, its YAML tokens,
// how deeply its values nest, and what its aliases expand to. Within them,
// decoding a file holds at most about 300 MB (the tokens of a file of
// 1 MiB), whatever its text: see docs/scenarios.md.
const (
	MaxFileSize = 1 << 20 // bytes
	// MaxTokens bounds the YAML tokens of a file: its keys, values,
	// dashes, brackets and commas (a scenario of 20,000 timeline entries
	// has about 200,000).
	MaxTokens = 400_000
	// MaxNesting bounds how deeply lists and mappings nest within one
	// another, by indentation or inline ([...], {...}); the file's own
	// mapping is the first level. The parser's memory grows with the
	// square of the nesting.
	MaxNesting = 32
	// MaxValues bounds the values of a file once each alias (*name) is
	// replaced by what its anchor (&name) holds, as decoding does.
	MaxValues = 1_000_000
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

// tokens are the YAML tokens of a file, by the parser's own lexer, if there
// are at most MaxTokens of them, nested at most MaxNesting deep (see
// checkNesting): what the parser may be given.
func tokens(filename string, data []byte) (token.Tokens, error) {
	tks := lexer.Tokenize(string(data))
	if len(tks) > MaxTokens {
		pos := tks[MaxTokens].Position
		return nil, &Error{File: filename, Line: pos.Line, Column: pos.Column, Msg: fmt.Sprintf("the file holds more than %d YAML tokens (keys, values, dashes, brackets, commas)", MaxTokens),
			Hint: "a scenario of 20,000 timeline entries holds about 200,000; docs/scenarios.md gives the limits"}
	}
	if err := checkNesting(filename, tks); err != nil {
		return nil, err
	}
	return tks, nil
}

// checkNesting refuses, before the YAML parser sees them, tokens whose
// lists and mappings nest more than MaxNesting deep: the parser's memory
// grows with the square of the nesting. The depth is the lexer's: the
// brackets and braces open, and within none of them the block collections
// open, each known by the column of its first entry's dash or key, so
// that a quote or a bracket in a block scalar or a quoted string, which
// the lexer reads as text, counts for nothing.
func checkNesting(filename string, tks token.Tokens) error {
	type level struct {
		column int
		seq    bool // a list's entry (-); a mapping's key otherwise
	}
	var blocks []level
	flow := 0
	var prev *token.Token // the last token that is not a comment
	for _, tk := range tks {
		push := func(col int, seq bool) bool {
			for len(blocks) > 0 {
				top := blocks[len(blocks)-1]
				// A key ends every collection at or right of its column; a
				// list's dash ends those right of it, and a list at its
				// column, but not the mapping whose key it is under ("a:\n- x").
				if top.column > col || (top.column == col && (!seq || top.seq)) {
					blocks = blocks[:len(blocks)-1]
					continue
				}
				break
			}
			blocks = append(blocks, level{col, seq})
			return len(blocks)+flow > MaxNesting
		}
		deep, at := false, tk
		switch tk.Type {
		case token.CommentType:
			continue
		case token.DocumentHeaderType, token.DocumentEndType:
			blocks, flow = nil, 0
		case token.SequenceStartType, token.MappingStartType:
			flow++
			deep = len(blocks)+flow > MaxNesting
		case token.SequenceEndType, token.MappingEndType:
			flow = max(flow-1, 0)
		case token.SequenceEntryType:
			if flow == 0 {
				deep = push(tk.Position.Column, true)
			}
		case token.MappingKeyType:
			if flow == 0 {
				deep = push(tk.Position.Column, false)
			}
		case token.MappingValueType:
			if flow == 0 && prev != nil {
				at = prev // the key
				deep = push(prev.Position.Column, false)
			}
		}
		if deep {
			return &Error{File: filename, Line: at.Position.Line, Column: at.Position.Column, Msg: fmt.Sprintf("the value nests more than %d lists or mappings deep", MaxNesting),
				Hint: "a scenario nests a few levels deep; docs/scenarios.md shows its shape"}
		}
		prev = tk
	}
	return nil
}

// checkAliases refuses a file whose aliases expand it past MaxValues
// values: each alias (*name) counts for every value its anchor (&name)
// holds, aliases within it expanded too, as decoding would make them.
func checkAliases(filename string, tree *ast.File) error {
	anchors := map[string]int{}
	var size func(n ast.Node) int
	sum := func(total int, n ast.Node) int { return min(total+size(n), MaxValues+1) }
	size = func(n ast.Node) int {
		switch v := n.(type) {
		case nil:
			return 0
		case *ast.DocumentNode:
			return size(v.Body)
		case *ast.AnchorNode:
			s := size(v.Value)
			if v.Name != nil {
				anchors[v.Name.String()] = s
			}
			return s
		case *ast.AliasNode:
			if v.Value == nil {
				return 1
			}
			return max(anchors[v.Value.String()], 1)
		case *ast.TagNode:
			return size(v.Value)
		case *ast.MappingNode:
			total := 1
			for _, kv := range v.Values {
				total = sum(total, kv)
			}
			return total
		case *ast.MappingValueNode:
			return sum(size(v.Key), v.Value)
		case *ast.MappingKeyNode:
			return size(v.Value)
		case *ast.SequenceNode:
			total := 1
			for _, x := range v.Values {
				total = sum(total, x)
			}
			return total
		}
		return 1
	}
	total := 0
	for _, doc := range tree.Docs {
		total = sum(total, doc)
	}
	if total > MaxValues {
		return &Error{File: filename, Line: 1, Column: 1, Msg: fmt.Sprintf("the file's aliases (*name) expand it to more than %d values", MaxValues),
			Hint: "an alias repeats all its anchor (&name) holds, aliases within it too: write the values out, or fewer of them"}
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

// checkValues refuses a value (or a key) that holds a control character
// once its escapes are read ("\e[2J", "\a", "\r", "\u0000"), or a
// bidirectional control, which would reach a terminal raw in the summary,
// the table or a list (clearing the screen, setting the window's title,
// hiding or reordering text): every value of a scenario or experiment
// file is plain text on one line. A block scalar (| or >) keeps its last
// line break unless written |- or >-.
func checkValues(filename string, tree *ast.File) error {
	var found *Error
	for _, doc := range tree.Docs {
		ast.Walk(visitFunc(func(n ast.Node) bool {
			var text string
			descend := found == nil
			switch v := n.(type) {
			case *ast.StringNode:
				text = v.Value
			case *ast.LiteralNode:
				if v.Value != nil {
					text = v.Value.Value
				}
				descend = false // its text is this StringNode's
			default:
				return descend
			}
			if i := strings.IndexFunc(text, format.Unsafe); i >= 0 && found == nil {
				r, _ := utf8.DecodeRuneInString(text[i:])
				kind := "a control character"
				if !unicode.IsControl(r) {
					kind = "a bidirectional control"
				}
				pos := n.GetToken().Position
				found = &Error{File: filename, Line: pos.Line, Column: pos.Column,
					Msg:  fmt.Sprintf("the value %s holds %U, %s", excerpt(text, i), r, kind),
					Hint: "names, descriptions and every other value are plain text on one line: write it without escapes such as \\e, \\a, \\r, \\n or \\u0000, and a block scalar as |- or >-"}
			}
			return descend && found == nil
		}), doc)
	}
	if found != nil {
		return found
	}
	return nil
}

// excerpt is text quoted, with its bytes escaped as Go escapes them, cut
// to a few dozen bytes around byte i if it is longer.
func excerpt(text string, i int) string {
	const around = 24
	from, to := max(i-around, 0), min(i+around, len(text))
	for from > 0 && !utf8.RuneStart(text[from]) {
		from--
	}
	for to < len(text) && !utf8.RuneStart(text[to]) {
		to++
	}
	q := strconv.Quote(text[from:to])
	if from > 0 {
		q = "..." + q
	}
	if to < len(text) {
		q += "..."
	}
	return q
}
