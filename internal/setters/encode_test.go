package setters

import (
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestPlainSafe(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		v  string
		ok bool
	}{
		{"v1.2.3", true},
		{"1.2.3", true},
		{imgApp.Ref(), true},
		{imgApp.Digest, true},
		{"registry.example:5000/team/api", true},
		{"1.10", false}, // float
		{"10", false},   // int
		{"0x1F", false}, // int
		{"1e3", false},  // float
		{"on", false},   // YAML 1.1 bool, as Kubernetes reads it
		{"yes", false},  // YAML 1.1 bool
		{"true", false}, // bool
		{"null", false}, // null
		{"[::1]:5000/app", false},
		{"-v1", false},
		{"app:", false},
		{"", false},
	} {
		if got := plainSafe(tc.v); got != tc.ok {
			t.Errorf("plainSafe(%q) = %v, want %v", tc.v, got, tc.ok)
		}
	}
}

// TestEncodeReadsBack checks that every encoding of a value, placed as a
// mapping value, decodes to that value as a string.
func TestEncodeReadsBack(t *testing.T) {
	t.Parallel()
	values := []string{"v1", "1.10", "on", "it's", `a "quoted" \ value`, "tab\there", "line\nbreak", "nel\u0085", "ünïcödé", "\U0001F600", "\x00\x7f"}
	for _, v := range values {
		for _, style := range []yaml.Style{0, yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle} {
			tok := newTarget(v).encode(style)
			var doc struct{ K string }
			if err := yaml.Unmarshal([]byte("k: "+tok+"\n"), &doc); err != nil || doc.K != v {
				t.Errorf("encode(%q, style %d) = %s reads back as %q, %v", v, style, tok, doc.K, err)
			}
		}
	}
}
