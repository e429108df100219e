package secrets

import "testing"

// TestParseWatchSelector: "" watches nothing; a selector that matches
// every Secret (blank) or does not parse is refused with the flag's help.
func TestParseWatchSelector(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":            "<nil>",
		WatchLabel:    WatchLabel,
		"owner!=helm": "owner!=helm",
		" ":           "error",
		"a=(":         "error",
	} {
		sel, err := ParseWatchSelector(in)
		got := "error"
		switch {
		case err == nil && sel == nil:
			got = "<nil>"
		case err == nil:
			got = sel.String()
		}
		if got != want {
			t.Errorf("ParseWatchSelector(%q) = %s (err %v), want %s", in, got, err, want)
		}
	}
}
