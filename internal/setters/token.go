package setters

import (
	"bytes"
	"errors"

	"go.yaml.in/yaml/v3"
)

// Why a marked scalar cannot be rewritten in place. Both leave the file
// untouched and become its Skipped reason.
var (
	errBlockScalar = errors.New("is a block scalar (| or >); write it as a plain or quoted scalar")
	errUnlocatable = errors.New("spans several lines or could not be located; write it on one line")
)

// token locates the bytes of scalar n in s: from its first character
// (after any anchor or tag) to its last (the closing quote of a quoted
// scalar). flow is true inside a flow collection, where ",[]{}" end a plain
// scalar. The located bytes are checked against the parsed value, so a
// position that is off never leads to an edit.
func (s *source) token(n *yaml.Node, flow bool) (start, end int, err error) {
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return 0, 0, errBlockScalar
	}
	start, ok := s.offset(n.Line, n.Column)
	if !ok {
		return 0, 0, errUnlocatable
	}
	start = s.skipProperties(start)
	switch {
	case n.Style&yaml.DoubleQuotedStyle != 0:
		end, ok = s.scanQuoted(start, '"')
	case n.Style&yaml.SingleQuotedStyle != 0:
		end, ok = s.scanQuoted(start, '\'')
	default:
		end, ok = s.scanPlain(start, flow)
	}
	if !ok || !s.holds(start, end, n) {
		return 0, 0, errUnlocatable
	}
	return start, end, nil
}

// skipProperties steps over the anchor and tag yaml.v3 counts as the start
// of a node ("&a !!str value"). Neither can begin a scalar, so this never
// skips part of the value.
func (s *source) skipProperties(off int) int {
	b := s.b
	for off < len(b) && (b[off] == '&' || b[off] == '!') {
		for off < len(b) && !isBlank(b[off]) && breakAt(b, off) == 0 {
			off++
		}
		for off < len(b) && (isBlank(b[off]) || breakAt(b, off) > 0) {
			off += max(1, breakAt(b, off))
		}
	}
	return off
}

// scanQuoted returns the offset after the closing quote of the quoted
// scalar at off. Double quotes escape with '\', single quotes by doubling.
func (s *source) scanQuoted(off int, q byte) (int, bool) {
	b := s.b
	if off >= len(b) || b[off] != q {
		return 0, false
	}
	for i := off + 1; i < len(b); i++ {
		switch {
		case q == '"' && b[i] == '\\':
			i++
		case b[i] == q && q == '\'' && i+1 < len(b) && b[i+1] == '\'':
			i++
		case b[i] == q:
			return i + 1, true
		}
	}
	return 0, false
}

// scanPlain returns the end of the plain scalar at off if it ends on its
// first line: before a comment, a ": " or, in flow context, an indicator.
func (s *source) scanPlain(off int, flow bool) (int, bool) {
	b := s.b
	end := off
	for i := off; i < len(b) && breakAt(b, i) == 0; {
		c := b[i]
		switch {
		case isBlank(c):
			j := i
			for j < len(b) && isBlank(b[j]) {
				j++
			}
			if j >= len(b) || breakAt(b, j) > 0 || b[j] == '#' {
				return end, end > off
			}
			i = j
			continue
		case c == ':' && (blankOrBreak(b, i+1) || flow && isFlowIndicator(b[i+1])):
			return end, end > off
		case flow && isFlowIndicator(c):
			return end, end > off
		}
		i++
		end = i
	}
	return end, end > off
}

// holds reports whether b[start:end] is the token of n's value. Simple
// tokens are compared directly; quoted ones with escapes or line breaks
// are decoded on their own, which gives the same value for flow scalars.
func (s *source) holds(start, end int, n *yaml.Node) bool {
	raw := s.b[start:end]
	if n.Style&(yaml.DoubleQuotedStyle|yaml.SingleQuotedStyle) == 0 {
		return string(raw) == n.Value
	}
	inner := raw[1 : len(raw)-1]
	simple := !bytes.ContainsAny(inner, "\\'\r\n\u0085\u2028\u2029")
	if simple {
		return string(inner) == n.Value
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil || len(doc.Content) != 1 {
		return false
	}
	v := doc.Content[0]
	return v.Kind == yaml.ScalarNode && v.Style == n.Style&^yaml.TaggedStyle && v.Value == n.Value
}
