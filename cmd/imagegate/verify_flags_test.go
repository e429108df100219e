package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/testenv"
)

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestVerifyCLIKeyFlag: --key FILE verifies as cosign verify --key does,
// without a policy file; the result names the policy "command-line".
func TestVerifyCLIKeyFlag(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	key, other := testenv.NewCosignKey(t), testenv.NewCosignKey(t)
	legacy := reg.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, legacy, key)
	bundled := reg.PushImage(t, "app", "v2")
	testenv.SignBundle(t, bundled, key)
	keyFile, otherFile := writeFile(t, "cosign.pub", key.PublicPEM), writeFile(t, "other.pub", other.PublicPEM)

	r := runCLI(t, "--key", keyFile, reg.Repo("app")+":v1", bundled.String())
	if r.code != exitVerified || len(r.out) != 2 || r.out[0]["policy"] != "command-line" || r.out[1]["result"] != "Verified" {
		t.Fatalf("exit %d, %v, stderr %s", r.code, r.out, r.stderr)
	}
	r = runCLI(t, "--key", otherFile, legacy.String())
	if r.code != exitDenied || r.out[0]["reason"] != "NoMatchingSignature" {
		t.Fatalf("another key: exit %d, %v", r.code, r.out)
	}
}

// TestVerifyCLIKeylessFlags: cosign's keyless flags, the GitHub workflow
// extension flags among them, against a certificate the test Fulcio CA
// issued to a GitHub Actions workflow, in both signature formats.
func TestVerifyCLIKeylessFlags(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	ss := testenv.NewTestSigstore(t)
	cert := testenv.GitHubActions("org/app", "refs/tags/v1")
	bundled, legacy := reg.PushImage(t, "app", "v1"), reg.PushImage(t, "app", "v2")
	ss.SignBundleAs(t, bundled, cert)
	ss.SignLegacyAs(t, legacy, cert)
	root := writeFile(t, "trusted_root.json", ss.TrustedRootJSON(t))
	id := []string{"--certificate-oidc-issuer", cert.Issuer, "--certificate-identity", cert.Subject, "--trusted-root", root}
	images := []string{bundled.String(), legacy.String()}

	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"identity and issuer", id, exitVerified},
		{"right workflow repository, ref and trigger", append(id[:len(id):len(id)],
			"--certificate-github-workflow-repository", "org/app", "--certificate-github-workflow-ref", "refs/tags/v1",
			"--certificate-github-workflow-trigger", "push"), exitVerified},
		{"anchored identity regexp", []string{"--certificate-oidc-issuer", cert.Issuer, "--trusted-root", root,
			"--certificate-identity-regexp", `^https://github\.com/org/app/\.github/workflows/.*$`}, exitVerified},
		{"wrong workflow repository", append(id[:len(id):len(id)], "--certificate-github-workflow-repository", "attacker/app"), exitDenied},
		{"wrong subject", []string{"--certificate-oidc-issuer", cert.Issuer, "--certificate-identity", "https://github.com/attacker/app/.github/workflows/release.yml@refs/tags/v1", "--trusted-root", root}, exitDenied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := runCLI(t, append(tc.args, images...)...)
			if r.code != tc.code || len(r.out) != 2 {
				t.Fatalf("exit %d (want %d), %v, stderr %s", r.code, tc.code, r.out, r.stderr)
			}
			for _, o := range r.out {
				if want := tc.code == exitVerified; o["verified"] != want || o["policy"] != "command-line" {
					t.Errorf("decision %v, want verified=%v", o, want)
				}
			}
		})
	}
}

// TestVerifyCLIFlagUsageErrors: combinations cosign refuses, an unanchored
// regexp (which cosign accepts, imagegate does not) and an unparseable
// image are usage errors (exit 2) naming what to fix, and no registry is
// asked anything.
func TestVerifyCLIFlagUsageErrors(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	d := reg.PushImage(t, "app", "v1")
	keyFile := writeFile(t, "cosign.pub", testenv.NewCosignKey(t).PublicPEM)
	root := writeFile(t, "trusted_root.json", testenv.NewTestSigstore(t).TrustedRootJSON(t))
	policyFile := cliPolicy(t, reg.Host(), "", testenv.NewCosignKey(t))
	issuer := []string{"--certificate-oidc-issuer", "https://token.actions.githubusercontent.com", "--trusted-root", root}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"policy and key", []string{"--policy", policyFile, "--key", keyFile, d.String()}, "alternatives"},
		{"key and identity", []string{"--key", keyFile, "--certificate-identity", "a@example.com", d.String()}, "alternatives"},
		{"identity without issuer", []string{"--certificate-identity", "a@example.com", "--trusted-root", root, d.String()}, "--certificate-oidc-issuer"},
		{"issuer without identity", append(issuer[:len(issuer):len(issuer)], d.String()), "--certificate-identity"},
		{"keyless without trusted root", []string{"--certificate-identity", "a@example.com", "--certificate-oidc-issuer", "https://x.example", d.String()}, "--trusted-root"},
		{"unanchored identity regexp", append(issuer[:len(issuer):len(issuer)], "--certificate-identity-regexp", `https://github\.com/org/`, d.String()),
			"--certificate-identity-regexp: regular expression is not anchored"},
		{"unanchored issuer regexp", []string{"--certificate-identity", "a@example.com", "--trusted-root", root, "--certificate-oidc-issuer-regexp", `token\.actions`, d.String()},
			"--certificate-oidc-issuer-regexp: regular expression is not anchored"},
		{"unreadable key", []string{"--key", filepath.Join(t.TempDir(), "none.pub"), d.String()}, "--key"},
		{"not a key", []string{"--key", root, d.String()}, "not a PEM public key"},
		{"unparseable image", []string{"--key", keyFile, "Registry.Example/App:v1"}, `"Registry.Example/App:v1"`},
		{"unparseable image among good ones", []string{"--key", keyFile, d.String(), reg.Repo("app") + "@sha256:abc"}, "@sha256:abc"},
		{"unparseable image with a policy", []string{"--policy", policyFile, "app:v1:v2"}, `"app:v1:v2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg.ResetRequests()
			r := runCLI(t, tc.args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit 2 mentioning %q", r.code, r.stderr, tc.want)
			}
			if reqs := reg.Requests(); len(reqs) != 0 {
				t.Errorf("a usage error sent %d registry requests: %v", len(reqs), reqs)
			}
		})
	}
}

// TestHelpExitsZero: --help (and its other spellings) of every command
// prints that command's usage to stdout and exits 0, as cosign, flux and
// kubectl do; "imagegate help verify" is "imagegate verify --help".
func TestHelpExitsZero(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--help"}, "usage: imagegate COMMAND"},
		{[]string{"-h"}, "usage: imagegate COMMAND"},
		{[]string{"help"}, "usage: imagegate COMMAND"},
		{[]string{"help", "verify"}, "usage: imagegate verify"},
		{[]string{"verify", "--help"}, "-certificate-github-workflow-repository"},
		{[]string{"verify", "-h"}, "usage: imagegate verify"},
		{[]string{"verify", "--key", "k.pub", "-help"}, "usage: imagegate verify"},
		{[]string{"audit", "--help"}, "usage: imagegate audit"},
		{[]string{"controller", "--help"}, "-leader-elect"},
		{[]string{"webhook", "--help"}, "-verified-ttl"},
		{[]string{"version", "--help"}, "usage: imagegate version"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tc.args, &stdout, &stderr)
			if code != 0 || !strings.Contains(stdout.String(), tc.want) || stderr.Len() != 0 {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 0 and %q on stdout", code, stdout.String(), stderr.String(), tc.want)
			}
		})
	}
	// Without a command, or with an unknown one, it is still a usage error.
	for _, args := range [][]string{nil, {"nope"}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "usage: imagegate COMMAND") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 with the usage", args, code, stderr.String())
		}
	}
}

// TestVerifyFlagsAreDocumented: every flag of imagegate verify is in
// docs/verify.md.
func TestVerifyFlagsAreDocumented(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"verify", "--help"}, &stdout, &stderr); code != exitHelp {
		t.Fatalf("--help: exit %d", code)
	}
	doc, err := os.ReadFile("../../docs/verify.md")
	if err != nil {
		t.Fatal(err)
	}
	names := 0
	for _, line := range strings.Split(stdout.String(), "\n") {
		name, ok := strings.CutPrefix(line, "  -")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, " ")
		names++
		// The GitHub workflow flags are documented as one row:
		// --certificate-github-workflow-trigger, `-sha`, `-name`, ...
		short, isGitHub := strings.CutPrefix(name, "certificate-github-workflow-")
		if isGitHub && strings.Contains(string(doc), "`-"+short+"`") {
			continue
		}
		if !strings.Contains(string(doc), "`--"+name) {
			t.Errorf("--%s is not in docs/verify.md", name)
		}
	}
	if names < 15 {
		t.Fatalf("read %d flags from the usage text; it changed shape:\n%s", names, stdout.String())
	}
}
