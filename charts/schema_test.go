package charts_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagegate/imagegate/internal/admission"
)

// TestInvalidValuesRefused checks that each file of testdata/invalid is
// refused by both helm lint and helm template, with an error naming the
// value (the file's first line says "# want: TEXT").
func TestInvalidValuesRefused(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("testdata/invalid holds no values files")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			want := wantedError(t, f)
			for _, args := range [][]string{
				append(templateArgs("chart-invalid"), "--values", f),
				{"lint", "--strict", chartDir, "--values", f},
			} {
				out, err := runHelm(t, args...)
				if err == nil {
					t.Errorf("helm %s accepted %s", args[0], f)
					continue
				}
				if !strings.Contains(out, want) {
					t.Errorf("helm %s refused %s without naming %q:\n%s", args[0], f, want, out)
				}
			}
		})
	}
}

// wantedError reads the "# want: TEXT" first line of a values file.
func wantedError(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	s := bufio.NewScanner(f)
	if s.Scan() {
		if want, ok := strings.CutPrefix(s.Text(), "# want: "); ok && want != "" {
			return want
		}
	}
	t.Fatalf("%s: the first line must be \"# want: TEXT\", the error helm must print", path)
	return ""
}

// TestTimeoutRangeFitsTheBinary keeps the schema's range of
// webhook.timeoutSeconds inside what `imagegate webhook` accepts: the chart
// renders --timeout as timeoutSeconds minus 2s, and the binary refuses a
// --timeout of 0 or of admission.MaxTimeout and above.
func TestTimeoutRangeFitsTheBinary(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	var schema struct {
		Properties struct {
			Webhook struct {
				Properties struct {
					TimeoutSeconds struct {
						Minimum, Maximum *int
					} `json:"timeoutSeconds"`
				} `json:"properties"`
			} `json:"webhook"`
		} `json:"properties"`
	}
	if err := json.Unmarshal(b, &schema); err != nil {
		t.Fatalf("values.schema.json: %v", err)
	}
	r := schema.Properties.Webhook.Properties.TimeoutSeconds
	if r.Minimum == nil || r.Maximum == nil {
		t.Fatal("values.schema.json: webhook.timeoutSeconds needs a minimum and a maximum")
	}
	lo := time.Duration(*r.Minimum-2) * time.Second
	hi := time.Duration(*r.Maximum-2) * time.Second
	if lo <= 0 || hi >= admission.MaxTimeout {
		t.Errorf("webhook.timeoutSeconds %d..%d renders --timeout %s..%s; the binary accepts above 0 and below %s",
			*r.Minimum, *r.Maximum, lo, hi, admission.MaxTimeout)
	}
}
