package trust

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestUnanchoredIdentityIsInvalidInStatus: a keyless identity whose
// subjectRegExp is not anchored is stored by the API server (no CEL rule
// can parse a regular expression) and reported in the policy's status as
// InvalidPolicy, naming the field and how to fix it; the same policy with
// the pattern anchored, and with Fulcio extensions required, is Ready.
func TestUnanchoredIdentityIsInvalidInStatus(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ns := "identity-anchoring"
	testenv.EnsureNamespace(ctx, t, cp.Client, ns, nil)
	ss := testenv.NewTestSigstore(t)
	root := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "sigstore-root"},
		Data:       map[string][]byte{"trusted_root.json": ss.TrustedRootJSON(t)},
	}
	if err := cp.Client.Create(ctx, root); err != nil {
		t.Fatal(err)
	}
	spec := func(subjectRegExp string) igv1.TrustPolicySpec {
		return igv1.TrustPolicySpec{
			Images: []igv1.ImageGlob{{Glob: "ghcr.io/org/**"}},
			Authorities: []igv1.Authority{{Name: "ci", Keyless: &igv1.KeylessAuthority{
				Identities: []igv1.Identity{{
					Issuer:        "https://token.actions.githubusercontent.com",
					SubjectRegExp: subjectRegExp,
					Extensions:    &igv1.CertificateExtensions{SourceRepositoryURI: "https://github.com/org/app", GithubWorkflowTrigger: "push"},
				}},
				TrustedRoot: igv1.TrustedRoot{SecretRef: igv1.SecretKeyRef{Name: "sigstore-root", Key: "trusted_root.json"}},
			}}},
		}
	}
	loose := testenv.TrustPolicy(ns, "loose", spec(`https://github\.com/org/`))
	anchored := testenv.TrustPolicy(ns, "anchored", spec(`^https://github\.com/org/app/\.github/workflows/release\.yml@refs/tags/v.*$`))
	r := &Reconciler{Client: cp.Client, Secrets: secrets.Reader{Client: cp.Client}}
	for _, p := range []*igv1.TrustPolicy{loose, anchored} {
		if err := cp.Client.Create(ctx, p); err != nil {
			t.Fatalf("the API server refused %s: %v", p.Name, err)
		}
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(p)}); err != nil {
			t.Fatal(err)
		}
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			t.Fatal(err)
		}
	}
	c := loose.Status.Conditions
	if len(c) != 1 || c[0].Status != metav1.ConditionFalse || c[0].Reason != igv1.ReasonInvalidPolicy || loose.Status.PolicyHash != "" {
		t.Fatalf("unanchored policy status: %+v", loose.Status)
	}
	for _, want := range []string{
		"spec.authorities[0]: keyless: identities[0]: subjectRegExp: regular expression is not anchored",
		"`https://github\\.com/org/` must begin with ^ and end with $",
	} {
		if !strings.Contains(c[0].Message, want) {
			t.Errorf("message %q lacks %q", c[0].Message, want)
		}
	}
	if c := anchored.Status.Conditions; len(c) != 1 || c[0].Status != metav1.ConditionTrue {
		t.Fatalf("anchored policy with extensions status: %+v", anchored.Status)
	}
	if got := anchored.Spec.Authorities[0].Keyless.Identities[0].Extensions; got == nil || got.SourceRepositoryURI != "https://github.com/org/app" {
		t.Fatalf("the API server dropped the extensions: %+v", got)
	}
}
