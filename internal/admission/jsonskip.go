package admission

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

const (
	lowBits  = 0x0101010101010101
	highBits = 0x8080808080808080
)

// quoteOrBackslash marks, in the high bit of each byte, the bytes of w
// (eight bytes of input, little-endian) that are '"' or '\\'. The lowest
// mark is exact, which is all skipString reads: a byte above a match can
// be marked falsely (the borrow of the subtraction), never one below.
func quoteOrBackslash(w uint64) uint64 {
	q := w ^ ('"' * lowBits)
	bs := w ^ ('\\' * lowBits)
	return ((q-lowBits)&^q | (bs-lowBits)&^bs) & highBits
}

// skipString moves past the string starting at s.i (on its opening quote)
// and reports whether it holds escapes. Most strings of an object are
// short keys (managedFields' "f:name"), where testing eight bytes at once
// for a quote or a backslash (quoteOrBackslash) beats both a byte loop
// and a vectorised search; long values (last-applied-configuration)
// switch to bytes.IndexByte. Skipping strings was 20% of the webhook's
// CPU on an unchanged Deployment UPDATE under ../shared/bench.
func (s *scanner) skipString() (escaped bool, err error) {
	b, i := s.b, s.i+1
	for start := i; i < len(b); {
		if i-start >= 32 {
			return s.skipLongString(i, escaped)
		}
		if i+8 <= len(b) {
			m := quoteOrBackslash(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) / 8
		}
		switch b[i] {
		case '"':
			s.i = i + 1
			return escaped, nil
		case '\\':
			escaped = true
			i += 2
			continue
		}
		i++
	}
	s.i = len(b)
	return false, s.fail("unterminated string")
}

// skipLongString finishes skipString from i with a vectorised search for
// quotes; a quote preceded by an odd number of backslashes is escaped.
func (s *scanner) skipLongString(i int, escaped bool) (bool, error) {
	b := s.b
	for {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			s.i = len(b)
			return false, s.fail("unterminated string")
		}
		end := i + j
		n := 0
		for k := end - 1; k >= i && b[k] == '\\'; k-- {
			n++
		}
		if !escaped && bytes.IndexByte(b[i:end], '\\') >= 0 {
			escaped = true
		}
		i = end + 1
		if n%2 == 0 {
			s.i = i
			return escaped, nil
		}
	}
}

// skip moves past the value that comes next.
func (s *scanner) skip() error {
	switch c := s.peek(); c {
	case '"':
		_, err := s.skipString()
		return err
	case '{', '[':
		return s.skipNested()
	case 0:
		return s.fail("unexpected end of input")
	default:
		return s.skipLiteral()
	}
}

// skipLiteral moves past a number, true, false or null.
func (s *scanner) skipLiteral() error {
	start := s.i
	for s.i < len(s.b) && literalByte(s.b[s.i]) {
		s.i++
	}
	lit := s.b[start:s.i]
	switch {
	case len(lit) == 0:
		return s.fail("unexpected %q", s.b[start])
	case string(lit) == "true", string(lit) == "false", string(lit) == "null":
		return nil
	case lit[0] == '-' || (lit[0] >= '0' && lit[0] <= '9'):
		return nil
	}
	return s.fail("invalid literal %q", lit)
}

func literalByte(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '+' || c == '.'
}

// skipNested moves past an object or array, checking that brackets match.
func (s *scanner) skipNested() error {
	var stackBuf [64]byte
	stack := stackBuf[:0]
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch c {
		case '"':
			if _, err := s.skipString(); err != nil {
				return err
			}
			continue
		case '{', '[':
			if len(stack) == maxDepth {
				return s.fail("nesting deeper than %d", maxDepth)
			}
			stack = append(stack, c)
		case '}', ']':
			if len(stack) == 0 || stack[len(stack)-1] != c-2 { // '{'+2 == '}', '['+2 == ']'
				return s.fail("unbalanced %q", c)
			}
			stack = stack[:len(stack)-1]
			if len(stack) == 0 {
				s.i++
				return nil
			}
		}
		s.i++
	}
	return s.fail("unterminated object or array")
}
