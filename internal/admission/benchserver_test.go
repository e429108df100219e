package admission

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// BenchDirEnv names the directory TestBenchServer works in.
const BenchDirEnv = "IMAGEGATE_BENCH_DIR"

// TestBenchServer is the control plane of the HTTPS bench, not a test of
// its own: with IMAGEGATE_BENCH_DIR set it starts the package's control
// plane, writes DIR/kubeconfig for `imagegate webhook --kubeconfig`,
// creates the ClusterTrustPolicy covering registry.example/team/** and the
// ImageVerification records of the bench bodies' digests (so that the
// recorded-digest paths need no registry), writes DIR/ready, and blocks
// until DIR/stop exists. Meanwhile, writing a count N to DIR/replicasets
// has it create ReplicaSets (benchReplicaSet) in kube-system until there
// are N, then write N to DIR/replicasets-ready: the owners a webhook under
// measurement indexes. docs/benchmarks.md shows the whole run.
func TestBenchServer(t *testing.T) {
	dir := os.Getenv(BenchDirEnv)
	if dir == "" {
		t.Skip("set " + BenchDirEnv + " to serve a control plane for the HTTPS bench (docs/benchmarks.md)")
	}
	cl := sharedCluster(t)
	writeKubeconfig(t, cl, filepath.Join(dir, "kubeconfig"))
	key := testenv.NewCosignKey(t)
	ctp := testenv.ClusterTrustPolicy("bench-team", testenv.KeyPolicySpec(teamPolicyGlob, key.PublicPEM))
	if err := cl.c.Create(t.Context(), ctp); err != nil {
		t.Fatal(err)
	}
	f := &fixture{cl: cl}
	pol := f.waitPolicy(t, policy.Ref{Kind: "ClusterTrustPolicy", Name: ctp.Name})
	for _, d := range []string{webDigest, webNewDigest} {
		iv := verifiedRecord(d, pol.Hash)
		iv.Spec.Image = "registry.example/team/web@" + d
		iv.Spec.Policy = igv1.PolicyReference{Kind: "ClusterTrustPolicy", Name: ctp.Name}
		status := igv1.ImageVerificationStatus{Result: igv1.ResultVerified, Reason: string(verify.ReasonVerified),
			VerifiedAt: &metav1.Time{Time: time.Now()}, ExpiresAt: &metav1.Time{Time: time.Now().Add(24 * time.Hour)}}
		iv.Status = igv1.ImageVerificationStatus{}
		if err := cl.c.Create(t.Context(), iv); err != nil {
			t.Fatal(err)
		}
		iv.Status = status
		if err := cl.c.Status().Update(t.Context(), iv); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "ready"), []byte(pol.Hash+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Logf("control plane ready; kubeconfig %s; touch %s to stop", filepath.Join(dir, "kubeconfig"), filepath.Join(dir, "stop"))
	have := 0
	for {
		if _, err := os.Stat(filepath.Join(dir, "stop")); !errors.Is(err, os.ErrNotExist) {
			return
		}
		if want := benchReplicaSetsWanted(dir); want > have {
			start := time.Now()
			if err := createReplicaSets(t.Context(), cl.c, "kube-system", have, want); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d ReplicaSets in kube-system (%d created in %s)", want, want-have, time.Since(start).Round(time.Second))
			have = want
			if err := os.WriteFile(filepath.Join(dir, "replicasets-ready"), []byte(strconv.Itoa(have)+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-t.Context().Done():
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// benchReplicaSetsWanted reads DIR/replicasets; 0 when absent.
func benchReplicaSetsWanted(dir string) int {
	b, err := os.ReadFile(filepath.Join(dir, "replicasets"))
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return n
}

// writeKubeconfig writes the control plane's admin credentials.
func writeKubeconfig(t *testing.T, cl *cluster, path string) {
	t.Helper()
	c := cl.cp.Config
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: c.Host, CertificateAuthorityData: c.CAData}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: c.CertData, ClientKeyData: c.KeyData, Token: c.BearerToken}
	kc.Contexts["envtest"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "admin"}
	kc.CurrentContext = "envtest"
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
}
