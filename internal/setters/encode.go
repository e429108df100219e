package setters

import (
	"strconv"
	"strings"
	"unicode"

	yaml2 "go.yaml.in/yaml/v2"
	"go.yaml.in/yaml/v3"
)

// target is a value to write and whether it may be written unquoted.
type target struct {
	value   string
	plainOK bool
}

func newTarget(v string) target {
	return target{value: v, plainOK: plainSafe(v)}
}

// encode returns the token that replaces a scalar of the given style. The
// quoting style is kept; a plain scalar whose new value would not read
// back as a string becomes double-quoted, as kyaml's FormatNonStringStyle
// does for Flux.
func (t target) encode(style yaml.Style) string {
	switch {
	case style&yaml.DoubleQuotedStyle != 0:
		return quoteDouble(t.value)
	case style&yaml.SingleQuotedStyle != 0:
		return quoteSingle(t.value)
	case t.plainOK:
		return t.value
	}
	return quoteDouble(t.value)
}

// plainSafe reports whether v can replace any plain scalar and read back
// as the same string both in YAML 1.1 (Kubernetes' decoder, where "on"
// is a boolean) and in YAML 1.2 (yaml.v3). Image reference characters are
// all safe inside a plain scalar; only the first character and the
// implicit typing (tag 1.10 is a float) need checking.
func plainSafe(v string) bool {
	if v == "" || !isAlnum(v[0]) || v[len(v)-1] == ':' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isAlnum(v[i]) && !strings.ContainsRune("._:/@+=-", rune(v[i])) {
			return false
		}
	}
	var v1 any
	if err := yaml2.Unmarshal([]byte(v), &v1); err != nil {
		return false
	}
	if s, ok := v1.(string); !ok || s != v {
		return false
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v), &doc); err != nil || len(doc.Content) != 1 {
		return false
	}
	n := doc.Content[0]
	return n.Kind == yaml.ScalarNode && n.Tag == "!!str" && n.Value == v
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// quoteDouble writes a YAML double-quoted scalar, escaping what YAML
// requires and anything not printable.
func quoteDouble(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	b.WriteByte('"')
	for _, r := range v {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x80 && unicode.IsPrint(r), r >= 0x80 && printableNonASCII(r):
			b.WriteRune(r)
		case r <= 0xff:
			b.WriteString(`\x`)
			b.WriteString(hex2(int(r)))
		case r <= 0xffff:
			b.WriteString(`\u`)
			b.WriteString(strconv.FormatInt(int64(r)+0x10000, 16)[1:])
		default:
			b.WriteString(`\U`)
			b.WriteString(strconv.FormatInt(int64(r)+0x100000000, 16)[1:])
		}
	}
	b.WriteByte('"')
	return b.String()
}

// printableNonASCII excludes what YAML parsers treat as line breaks or
// byte-order marks, besides what Go deems unprintable.
func printableNonASCII(r rune) bool {
	return unicode.IsPrint(r) && r != 0x85 && r != 0x2028 && r != 0x2029 && r != 0xfeff
}

func hex2(c int) string {
	return strconv.FormatInt(int64(c)+0x100, 16)[1:]
}

// quoteSingle writes a YAML single-quoted scalar, which can only escape
// quotes; anything else falls back to double quotes.
func quoteSingle(v string) string {
	for _, r := range v {
		if r >= 0x80 && !printableNonASCII(r) || r < 0x80 && !unicode.IsPrint(r) {
			return quoteDouble(v)
		}
	}
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}
