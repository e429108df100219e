package verify

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	"github.com/sigstore/sigstore-go/pkg/root"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
)

// Real Sigstore public-good material, verified offline against the real
// public-good trusted root. Nothing is copied into this repository: the
// files are read from the Go module cache, from the versions of the
// sigstore-go and cosign modules go.mod requires (testenv.ModuleFile).
const (
	sigstoreGo = "github.com/sigstore/sigstore-go"
	cosignV2   = "github.com/sigstore/cosign/v2"
	// publicGoodRoot is Sigstore's public-good trusted_root.json (Fulcio
	// CAs, Rekor, CT logs, timestamp authority) as sigstore-go ships it.
	publicGoodRoot = "pkg/testing/data/trusted-roots/public-good.json"
	// npmProvenance is the npm provenance bundle of sigstore@2.0.0,
	// published by the GitHub Actions workflow release.yml of
	// sigstore/sigstore-js on refs/heads/main: a Fulcio certificate with
	// GitHub's OIDC issuer and extensions, a DSSE SLSA v1 provenance
	// statement over the package's SHA-512, a Rekor entry (log index
	// 31821305) with inclusion proof and promise, and embedded SCTs.
	npmProvenance = "pkg/testing/data/bundles/sigstore.js@2.0.0-provenance.sigstore.json"
	npmWorkflow   = "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main"
	githubIssuer  = "https://token.actions.githubusercontent.com"
)

func publicGoodTrustedRoot(t *testing.T) root.TrustedMaterial {
	t.Helper()
	tr, err := root.NewTrustedRootFromJSON(testenv.ModuleFile(t, sigstoreGo, publicGoodRoot))
	if err != nil {
		t.Fatalf("public-good trusted root: %v", err)
	}
	return tr
}

// publicGoodChecker is the bundle checker a keyless authority with
// identity id compiles to, over the public-good root, tlog mode offline:
// what a TrustPolicy trusting public-good Fulcio runs.
func publicGoodChecker(t *testing.T, tr root.TrustedMaterial, id policy.Identity) *bundleChecker {
	t.Helper()
	c, err := newKeylessCheckers(&policy.KeylessAuthority{Identities: []policy.Identity{id}, TrustedRoot: tr}, policy.TLogOffline)
	if err != nil {
		t.Fatal(err)
	}
	return c.bundle
}

// statementSubject returns the algorithm and digest of the first subject
// of a bundle's DSSE in-toto statement: the artifact it was made for.
func statementSubject(t *testing.T, raw []byte) (string, []byte) {
	t.Helper()
	var b struct {
		DsseEnvelope struct {
			Payload string `json:"payload"`
		} `json:"dsseEnvelope"`
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	payload, err := base64.StdEncoding.DecodeString(b.DsseEnvelope.Payload)
	if err != nil {
		t.Fatal(err)
	}
	var stmt struct {
		Subject []struct {
			Digest map[string]string `json:"digest"`
		} `json:"subject"`
	}
	if err := json.Unmarshal(payload, &stmt); err != nil || len(stmt.Subject) == 0 {
		t.Fatalf("statement: %v", err)
	}
	for alg, h := range stmt.Subject[0].Digest {
		d, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		return alg, d
	}
	t.Fatal("statement subject without a digest")
	return "", nil
}

// tamper rewrites one JSON field of the bundle's first transparency log
// entry.
func tamper(t *testing.T, raw []byte, edit func(entry map[string]any)) []byte {
	t.Helper()
	var b map[string]any
	if err := json.Unmarshal(raw, &b); err != nil {
		t.Fatal(err)
	}
	entries := b["verificationMaterial"].(map[string]any)["tlogEntries"].([]any)
	edit(entries[0].(map[string]any))
	out, err := json.Marshal(b)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPublicGoodNpmProvenance: the npm provenance bundle of sigstore@2.0.0
// (sigstore-go's module, pkg/testing/data/bundles; see npmProvenance),
// verified offline against the public-good root (sigstore-go's module,
// pkg/testing/data/trusted-roots/public-good.json) by the checker a keyless
// authority runs: the right GitHub Actions identity verifies, with or
// without its Fulcio extensions; a wrong issuer, subject or extension, a
// wrong artifact digest, and a tampered log entry are denied. The bundle is
// provenance for an npm package, not an image signature: the image check
// refuses it even with the right identity.
func TestPublicGoodNpmProvenance(t *testing.T) {
	t.Parallel()
	tr := publicGoodTrustedRoot(t)
	raw := testenv.ModuleFile(t, sigstoreGo, npmProvenance)
	alg, digest := statementSubject(t, raw)
	if alg != "sha512" {
		t.Fatalf("subject digest algorithm %q, want the npm tarball's sha512", alg)
	}
	right := policy.Identity{Issuer: githubIssuer, Subject: npmWorkflow}
	withExt := func(e certificate.Extensions) policy.Identity { id := right; id.Extensions = e; return id }
	wrongDigest := append([]byte(nil), digest...)
	wrongDigest[0] ^= 1

	for _, tc := range []struct {
		name   string
		id     policy.Identity
		raw    []byte
		digest []byte
		err    string // empty: verifies
	}{
		{"right identity", right, raw, digest, ""},
		{"right identity and repository, ref, trigger extensions", withExt(certificate.Extensions{
			GithubWorkflowRepository: "sigstore/sigstore-js", GithubWorkflowRef: "refs/heads/main", GithubWorkflowTrigger: "push",
			SourceRepositoryURI: "https://github.com/sigstore/sigstore-js", SourceRepositoryRef: "refs/heads/main",
			SourceRepositoryDigest: "f0b49a04e5a62250e0f60fb128004a73110fe311", RunnerEnvironment: "github-hosted",
		}), raw, digest, ""},
		{"anchored subject regexp", policy.Identity{Issuer: githubIssuer,
			SubjectRegExp: regexp.MustCompile(`^https://github\.com/sigstore/sigstore-js/\.github/workflows/[^/]+@refs/heads/main$`)}, raw, digest, ""},
		{"wrong issuer", policy.Identity{Issuer: "https://accounts.google.com", Subject: npmWorkflow}, raw, digest, "issuer"},
		{"wrong subject", policy.Identity{Issuer: githubIssuer, Subject: "https://github.com/sigstore/sigstore-go/.github/workflows/release.yml@refs/heads/main"}, raw, digest, "SAN"},
		{"wrong repository extension", withExt(certificate.Extensions{SourceRepositoryURI: "https://github.com/attacker/sigstore-js"}), raw, digest, "SourceRepositoryURI"},
		{"wrong ref extension", withExt(certificate.Extensions{GithubWorkflowRef: "refs/tags/v2.0.0"}), raw, digest, "GithubWorkflowRef"},
		{"another artifact's digest", right, raw, wrongDigest, "digest"},
		{"tampered entry: integrated time", right, tamper(t, raw, func(e map[string]any) {
			e["integratedTime"] = "1692374736" // one second later than logged
		}), digest, "verified log entries from transparency log"},
		{"tampered entry: log index", right, tamper(t, raw, func(e map[string]any) {
			e["logIndex"] = "31821306"
		}), digest, "verified log entries from transparency log"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b, err := parseBundle(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			res, err := publicGoodChecker(t, tr, tc.id).verify(b, alg, tc.digest)
			if tc.err != "" {
				if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.err)) {
					t.Fatalf("err = %v, want a denial mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("the public-good bundle does not verify: %v", err)
			}
			if got := summaryIdentity(res); got != githubIssuer+" "+npmWorkflow {
				t.Errorf("identity %q", got)
			}
			if idx := bundleLogIndex(b, res, true); idx != 31821305 {
				t.Errorf("log index %d, want the entry's 31821305", idx)
			}
			if err := imageSignature(res); err == nil || !strings.Contains(err.Error(), `attestation with predicate "https://slsa.dev/provenance/v1"`) {
				t.Errorf("npm provenance accepted as an image signature: %v", err)
			}
		})
	}
}
