package charts_test

import (
	"strings"
	"testing"
)

// TestLint runs `helm lint --strict` (warnings fail) with the default
// values and with each values case.
func TestLint(t *testing.T) {
	t.Parallel()
	for _, c := range valuesCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"lint", "--strict", chartDir}
			for _, f := range c.files() {
				args = append(args, "--values", f)
			}
			out, err := runHelm(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, "[WARNING]") || strings.HasPrefix(line, "[ERROR]") {
					t.Errorf("helm lint: %s", line)
				}
			}
			if !strings.Contains(out, "1 chart(s) linted, 0 chart(s) failed") {
				t.Errorf("helm lint did not report the chart clean:\n%s", out)
			}
		})
	}
}
