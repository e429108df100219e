package main

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/imagegate/imagegate/internal/testenv"
)

// TestVerifyCLIUnreachableRegistryExits3: a registry that refuses
// connections or whose host does not resolve is Unavailable (exit 3,
// retry), never a denial, with and without --allow-insecure-registry.
func TestVerifyCLIUnreachableRegistryExits3(t *testing.T) {
	t.Parallel()
	closed := testenv.ClosedAddr(t)
	key := testenv.NewCosignKey(t)
	for _, tc := range []struct {
		name, host string
		insecure   bool
	}{
		{"closed port", closed, true},
		{"closed port, plain HTTP not allowed", closed, false},
		{"unresolvable host", "registry.imagegate.invalid", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"verify", "--output", "json", "--policy", cliPolicy(t, tc.host, "", key), tc.host + "/app:v1"}
			if tc.insecure {
				args = append(args, "--allow-insecure-registry")
			}
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			var out []map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("exit %d, JSON output: %v\n%s%s", code, err, stdout.String(), stderr.String())
			}
			if code != exitUnavailable || len(out) != 1 || out[0]["result"] != "Unavailable" || out[0]["reason"] != "Unavailable" {
				t.Fatalf("exit %d (want %d), output %v", code, exitUnavailable, out)
			}
		})
	}
}
