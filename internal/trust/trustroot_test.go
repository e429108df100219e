package trust

import (
	"strings"
	"testing"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/trustroot"
)

// TestStatusSaysWhetherThePublicGoodRootIsCurrent: a policy whose keyless
// authority names no trusted root carries TrustRootStale: False while the
// root (here from a local TUF repository) is current, True with
// RefreshFailed once the mirror serves expired metadata (Ready stays True:
// the last good root verifies), and True with TrustRootUnavailable for a
// process that never obtained one. A key-only policy carries no such
// condition (TestStatusReportsHashOrTheCompileError).
func TestStatusSaysWhetherThePublicGoodRootIsCurrent(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	ss := testenv.NewTestSigstore(t)
	repo := testenv.NewTUFRepo(t, map[string][]byte{trustroot.TargetName: ss.TrustedRootJSON(t)})
	source := func() *trustroot.Source {
		s, err := trustroot.New(trustroot.Options{Mirror: repo.URL(), Root: repo.Root(), CacheDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	live := source()
	if err := live.Init(ctx); err != nil {
		t.Fatal(err)
	}
	p := testenv.ClusterTrustPolicy("public-good", igv1.TrustPolicySpec{
		Images: []igv1.ImageGlob{{Glob: "ghcr.io/example/**"}},
		Authorities: []igv1.Authority{{Name: "ci", Keyless: &igv1.KeylessAuthority{
			Identities: []igv1.Identity{{Issuer: "https://token.actions.githubusercontent.com", Subject: "https://github.com/example/app/.github/workflows/release.yaml@refs/heads/main"}},
		}}},
	})
	if err := cp.Client.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	check := func(src *trustroot.Source, status metav1.ConditionStatus, reason, msg string) {
		t.Helper()
		r := &Reconciler{Client: cp.Client, Secrets: secrets.Reader{Client: cp.Client}, Cluster: true, PublicGood: src}
		if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(p)}); err != nil {
			t.Fatal(err)
		}
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			t.Fatal(err)
		}
		if !apimeta.IsStatusConditionTrue(p.Status.Conditions, igv1.ReadyCondition) {
			t.Fatalf("not Ready: %+v", p.Status.Conditions)
		}
		c := apimeta.FindStatusCondition(p.Status.Conditions, igv1.TrustRootStaleCondition)
		if c == nil || c.Status != status || c.Reason != reason || !strings.Contains(c.Message, msg) {
			t.Fatalf("TrustRootStale = %+v, want %s/%s with %q", c, status, reason, msg)
		}
	}
	check(live, metav1.ConditionFalse, igv1.ReasonTrustRootRefreshed, "Sigstore public-good trusted root sha256:")
	repo.ExpireTimestamp()
	if err := live.Refresh(ctx); err == nil {
		t.Fatal("refresh against expired metadata succeeded")
	}
	check(live, metav1.ConditionTrue, igv1.ReasonTrustRootRefreshFailed, "verifying with the last good root")

	repo.SetDown(true)
	none := source()
	if err := none.Init(ctx); err == nil {
		t.Fatal("a cold start without mirror or cache succeeded")
	}
	check(none, metav1.ConditionTrue, igv1.ReasonTrustRootUnavailable, "503")

	// Air-gapped (no source): the same policy does not compile, and says
	// what to do.
	r := &Reconciler{Client: cp.Client, Secrets: secrets.Reader{Client: cp.Client}, Cluster: true}
	if _, err := r.Reconcile(ctx, ctrl.Request{NamespacedName: client.ObjectKeyFromObject(p)}); err != nil {
		t.Fatal(err)
	}
	if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
		t.Fatal(err)
	}
	c := apimeta.FindStatusCondition(p.Status.Conditions, igv1.ReadyCondition)
	if c == nil || c.Status != metav1.ConditionFalse || !strings.Contains(c.Message, "name a Secret holding a trusted_root.json") ||
		apimeta.FindStatusCondition(p.Status.Conditions, igv1.TrustRootStaleCondition) != nil {
		t.Fatalf("air-gapped status: %+v", p.Status.Conditions)
	}
}
