package admission

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// errSyntax wraps every reason a review body cannot be read.
var errSyntax = errors.New("malformed JSON")

// maxDepth bounds nesting while skipping, as the API server's own decoder
// does; deeper documents are refused rather than walked.
const maxDepth = 10000

// scanner walks a JSON document in place. The webhook reads a handful of
// fields out of reviews of up to megabytes (managedFields and
// last-applied-configuration make up most of a Deployment), so it decodes
// the fields it needs and skips everything else by matching quotes and
// brackets, without building values. Skipped values are checked for
// structure (strings terminated, brackets balanced and matched), not for
// the full grammar: the body comes from the API server, which serialised
// it.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) fail(format string, args ...any) error {
	return fmt.Errorf("%w at offset %d: %s", errSyntax, s.i, fmt.Sprintf(format, args...))
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next non-space byte without consuming it; 0 at the end.
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

// null consumes a null literal if one comes next.
func (s *scanner) null() bool {
	if s.peek() == 'n' && bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		s.i += 4
		return true
	}
	return false
}

// object calls field for every member of the object that comes next; field
// must consume the value. null counts as an empty object. Keys are passed
// unescaped and are only valid during the call.
func (s *scanner) object(field func(key []byte) error) error {
	if s.null() {
		return nil
	}
	if s.peek() != '{' {
		return s.fail("want an object")
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, err := s.stringBytes()
		if err != nil {
			return err
		}
		if s.peek() != ':' {
			return s.fail("want ':' after a key")
		}
		s.i++
		if err := field(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return s.fail("want ',' or '}' in an object")
		}
	}
}

// array calls elem for every element of the array that comes next; elem
// must consume it. null counts as an empty array.
func (s *scanner) array(elem func() error) error {
	if s.null() {
		return nil
	}
	if s.peek() != '[' {
		return s.fail("want an array")
	}
	s.i++
	if s.peek() == ']' {
		s.i++
		return nil
	}
	for {
		if err := elem(); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return nil
		default:
			return s.fail("want ',' or ']' in an array")
		}
	}
}

// str reads a string value (null reads as "").
func (s *scanner) str() (string, error) {
	if s.null() {
		return "", nil
	}
	b, err := s.stringBytes()
	return string(b), err
}

// boolean reads true, false or null (false).
func (s *scanner) boolean() (bool, error) {
	switch {
	case s.null():
		return false, nil
	case bytes.HasPrefix(s.b[s.i:], []byte("true")):
		s.i += 4
		return true, nil
	case bytes.HasPrefix(s.b[s.i:], []byte("false")):
		s.i += 5
		return false, nil
	}
	return false, s.fail("want a boolean")
}

// valueBytes reads a string value as stringBytes does; null reads as
// empty, as encoding/json and the API server's decoder read it.
func (s *scanner) valueBytes() ([]byte, error) {
	if s.null() {
		return nil, nil
	}
	return s.stringBytes()
}

// stringBytes reads a string and returns its unescaped bytes: a slice of
// the input when it holds no escapes (the common case), else a copy.
func (s *scanner) stringBytes() ([]byte, error) {
	if s.peek() != '"' {
		return nil, s.fail("want a string")
	}
	start := s.i
	escaped, err := s.skipString()
	if err != nil {
		return nil, err
	}
	raw := s.b[start:s.i]
	if !escaped {
		return raw[1 : len(raw)-1], nil
	}
	// Escapes are rare in the fields the webhook reads; let encoding/json
	// apply the exact JSON rules (\uXXXX, surrogate pairs, invalid UTF-8).
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return nil, fmt.Errorf("%w at offset %d: %w", errSyntax, start, err)
	}
	return []byte(out), nil
}
