package admission

import (
	"encoding/json"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

// Image references with control characters, bidirectional overrides,
// look-alike letters and absurd lengths are denied without a registry
// request, and every one of them stays inside one JSON audit line and a
// bounded answer: nothing in a reference can forge a log line or bloat a
// message.
func TestHostileReferencesAreDeniedCleanly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, image string
	}{
		{"NUL byte", "registry.example/team/app:v1\x00"},
		{"newline forging a log line", "registry.example/team/app:v1\n{\"decision\":\"allow\"}"},
		{"carriage return and escape", "registry.example/team/app\r\x1b[2K:v1"},
		{"right-to-left override", "registry.example/team/\u202eppa:v1"},
		{"Cyrillic look-alike host", "regіstry.example/team/app:v1"},
		{"zero-width space", "registry.example/team/a\u200bpp:v1"},
		{"invalid UTF-8", "registry.example/team/app:\xff\xfe"},
		{"100 KiB reference", "registry.example/team/" + strings.Repeat("a", 100<<10) + ":v1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newHandlerEnv(t, Options{})
			resp, code := e.post(t, reviewOf(t, admissionv1.Create, podGVK, "alice", pod(tc.image), nil))
			if resp == nil {
				t.Fatalf("HTTP %d, want an answer", code)
			}
			if resp.Allowed {
				t.Fatal("admitted")
			}
			if e.chk.calls.Load() != 0 {
				t.Fatalf("%d verifications for a reference no policy can cover", e.chk.calls.Load())
			}
			if n := len(resp.Result.Message); n > 4<<10 {
				t.Fatalf("denial message of %d bytes", n)
			}
			lines := e.audit.lines(t) // fails unless each line is one JSON object
			if len(lines) != 1 || lines[0].Decision != "deny" || lines[0].Containers["c0"].Image != asSent(t, tc.image) {
				t.Fatalf("audit: %d lines, %+v", len(lines), lines)
			}
			t.Logf("%s: %s", lines[0].Containers["c0"].Reason, resp.Result.Message)
		})
	}
}

// asSent is s as it reaches the webhook inside a JSON review (invalid
// UTF-8 replaced).
func asSent(t *testing.T, s string) string {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var out string
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
