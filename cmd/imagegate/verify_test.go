package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/imagegate/imagegate/internal/testenv"
)

// cliPolicy writes a ClusterTrustPolicy file covering host/** with the
// given keys and extra spec lines.
func cliPolicy(t *testing.T, host string, extra string, keys ...*testenv.CosignKey) string {
	t.Helper()
	var b strings.Builder
	b.WriteString("apiVersion: imagegate.dev/v1alpha1\nkind: ClusterTrustPolicy\nmetadata: {name: release}\nspec:\n")
	b.WriteString("  images: [{glob: \"" + host + "/**\"}]\n  authorities:\n")
	for i, k := range keys {
		b.WriteString("    - name: key-" + string(rune('a'+i)) + "\n      key:\n        data: |\n")
		for _, line := range strings.Split(strings.TrimSpace(string(k.PublicPEM)), "\n") {
			b.WriteString("          " + line + "\n")
		}
	}
	b.WriteString(extra)
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

type cliResult struct {
	code   int
	out    []map[string]any
	stderr string
}

func runCLI(t *testing.T, args ...string) cliResult {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"verify", "--allow-insecure-registry", "--output", "json"}, args...), &stdout, &stderr)
	r := cliResult{code: code, stderr: stderr.String()}
	if code != exitUsage {
		if err := json.Unmarshal(stdout.Bytes(), &r.out); err != nil {
			t.Fatalf("JSON output: %v\n%s", err, stdout.String())
		}
	}
	return r
}

func TestVerifyCLIExitCodesAndJSON(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	key, other := testenv.NewCosignKey(t), testenv.NewCosignKey(t)
	policy := cliPolicy(t, reg.Host(), "", key)

	signed := reg.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, signed, key)
	bundled := reg.PushImage(t, "app", "v2")
	testenv.SignBundle(t, bundled, key)
	unsigned := reg.PushImage(t, "app", "v3")
	wrongKey := reg.PushImage(t, "app", "v4")
	testenv.SignLegacy(t, wrongKey, other)
	bundleWrongKey := reg.PushImage(t, "app", "v5")
	testenv.SignBundle(t, bundleWrongKey, other)
	sbomOnly := reg.PushImage(t, "app", "v6")
	testenv.PushSBOMReferrer(t, sbomOnly)

	cases := []struct {
		name, image, result, reason string
		code                        int
		format                      string
	}{
		{"legacy signature", reg.Repo("app") + ":v1", "Verified", "Verified", exitVerified, "legacy"},
		{"bundle signature", bundled.String(), "Verified", "Verified", exitVerified, "bundle"},
		{"unsigned", reg.Repo("app") + ":v3", "Denied", "NoSignature", exitDenied, ""},
		{"another key", reg.Repo("app") + ":v4", "Denied", "NoMatchingSignature", exitDenied, ""},
		{"bundle by another key", bundleWrongKey.String(), "Denied", "NoMatchingSignature", exitDenied, ""},
		{"only an SBOM referrer", sbomOnly.String(), "Denied", "NoSignature", exitDenied, ""},
		{"tag not found", reg.Repo("app") + ":nope", "Denied", "TagNotFound", exitDenied, ""},
		{"no policy", "elsewhere.example/app:v1", "Denied", "NoPolicy", exitDenied, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "--policy", policy, tc.image)
			if r.code != tc.code || len(r.out) != 1 {
				t.Fatalf("exit %d (want %d), output %v, stderr %s", r.code, tc.code, r.out, r.stderr)
			}
			o := r.out[0]
			for _, k := range []string{"image", "digest", "policy", "verified", "result", "reason", "authorities", "signers", "message"} {
				if _, ok := o[k]; !ok {
					t.Errorf("JSON lacks %q: %v", k, o)
				}
			}
			if len(o) != 9 {
				t.Errorf("JSON has %d fields, want exactly the 9 of the contract: %v", len(o), o)
			}
			// The JSON carries the text output's explanation.
			if msg := o["message"].(string); (msg == "") != (tc.result == "Verified") {
				t.Errorf("message %q for a %s image", msg, tc.result)
			}
			if o["result"] != tc.result || o["reason"] != tc.reason || o["image"] != tc.image || o["verified"] != (tc.result == "Verified") {
				t.Fatalf("decision %v", o)
			}
			if tc.format != "" {
				signers := o["signers"].([]any)
				s := signers[0].(map[string]any)
				if s["format"] != tc.format || s["authority"] != "key-a" || !strings.HasPrefix(s["identity"].(string), "key sha256:") {
					t.Fatalf("signer %v", s)
				}
				if auth := o["authorities"].([]any); len(auth) != 1 || auth[0] != "key-a" {
					t.Fatalf("authorities %v", auth)
				}
			}
		})
	}
	t.Run("denied wins over verified", func(t *testing.T) {
		r := runCLI(t, "--policy", policy, reg.Repo("app")+":v1", unsigned.String())
		if r.code != exitDenied || len(r.out) != 2 || r.out[0]["result"] != "Verified" {
			t.Fatalf("exit %d, %v", r.code, r.out)
		}
	})
	t.Run("exception", func(t *testing.T) {
		exc := cliPolicy(t, reg.Host(), "  exceptions: [{glob: \""+reg.Host()+"/app:v3\", reason: vendor, expires: \"2999-01-01T00:00:00Z\"}]\n", key)
		r := runCLI(t, "--policy", exc, reg.Repo("app")+":v3")
		if r.code != exitVerified || r.out[0]["result"] != "Exception" || r.out[0]["verified"] != false {
			t.Fatalf("exit %d, %v", r.code, r.out)
		}
	})
}

func TestVerifyCLIUnavailableRegistry(t *testing.T) {
	t.Parallel()
	var down atomic.Bool
	reg := testenv.NewRegistry(t, testenv.WithOutage(&down))
	key := testenv.NewCosignKey(t)
	d := reg.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, d, key)
	down.Store(true)
	r := runCLI(t, "--policy", cliPolicy(t, reg.Host(), "", key), d.String())
	if r.code != exitUnavailable || r.out[0]["result"] != "Unavailable" {
		t.Fatalf("exit %d, %v", r.code, r.out)
	}
}

func TestVerifyCLIUsageAndPolicyErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("apiVersion: imagegate.dev/v1alpha1\nkind: ClusterTrustPolicy\nmetadata: {name: x}\nspec:\n  images: [{glob: a}]\n  authorities: [{name: s, static: {action: maybe}}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no policy flag", []string{"registry.example/app:v1"}, "--policy"},
		{"no image", []string{"--policy", bad}, "IMAGE"},
		{"missing file", []string{"--policy", filepath.Join(dir, "none.yaml"), "a/b:c"}, "none.yaml"},
		{"invalid policy names file, document and field", []string{"--policy", bad, "a/b:c"}, "bad.yaml: document 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q, want exit 2 mentioning %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

// TestVerifyCLIDigestOutranksAnUnprovenTag: a policy scoped to tag v1.*
// judges repo:v1.2@digest only when the registry shows that v1.2 names
// that digest; otherwise the repository's policy does.
func TestVerifyCLIDigestOutranksAnUnprovenTag(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	strictKey, releaseKey := testenv.NewCosignKey(t), testenv.NewCosignKey(t)
	strict := cliPolicy(t, reg.Host(), "", strictKey)
	release := cliPolicy(t, reg.Host(), "", releaseKey) // rewritten below: another name, a tag-scoped glob
	data, err := os.ReadFile(release)
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("{name: release}"), []byte("{name: release-v1}"), 1)
	data = bytes.Replace(data, []byte(reg.Host()+"/**"), []byte(reg.Host()+"/app:v1.*"), 1)
	if err := os.WriteFile(release, data, 0o600); err != nil {
		t.Fatal(err)
	}
	tagged := reg.PushImage(t, "app", "v1.2")
	testenv.SignLegacy(t, tagged, releaseKey)
	other := reg.PushImage(t, "app", "other")
	testenv.SignLegacy(t, other, releaseKey)

	proven := runCLI(t, "--policy", strict, "--policy", release, reg.Repo("app")+":v1.2@"+tagged.DigestStr())
	if proven.code != exitVerified {
		t.Fatalf("tag naming its digest: exit %d %v, want verified under the tag's policy", proven.code, proven.out)
	}
	borrowed := runCLI(t, "--policy", strict, "--policy", release, reg.Repo("app")+":v1.2@"+other.DigestStr())
	if borrowed.code != exitDenied {
		t.Fatalf("tag naming another digest: exit %d %v, want denied under the repository's policy", borrowed.code, borrowed.out)
	}
}
