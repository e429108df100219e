package v1alpha1_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
	sigsyaml "sigs.k8s.io/yaml"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

var cp *testenv.ControlPlane

func TestMain(m *testing.M) { testenv.RunMain(m, &cp) }

const pem = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8lJxWv2Yl1q3Ll7Sgv2fw0nXlbWJ
Fb9RzgwCxfQ8jRXCz1cX9GxVP2p6PScfP1X1QfYlHqCfHGW3zk2LFqUB3A==
-----END PUBLIC KEY-----`

func object(t *testing.T, y string) *unstructured.Unstructured {
	t.Helper()
	u := &unstructured.Unstructured{}
	if err := sigsyaml.Unmarshal([]byte(y), &u.Object); err != nil {
		t.Fatalf("test YAML: %v", err)
	}
	return u
}

func policyYAML(kind, name, spec string) string {
	meta := "metadata: {name: " + name + "}"
	if kind == "TrustPolicy" {
		meta = "metadata: {name: " + name + ", namespace: default}"
	}
	return "apiVersion: imagegate.dev/v1alpha1\nkind: " + kind + "\n" + meta + "\nspec:\n" + spec
}

const validSpec = `  images: [{glob: "registry.example.com/team/**"}]
  authorities:
    - name: release-key
      key: {data: "` + "PEM" + `"}
    - name: ci
      keyless:
        identities:
          - issuer: https://token.actions.githubusercontent.com
            subjectRegExp: "^https://github.com/org/.*$"
        trustedRoot: {secretRef: {name: root, namespace: flux-system, key: trusted_root.json}}
    - name: allow-all
      static: {action: pass}
  require: {mode: threshold, threshold: 2}
  tlog: {mode: online, rekorURL: "https://rekor.example.com"}
  pullability: {enabled: true, platforms: ["linux/amd64", "linux/arm64/v8"]}
  requireDigest: true
  mode: warn
  exceptions:
    - glob: "registry.example.com/team/legacy:*"
      reason: "vendor image, signed from 2027"
      expires: "2027-01-31T00:00:00Z"
`

func TestValidSamplesRoundTrip(t *testing.T) {
	ctx := context.Background()
	spec := strings.Replace(validSpec, "PEM", strings.ReplaceAll(pem, "\n", `\n`), 1)
	for _, kind := range []string{"TrustPolicy", "ClusterTrustPolicy"} {
		u := object(t, policyYAML(kind, "valid", spec))
		if err := cp.Client.Create(ctx, u); err != nil {
			t.Fatalf("create %s: %v", kind, err)
		}
	}
	var tp igv1.TrustPolicy
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "valid"}, &tp); err != nil {
		t.Fatal(err)
	}
	if tp.Spec.Mode != igv1.PolicyModeWarn || *tp.Spec.Require.Threshold != 2 || tp.Spec.Exceptions[0].Expires.Year() != 2027 ||
		tp.Spec.Authorities[1].Keyless.Identities[0].SubjectRegExp != "^https://github.com/org/.*$" || !tp.Spec.Pullability.Enabled {
		t.Fatalf("round trip lost fields: %+v", tp.Spec)
	}
	if tp.Spec.Authorities[0].Key.TLog != "optional" || tp.Spec.TLog.RekorURL != "https://rekor.example.com" {
		t.Fatalf("key.tlog = %q (want the default optional), tlog.rekorURL = %q", tp.Spec.Authorities[0].Key.TLog, tp.Spec.TLog.RekorURL)
	}

	minimal := object(t, policyYAML("ClusterTrustPolicy", "defaults", "  images: [{glob: \"a/**\"}]\n  authorities: [{name: s, static: {action: fail}}]\n"))
	if err := cp.Client.Create(ctx, minimal); err != nil {
		t.Fatal(err)
	}
	var ctp igv1.ClusterTrustPolicy
	if err := cp.Client.Get(ctx, client.ObjectKey{Name: "defaults"}, &ctp); err != nil {
		t.Fatal(err)
	}
	if ctp.Spec.Mode != igv1.PolicyModeEnforce {
		t.Fatalf("mode default = %q, want enforce", ctp.Spec.Mode)
	}

	gate := object(t, `apiVersion: imagegate.dev/v1alpha1
kind: ImageGate
metadata: {name: apps, namespace: default}
spec:
  sourceRef: {kind: GitRepository, name: fleet}
  interval: 5m
  git:
    checkout: {ref: {branch: main}}
    commit:
      author: {name: imagegate, email: imagegate@example.com}
      messageTemplate: "Update images"
    push: {branch: main}
  update: {path: ./clusters/prod, strategy: Setters}
  policySelector: {matchLabels: {app: web}}
`)
	if err := cp.Client.Create(ctx, gate); err != nil {
		t.Fatalf("create ImageGate: %v", err)
	}
	var ig igv1.ImageGate
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: "default", Name: "apps"}, &ig); err != nil {
		t.Fatal(err)
	}
	if ig.Spec.GitSpec.Push.Branch != "main" || ig.Spec.Update.Path != "./clusters/prod" || ig.Spec.Interval.Minutes() != 5 {
		t.Fatalf("ImageGate round trip: %+v", ig.Spec)
	}

	digest := "sha256:" + strings.Repeat("ab", 32)
	iv := &igv1.ImageVerification{}
	iv.Name = igv1.ImageVerificationName(digest, digest)
	iv.Spec = igv1.ImageVerificationSpec{Image: "registry.example.com/team/app:v1", Digest: digest,
		Policy: igv1.PolicyReference{Kind: "ClusterTrustPolicy", Name: "valid"}, PolicyHash: digest}
	if err := cp.Client.Create(ctx, iv); err != nil {
		t.Fatalf("create ImageVerification: %v", err)
	}
	iv.Status = igv1.ImageVerificationStatus{Result: igv1.ResultVerified, Reason: "Verified",
		Signers: []igv1.Signer{{Authority: "release-key", Format: "bundle", Identity: "key sha256:1234"}}}
	if err := cp.Client.Status().Update(ctx, iv); err != nil {
		t.Fatalf("update ImageVerification status: %v", err)
	}
}

func TestInvalidPoliciesAreRejectedNamingTheField(t *testing.T) {
	ctx := context.Background()
	auth := "  authorities: [{name: s, static: {action: pass}}]\n"
	images := "  images: [{glob: \"registry.example/**\"}]\n"
	cases := []struct {
		name, spec string
		want       []string
	}{
		{"no authorities", images + "  authorities: []\n", []string{"spec.authorities"}},
		{"no images", "  images: []\n" + auth, []string{"spec.images"}},
		{"two of key keyless static", images + "  authorities: [{name: s, static: {action: pass}, key: {data: x}}]\n",
			[]string{"spec.authorities[0]", "exactly one of key, keyless or static"}},
		{"none of key keyless static", images + "  authorities: [{name: s}]\n",
			[]string{"spec.authorities[0]", "exactly one of key, keyless or static"}},
		{"threshold above authorities", images + auth + "  require: {mode: threshold, threshold: 2}\n",
			[]string{"spec.require.threshold", "must not exceed the number of authorities"}},
		{"threshold without mode threshold", images + auth + "  require: {mode: all, threshold: 1}\n",
			[]string{"spec.require", "threshold is required with mode threshold"}},
		{"glob with a space", "  images: [{glob: \"registry.example/a b\"}]\n" + auth, []string{"spec.images[0].glob"}},
		{"glob with ***", "  images: [{glob: \"registry.example/***\"}]\n" + auth, []string{"spec.images[0].glob"}},
		{"identity without issuer", images + "  authorities: [{name: ci, keyless: {identities: [{subject: me}], trustedRoot: {secretRef: {name: r, key: k}}}}]\n",
			[]string{"spec.authorities[0].keyless.identities[0]", "exactly one of issuer or issuerRegExp"}},
		{"bad expires", images + auth + "  exceptions: [{glob: \"registry.example/x:*\", reason: r, expires: \"next tuesday\"}]\n",
			[]string{"spec.exceptions[0].expires"}},
		{"duplicate authority names", images + "  authorities: [{name: s, static: {action: pass}}, {name: s, static: {action: fail}}]\n",
			[]string{"spec.authorities[1]", "Duplicate value"}},
		{"bad mode", images + auth + "  mode: audit\n", []string{"spec.mode", "Unsupported value"}},
		{"bad key.tlog", images + "  authorities: [{name: k, key: {data: x, tlog: always}}]\n",
			[]string{"spec.authorities[0].key.tlog", "Unsupported value"}},
		{"rekorURL without a scheme", images + auth + "  tlog: {mode: online, rekorURL: rekor.example.com}\n",
			[]string{"spec.tlog.rekorURL"}},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := object(t, policyYAML("ClusterTrustPolicy", fmt.Sprintf("invalid-%d", i), tc.spec))
			err := cp.Client.Create(ctx, u)
			if err == nil {
				t.Fatal("the API server accepted an invalid policy")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}
