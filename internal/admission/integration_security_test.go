package admission

import (
	"context"
	"fmt"
	"net"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestChangedPolicyStopsOldRecordsApproving verifies and records a digest
// under a ClusterTrustPolicy, then rotates the policy's key: the record,
// still there and still Verified, names the old policy hash, so the same
// digest is verified again under the new rules and denied (its signature
// is by the retired key), not admitted from the record.
func TestChangedPolicyStopsOldRecordsApproving(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	old := f.clusterPolicy(t)
	d := f.signedImage(t, "web")
	if err := f.cl.c.Create(t.Context(), testPod(f.ns, "before", d.String())); err != nil {
		t.Fatalf("signed digest denied: %v", err)
	}
	var iv igv1.ImageVerification
	if err := f.cl.c.Get(t.Context(), client.ObjectKey{Name: igv1.ImageVerificationName(d.DigestStr(), old.Hash)}, &iv); err != nil || iv.Status.Result != igv1.ResultVerified {
		t.Fatalf("no Verified record of the first admission: %v, %+v", err, iv.Status)
	}

	var ctp igv1.ClusterTrustPolicy
	if err := f.cl.c.Get(t.Context(), client.ObjectKey{Name: old.Ref.Name}, &ctp); err != nil {
		t.Fatal(err)
	}
	ctp.Spec.Authorities[0].Key.Data = string(testenv.NewCosignKey(t).PublicPEM)
	if err := f.cl.c.Update(t.Context(), &ctp); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rotated policy to compile", func(context.Context) (bool, error) {
		p := f.cl.wh.Policies.Policies().Get(policy.Ref{Kind: "ClusterTrustPolicy", Name: old.Ref.Name})
		return p != nil && p.Hash != old.Hash, nil
	})

	mustDenyWith(t, f.cl.c.Create(t.Context(), testPod(f.ns, "after", d.String())), "[NoMatchingSignature]")
	a := f.auditOf(t, opCreate, "Pod")
	if last := a[len(a)-1]; last.Name != "after" || last.Containers["web"].Path == string(PathRecorded) {
		t.Fatalf("decided by %+v, want a fresh verification", last)
	}
	if err := f.cl.c.Get(t.Context(), client.ObjectKeyFromObject(&iv), &iv); err != nil || iv.Status.Result != igv1.ResultVerified {
		t.Fatalf("the old record is gone or changed (%v, %+v): the denial would prove nothing", err, iv.Status)
	}
}

// TestUnreachableWebhookFailsClosed installs imagegate's webhook
// configuration, narrowed to one namespace, pointing at a port nobody
// serves: with failurePolicy Fail the API server refuses the Pod, signed
// as it is, instead of admitting it unchecked.
func TestUnreachableWebhookFailsClosed(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clusterPolicy(t)
	d := f.signedImage(t, "web") // the running webhook admits it
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := fmt.Sprintf("https://%s%s", l.Addr(), DefaultPath)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	cfg := WebhookConfiguration(ConfigOptions{Name: "imagegate-down-" + f.ns, CABundle: f.cl.ca.PEM})
	cfg.Webhooks = cfg.Webhooks[:1] // workloads only: ImageVerifications are cluster-wide
	cfg.Webhooks[0].Name = "down." + WorkloadsWebhookName
	cfg.Webhooks[0].ClientConfig.Service, cfg.Webhooks[0].ClientConfig.URL = nil, &url
	cfg.Webhooks[0].NamespaceSelector = &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": f.ns}}
	if err := f.cl.c.Create(t.Context(), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.cl.c.Delete(context.Background(), cfg) })

	// The API server picks up new configurations asynchronously.
	var last error
	waitFor(t, "the API server to call the unreachable webhook", func(ctx context.Context) (bool, error) {
		last = f.cl.c.Create(ctx, testPod(f.ns, "probe", d.String()), client.DryRunAll)
		return last != nil, nil
	})
	mustDenyWith(t, last, "failed calling webhook", "down."+WorkloadsWebhookName)
	mustDenyWith(t, f.cl.c.Create(t.Context(), testPod(f.ns, "web", d.String())), "failed calling webhook")
}
