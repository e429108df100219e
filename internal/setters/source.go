package setters

import (
	"bytes"
	"sort"
	"unicode/utf8"
)

// source is a file's bytes with the index of line starts that yaml.v3
// positions (1-based line, 1-based column counted in characters) refer to.
type source struct {
	b     []byte
	lines []int
}

// utf8BOM is skipped by yaml.v3 without counting a column.
const utf8BOM = "\xef\xbb\xbf"

func newSource(b []byte) *source {
	first := 0
	if len(b) >= len(utf8BOM) && string(b[:len(utf8BOM)]) == utf8BOM {
		first = len(utf8BOM)
	}
	// Counting '\n' first sizes the index in one allocation; CR-only and
	// Unicode breaks are rare enough to grow it.
	lines := make([]int, 1, bytes.Count(b, []byte{'\n'})+2)
	lines[0] = first
	s := &source{b: b, lines: lines}
	for i := first; i < len(b); {
		if w := breakAt(b, i); w > 0 {
			i += w
			s.lines = append(s.lines, i)
			continue
		}
		i++
	}
	return s
}

// breakAt returns the width of the line break starting at b[i], or 0. It
// counts what yaml.v3 counts as one line: CRLF, CR, LF, and the Unicode
// breaks NEL, LS and PS that YAML 1.1 parsers still honour.
func breakAt(b []byte, i int) int {
	switch b[i] {
	case '\n':
		return 1
	case '\r':
		if i+1 < len(b) && b[i+1] == '\n' {
			return 2
		}
		return 1
	case 0xc2:
		if i+1 < len(b) && b[i+1] == 0x85 {
			return 2
		}
	case 0xe2:
		if i+2 < len(b) && b[i+1] == 0x80 && (b[i+2] == 0xa8 || b[i+2] == 0xa9) {
			return 3
		}
	}
	return 0
}

// offset turns a yaml.v3 position into a byte offset.
func (s *source) offset(line, col int) (int, bool) {
	if line < 1 || line > len(s.lines) || col < 1 {
		return 0, false
	}
	off := s.lines[line-1]
	for ; col > 1; col-- {
		if off >= len(s.b) || breakAt(s.b, off) > 0 {
			return 0, false
		}
		_, w := utf8.DecodeRune(s.b[off:])
		off += w
	}
	return off, true
}

// lineOf returns the 1-based line holding byte offset off.
func (s *source) lineOf(off int) int {
	return sort.Search(len(s.lines), func(i int) bool { return s.lines[i] > off })
}

func isBlank(c byte) bool { return c == ' ' || c == '\t' }

// blankOrBreak reports whether b[i] is a space, a tab, a line break or
// the end of the input: what may follow ':' in a mapping indicator.
func blankOrBreak(b []byte, i int) bool {
	return i >= len(b) || isBlank(b[i]) || breakAt(b, i) > 0
}

func isFlowIndicator(c byte) bool {
	return c == ',' || c == '[' || c == ']' || c == '{' || c == '}'
}
