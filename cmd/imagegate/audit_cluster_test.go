package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

// clusterAuditRepo writes one file per commit, each commit in the gate's
// format (unsigned here) with the Verified-Policy trailer given ("" for
// none).
func clusterAuditRepo(t *testing.T, commits []struct {
	d      name.Digest
	policy string
}) *testenv.LocalRepo {
	t.Helper()
	r := testenv.NewLocalRepo(t)
	for i, c := range commits {
		ref := c.d.Context().String() + "@" + c.d.DigestStr()
		file := string(rune('a'+i)) + ".yaml"
		r.Write(t, map[string]string{file: "image: " + ref + ` # {"$imagepolicy": "apps:app"}` + "\n"})
		msg := "Update images verified by imagegate\n\nVerified-Image: " + ref + "\n"
		if c.policy != "" {
			msg += "Verified-Policy: " + c.policy + " (sha256:1)\n"
		}
		r.Commit(t, msg, testenv.CommitOptions{})
	}
	return r
}

// TestAuditReverifyUnderClusterPolicies: with --kubeconfig each digest is
// verified again as the webhook would judge it in the namespace its
// Verified-Policy trailer names, else --namespace: that namespace's
// TrustPolicy (its key read from a Secret) on top of the
// ClusterTrustPolicy floor, which no namespace weakens. Digests are
// verified once per namespace that judges them.
func TestAuditReverifyUnderClusterPolicies(t *testing.T) {
	t.Parallel()
	cp := testenv.StartControlPlane(t)
	ctx := t.Context()
	reg := testenv.NewRegistry(t)
	floorKey, strictKey := testenv.NewCosignKey(t), testenv.NewCosignKey(t)
	both := reg.PushImage(t, "app", "both")
	testenv.SignLegacy(t, both, floorKey)
	testenv.SignLegacy(t, both, strictKey)
	floorOnly := reg.PushImage(t, "app", "floor")
	testenv.SignLegacy(t, floorOnly, floorKey)
	strictOnly := reg.PushImage(t, "app", "strict")
	testenv.SignLegacy(t, strictOnly, strictKey)

	glob := reg.Host() + "/**"
	for _, ns := range []string{"tenant-a", "tenant-b"} {
		testenv.EnsureNamespace(ctx, t, cp.Client, ns, nil)
	}
	strictSpec := igv1.TrustPolicySpec{Images: []igv1.ImageGlob{{Glob: glob}}, Authorities: []igv1.Authority{
		{Name: "strict", Key: &igv1.KeyAuthority{SecretRef: &igv1.SecretKeyRef{Name: "strict-key", Key: "cosign.pub"}}},
	}}
	for _, obj := range []client.Object{
		testenv.ClusterTrustPolicy("floor", testenv.KeyPolicySpec(glob, floorKey.PublicPEM)),
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "tenant-a", Name: "strict-key"}, Data: map[string][]byte{"cosign.pub": strictKey.PublicPEM}},
		testenv.TrustPolicy("tenant-a", "strict", strictSpec),
		testenv.TrustPolicy("tenant-b", "lenient", testenv.KeyPolicySpec(glob, strictKey.PublicPEM)),
	} {
		if err := cp.Client.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	r := clusterAuditRepo(t, []struct {
		d      name.Digest
		policy string
	}{
		{both, "tenant-a/strict"},        // floor and strict: Verified
		{floorOnly, "tenant-a/strict"},   // strict denies
		{floorOnly, "floor"},             // no namespace named: --namespace
		{strictOnly, "tenant-b/lenient"}, // the floor denies whatever the tenant's policy says
	})
	kubeconfig := cp.KubeconfigFile(t, "auditor", "system:masters")

	for _, tc := range []struct {
		namespace  string
		want       []string // per entry: Result (Policy); when all verify, the floor is named
		reverified int
	}{
		{"", []string{"Verified (floor)", "Denied (tenant-a/strict)", "Verified (floor)", "Denied (floor)"}, 4},
		{"tenant-a", []string{"Verified (floor)", "Denied (tenant-a/strict)", "Denied (tenant-a/strict)", "Denied (floor)"}, 3},
	} {
		args := []string{"--repo", r.Dir, "--output", "json", "--reverify", "--kubeconfig", kubeconfig, "--allow-insecure-registry"}
		if tc.namespace != "" {
			args = append(args, "--namespace", tc.namespace)
		}
		code, out, errOut := runAuditCLI(t, args...)
		if code != auditFinding {
			t.Fatalf("--namespace %q: exit %d, want %d\n%s\n%s", tc.namespace, code, auditFinding, out, errOut)
		}
		var rep struct {
			Reverified int `json:"reverified"`
			Entries    []struct {
				Image    string `json:"image"`
				Reverify struct{ Result, Policy string }
			} `json:"entries"`
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range rep.Entries {
			got = append(got, e.Reverify.Result+" ("+e.Reverify.Policy+")")
		}
		if strings.Join(got, "; ") != strings.Join(tc.want, "; ") || rep.Reverified != tc.reverified {
			t.Errorf("--namespace %q: reverified %d: %s\nwant %d: %s", tc.namespace, rep.Reverified, strings.Join(got, "; "), tc.reverified, strings.Join(tc.want, "; "))
		}
	}
}

// TestAuditKubeconfigErrors: a kubeconfig that cannot be read and a user
// the API server refuses are the caller's to fix (exit 2), as are flag
// combinations that name two sources of policies or none.
func TestAuditKubeconfigErrors(t *testing.T) {
	t.Parallel()
	r, _, _, _ := auditRepo(t)
	cp := testenv.StartControlPlane(t)
	nobody := cp.KubeconfigFile(t, "nobody")
	for _, tc := range []struct {
		name, stderr string
		args         []string
	}{
		{"missing kubeconfig", "--kubeconfig", []string{"--reverify", "--kubeconfig", t.TempDir() + "/none"}},
		{"user without RBAC", "forbidden", []string{"--reverify", "--kubeconfig", nobody}},
		{"policy and kubeconfig", "one source", []string{"--reverify", "--kubeconfig", nobody, "--policy", "p.yaml"}},
		{"kubeconfig without reverify", "only with --reverify", []string{"--kubeconfig", nobody}},
		{"namespace without kubeconfig", "only with --kubeconfig", []string{"--namespace", "x"}},
	} {
		code, _, errOut := runAuditCLI(t, append([]string{"--repo", r.Dir}, tc.args...)...)
		if code != auditUsage || !strings.Contains(errOut, tc.stderr) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", tc.name, code, errOut, auditUsage, tc.stderr)
		}
	}
}
