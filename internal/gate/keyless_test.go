package gate

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestKeylessWorkflowIdentityThroughTheGate: the gate's TrustPolicy trusts
// one GitHub Actions workflow keylessly (a test Sigstore's trusted root in
// a Secret), on push only. A selection signed by that workflow file in a
// pull_request run is blocked, naming the extension; signed by it on push
// (a bundle and, for the second app, a legacy signature), it is committed
// with the workflow's identity in the trailers.
func TestKeylessWorkflowIdentityThroughTheGate(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web", "api")
	ss := testenv.NewTestSigstore(t)
	w.create(&corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: w.ns, Name: "sigstore-root"},
		Data:       map[string][]byte{"trusted_root.json": ss.TrustedRootJSON(t)},
	})
	push := testenv.GitHubActions("org/app", "refs/tags/v1")
	pullRequest := push
	pullRequest.Extensions.GithubWorkflowTrigger, pullRequest.Extensions.BuildTrigger = "pull_request", "pull_request"
	w.updateTrustPolicy(func(tp *igv1.TrustPolicy) {
		tp.Spec.Authorities = []igv1.Authority{{Name: "release", Keyless: &igv1.KeylessAuthority{
			Identities: []igv1.Identity{{
				Issuer:     push.Issuer,
				Subject:    push.Subject,
				Extensions: &igv1.CertificateExtensions{GithubWorkflowRepository: "org/app", GithubWorkflowTrigger: "push"},
			}},
			TrustedRoot: igv1.TrustedRoot{SecretRef: igv1.SecretKeyRef{Name: "sigstore-root", Key: "trusted_root.json"}},
		}}}
	})

	fromPR := w.push("web", "v1.0.0")
	ss.SignBundleAs(t, fromPR, pullRequest)
	w.selectTag("web", "v1.0.0", fromPR)
	before := w.log()
	if _, err := w.reconcile(); err != nil {
		t.Fatalf("a blocked selection is not a reconcile error: %v", err)
	}
	if got := w.log(); len(got) != len(before) {
		t.Fatalf("an image signed in a pull_request run was committed: %v", got)
	}
	if row := w.row("web"); row.Verified || row.Reason != "NoMatchingSignature" || !strings.Contains(row.Message, `"pull_request"`) {
		t.Fatalf("row of the pull_request signature: %+v", row)
	}

	web := w.push("web", "v1.0.1")
	ss.SignBundleAs(t, web, push)
	w.selectTag("web", "v1.0.1", web)
	api := w.push("api", "v1.0.1")
	ss.SignLegacyAs(t, api, push)
	w.selectTag("api", "v1.0.1", api)
	w.mustReconcile()
	if !strings.Contains(w.file("web"), ":v1.0.1@"+web.DigestStr()) || !strings.Contains(w.file("api"), ":v1.0.1@"+api.DigestStr()) {
		t.Fatalf("images signed on push not written:\n%s\n%s", w.file("web"), w.file("api"))
	}
	msg := w.git.CommitMessage(t, w.repo, "main")
	for _, want := range []string{
		"Verified-By: cosign keyless bundle " + push.Issuer + " " + push.Subject,
		"Verified-By: cosign keyless legacy " + push.Issuer + " " + push.Subject,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("commit message lacks %q:\n%s", want, msg)
		}
	}
}
