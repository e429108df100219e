package policy

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// TestIdentityRegexpsMustBeAnchored: an identity regular expression that
// can match a value merely containing the intended one is refused, because
// anyone can get a public-good certificate for a subject of their choosing.
// Each refused case names a subject an attacker could get that the pattern
// would match.
func TestIdentityRegexpsMustBeAnchored(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		expr     string
		anchored bool
		attacker string // a value an unanchored pattern would match
	}{
		{`^https://github\.com/org/app/\.github/workflows/release\.yml@refs/tags/v.*$`, true, ""},
		{`\Ahttps://github\.com/org/.+\z`, true, ""},
		{`^(release|security)@example\.com$`, true, ""},
		{`^release@example\.com$|^security@example\.com$`, true, ""},
		{`(^https://token\.example$)`, true, ""},
		{`https://github\.com/org/`, false, "https://github.com/attacker/x?https://github.com/org/"},
		{`^https://github\.com/org/`, false, "https://github.com/org/../../attacker"},
		{`https://github\.com/org/app$`, false, "https://evil.example/https://github.com/org/app"},
		{`^release@example\.com|security@example\.com$`, false, "release@example.com.evil"},
		{`(?m)^release@example\.com$`, false, "x\nrelease@example.com"},
		{`^a$*`, false, "ab"},
		{``, false, "anything"},
	} {
		t.Run(tc.expr, func(t *testing.T) {
			t.Parallel()
			re, err := CompileAnchored(tc.expr)
			if tc.anchored {
				if err != nil {
					t.Fatalf("refused an anchored pattern: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrUnanchored) || re != nil {
				t.Fatalf("err = %v, want ErrUnanchored", err)
			}
			for _, want := range []string{"must begin with ^ and end with $", tc.expr} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("message %q lacks %q", err, want)
				}
			}
			// The reason for refusing: unanchored, the pattern matches
			// the attacker's value.
			if loose := mustCompile(t, tc.expr); !loose.MatchString(tc.attacker) {
				t.Errorf("the case is not an attack: %q does not match %q", tc.expr, tc.attacker)
			}
		})
	}
}

func mustCompile(t *testing.T, expr string) *regexp.Regexp {
	t.Helper()
	re, err := regexp.Compile(expr)
	if err != nil {
		t.Fatal(err)
	}
	return re
}

// TestCompileIdentityRefusesUnanchoredAndKeepsExtensions: the rule applies
// to issuerRegExp and subjectRegExp in a compiled policy, naming the field,
// and the Fulcio extensions of an identity reach the compiled form.
func TestCompileIdentityRefusesUnanchoredAndKeepsExtensions(t *testing.T) {
	t.Parallel()
	for _, field := range []string{"issuerRegExp", "subjectRegExp"} {
		id := igv1.Identity{Issuer: "https://token.example", SubjectRegExp: "^ci@example\\.com$"}
		if field == "issuerRegExp" {
			id.Issuer, id.IssuerRegExp = "", "token\\.example"
		} else {
			id.SubjectRegExp = "ci@example\\.com"
		}
		spec := keylessSpec(id)
		_, err := Compile(context.Background(), clusterRef, spec, secretMap{})
		want := "spec.authorities[0]: keyless: identities[0]: " + field + ": regular expression is not anchored"
		if !errors.Is(err, ErrInvalidPolicy) || !errors.Is(err, ErrUnanchored) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want one containing %q", field, err, want)
		}
	}
	id, err := compileIdentity(igv1.Identity{
		Issuer: "https://token.actions.githubusercontent.com", Subject: "https://github.com/org/app/.github/workflows/release.yml@refs/heads/main",
		Extensions: &igv1.CertificateExtensions{GithubWorkflowRepository: "org/app", SourceRepositoryRef: "refs/heads/main"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (certificate.Extensions{GithubWorkflowRepository: "org/app", SourceRepositoryRef: "refs/heads/main"}); id.Extensions != want {
		t.Fatalf("extensions = %+v, want %+v", id.Extensions, want)
	}
}

// keylessSpec is a spec with one keyless authority whose trusted root
// Secret is missing: compile errors about the identity come first.
func keylessSpec(id igv1.Identity) *igv1.TrustPolicySpec {
	return &igv1.TrustPolicySpec{
		Images: []igv1.ImageGlob{{Glob: "registry.example/**"}},
		Authorities: []igv1.Authority{{Name: "ci", Keyless: &igv1.KeylessAuthority{
			Identities:  []igv1.Identity{id},
			TrustedRoot: igv1.TrustedRoot{SecretRef: igv1.SecretKeyRef{Name: "root", Namespace: "flux-system", Key: "trusted_root.json"}},
		}}},
	}
}
