package verify_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// TestVerifyKeylessFulcioExtensions: a keyless identity may require Fulcio
// certificate extensions (the GitHub repository, ref, trigger a workflow
// ran for), compared exactly as cosign's --certificate-github-workflow-*
// flags do. The test CA issues a GitHub Actions certificate with both the
// deprecated githubWorkflow* extensions and the source repository ones;
// each case is checked in both formats: a bundle (sigstore-go applies the
// identity) and a legacy signature (cosign verifies the chain and log, the
// same identity matcher then checks the certificate).
func TestVerifyKeylessFulcioExtensions(t *testing.T) {
	t.Parallel()
	ss := testenv.NewTestSigstore(t)
	cert := testenv.GitHubActions("org/app", "refs/tags/v1.2.3")
	e := newEnv(t, testenv.WithReferrersAPI())
	signed := map[verify.Format]name.Digest{
		verify.FormatBundle: e.reg.PushImage(t, "app", "bundle"),
		verify.FormatLegacy: e.reg.PushImage(t, "app", "legacy"),
	}
	ss.SignBundleAs(t, signed[verify.FormatBundle], cert)
	ss.SignLegacyAs(t, signed[verify.FormatLegacy], cert)
	workflow := policy.Identity{Issuer: cert.Issuer, Subject: cert.Subject}
	with := func(id policy.Identity, ext certificate.Extensions) policy.Identity {
		id.Extensions = ext
		return id
	}
	for _, tc := range []struct {
		name     string
		ids      []policy.Identity
		verified bool
		message  string // in the denial
	}{
		{"no extensions required", []policy.Identity{workflow}, true, ""},
		{"right repository (deprecated githubWorkflowRepository)",
			[]policy.Identity{with(workflow, certificate.Extensions{GithubWorkflowRepository: "org/app"})}, true, ""},
		{"right repository, ref and trigger (source repository extensions)",
			[]policy.Identity{with(workflow, certificate.Extensions{SourceRepositoryURI: "https://github.com/org/app", SourceRepositoryRef: "refs/tags/v1.2.3", BuildTrigger: "push"})}, true, ""},
		{"wrong repository",
			[]policy.Identity{with(workflow, certificate.Extensions{GithubWorkflowRepository: "attacker/app"})}, false, `"attacker/app"`},
		{"wrong ref",
			[]policy.Identity{with(workflow, certificate.Extensions{SourceRepositoryRef: "refs/heads/main"})}, false, `"refs/heads/main"`},
		{"wrong trigger",
			[]policy.Identity{with(workflow, certificate.Extensions{GithubWorkflowTrigger: "pull_request"})}, false, `"pull_request"`},
		{"regexp subject with the right repository",
			[]policy.Identity{{Issuer: cert.Issuer, SubjectRegExp: regexp.MustCompile(`^https://github\.com/org/app/\.github/workflows/release\.yml@refs/tags/v.*$`),
				Extensions: certificate.Extensions{SourceRepositoryURI: "https://github.com/org/app"}}}, true, ""},
		// Extensions belong to their identity: one identity whose subject
		// matches but whose repository does not, and another whose
		// repository matches but whose subject does not, admit nothing.
		{"extensions are paired with their identity", []policy.Identity{
			with(workflow, certificate.Extensions{GithubWorkflowRepository: "org/other"}),
			with(policy.Identity{Issuer: cert.Issuer, Subject: "https://github.com/org/other/.github/workflows/release.yml@refs/tags/v1.2.3"},
				certificate.Extensions{GithubWorkflowRepository: "org/app"}),
		}, false, "org/other"},
		{"second identity matches", []policy.Identity{
			with(workflow, certificate.Extensions{GithubWorkflowRepository: "org/other"}),
			with(workflow, certificate.Extensions{GithubWorkflowRepository: "org/app"}),
		}, true, ""},
	} {
		for format, d := range signed {
			t.Run(tc.name+"/"+string(format), func(t *testing.T) {
				t.Parallel()
				p := newPolicy([]policy.Authority{keylessAuthority("ci", ss, tc.ids...)})
				out := e.v.Verify(t.Context(), d, p)
				if !tc.verified {
					wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
					if !strings.Contains(out.Message, tc.message) {
						t.Errorf("message %q does not name the mismatch %s", out.Message, tc.message)
					}
					return
				}
				wantOutcome(t, out, verify.ResultVerified, verify.ReasonVerified)
				want := verify.Signer{Authority: "ci", Format: format, Identity: cert.Issuer + " " + cert.Subject, RekorLogIndex: 0}
				if format == verify.FormatLegacy {
					want.RekorLogIndex = 1000 // the index the test log gives legacy entries
				}
				if len(out.Signers) != 1 || out.Signers[0] != want {
					t.Errorf("signers = %+v, want [%+v]", out.Signers, want)
				}
			})
		}
	}
}
