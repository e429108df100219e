package admission

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestKeylessIdentityAndExtensionsThroughTheWebhook: a ClusterTrustPolicy
// trusting one GitHub Actions workflow, keyless under a test Sigstore's
// trusted root (read from a Secret), requiring the push trigger. Images
// signed by that workflow on push, as a bundle or a legacy signature, are
// admitted; an image signed by the same workflow file in a pull_request
// run (same subject, same repository) is denied, naming the extension.
func TestKeylessIdentityAndExtensionsThroughTheWebhook(t *testing.T) {
	t.Parallel()
	f := newFixture(t, testenv.WithReferrersAPI())
	ctx := t.Context()
	ss := testenv.NewTestSigstore(t)
	root := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.ns, Name: "sigstore-root"},
		Data:       map[string][]byte{"trusted_root.json": ss.TrustedRootJSON(t)},
	}
	if err := f.cl.c.Create(ctx, root); err != nil {
		t.Fatal(err)
	}
	push := testenv.GitHubActions("org/app", "refs/tags/v1")
	pullRequest := push
	pullRequest.Extensions.GithubWorkflowTrigger, pullRequest.Extensions.BuildTrigger = "pull_request", "pull_request"

	p := testenv.ClusterTrustPolicy("keyless-"+f.ns, igv1.TrustPolicySpec{
		Images: []igv1.ImageGlob{{Glob: f.reg.Host() + "/**"}},
		Authorities: []igv1.Authority{{Name: "release", Keyless: &igv1.KeylessAuthority{
			Identities: []igv1.Identity{{
				Issuer:        push.Issuer,
				SubjectRegExp: `^https://github\.com/org/app/\.github/workflows/release\.yml@refs/tags/v[0-9]+$`,
				Extensions:    &igv1.CertificateExtensions{SourceRepositoryURI: "https://github.com/org/app", BuildTrigger: "push"},
			}},
			TrustedRoot: igv1.TrustedRoot{SecretRef: igv1.SecretKeyRef{Name: root.Name, Namespace: f.ns, Key: "trusted_root.json"}},
		}}},
	})
	if err := f.cl.c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.cl.c.Delete(context.Background(), p) })
	f.waitPolicy(t, policy.Ref{Kind: "ClusterTrustPolicy", Name: p.Name})

	bundled, legacy, fromPR := f.reg.PushImage(t, "web", "bundle"), f.reg.PushImage(t, "web", "legacy"), f.reg.PushImage(t, "web", "pr")
	ss.SignBundleAs(t, bundled, push)
	ss.SignLegacyAs(t, legacy, push)
	ss.SignBundleAs(t, fromPR, pullRequest)

	for name, d := range map[string]string{"bundle": bundled.String(), "legacy": legacy.String()} {
		if err := f.cl.c.Create(ctx, testPod(f.ns, name, d)); err != nil {
			t.Errorf("%s signed by the trusted workflow on push denied: %v", name, err)
		}
	}
	err := f.cl.c.Create(ctx, testPod(f.ns, "pr", fromPR.String()))
	mustDenyWith(t, err, fromPR.String(), "[NoMatchingSignature]", `BuildTrigger`, `"pull_request"`)
}
