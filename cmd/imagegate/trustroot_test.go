package main

import (
	"bytes"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/scheme"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/trustroot"
)

// TestTUFFlagsKeepThePublicGoodRootUnderTheRoles starts the public-good
// root as both roles do (--tuf-mirror and --tuf-root naming a local TUF
// repository whose trusted root is a test Sigstore's), as each role's
// service account with config/default's RBAC only, before its manager
// starts. The controller's start fetches the root (5 requests) and
// persists it in imagegate-system/imagegate-sigstore-tuf (one get to
// load, one to save, one create); the webhook's start, with the mirror
// down, reads that Secret (one get) and sends the mirror nothing: its
// root is current. Every Secret request is for that one Secret.
func TestTUFFlagsKeepThePublicGoodRootUnderTheRoles(t *testing.T) {
	t.Parallel()
	cp := testenv.StartControlPlane(t)
	ctx := t.Context()
	const ns = "imagegate-system"
	testenv.EnsureNamespace(ctx, t, cp.Client, ns, nil)
	testenv.CreateRBAC(ctx, t, cp.Client, testenv.Kustomize(t, "config/default"))
	ss := testenv.NewTestSigstore(t)
	repo := testenv.NewTUFRepo(t, map[string][]byte{trustroot.TargetName: ss.TrustedRootJSON(t)})
	rootFile := filepath.Join(t.TempDir(), "root.json")
	if err := os.WriteFile(rootFile, repo.Root(), 0o600); err != nil {
		t.Fatal(err)
	}
	var tf tufFlags
	fs := flag.NewFlagSet("tuf", flag.ContinueOnError)
	tf.register(fs)
	if err := fs.Parse([]string{"--tuf-mirror=" + repo.URL(), "--tuf-root=" + rootFile}); err != nil {
		t.Fatal(err)
	}
	if err := tf.validate(); err != nil {
		t.Fatal(err)
	}

	start := func(sa string) (policy.PublicGoodRoot, map[string]int) {
		t.Helper()
		cfg := rest.CopyConfig(cp.Config)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + ns + ":" + sa}
		cfg, reqs := testenv.RecordAPIRequests(cfg)
		mgr, err := ctrl.NewManager(cfg, ctrl.Options{Scheme: scheme.New(), Metrics: metricsserver.Options{BindAddress: "0"}})
		if err != nil {
			t.Fatal(err)
		}
		src, err := tf.start(ctx, mgr, prometheus.NewRegistry(), slog.New(slog.DiscardHandler), nil)
		if err != nil {
			t.Fatal(err)
		}
		byVerb := map[string]int{}
		for _, r := range reqs.Of("secrets") {
			if r.Namespace != ns || (r.Name != trustroot.DefaultSecretName && r.Verb != "create") {
				t.Errorf("%s sent %+v; want requests for %s/%s only", sa, r, ns, trustroot.DefaultSecretName)
			}
			byVerb[r.Verb]++
		}
		return src.PublicGood(), byVerb
	}

	pg, secretReqs := start("imagegate-controller")
	if pg.Err != nil || pg.Root == nil {
		t.Fatalf("controller: %+v", pg)
	}
	if got := repo.Requests(); len(got) != 5 {
		t.Errorf("controller: %d TUF requests %v, want 5", len(got), got)
	}
	if len(secretReqs) != 2 || secretReqs["get"] != 2 || secretReqs["create"] != 1 {
		t.Errorf("controller: Secret requests %v, want 2 gets and 1 create", secretReqs)
	}
	var sec corev1.Secret
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: trustroot.DefaultSecretName}, &sec); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(sec.Data[trustroot.TargetName], ss.TrustedRootJSON(t)) {
		t.Fatalf("the persisted trusted root is not the repository's: %d bytes", len(sec.Data[trustroot.TargetName]))
	}

	repo.SetDown(true)
	pg2, secretReqs := start("imagegate-webhook")
	if pg2.Err != nil || pg2.Digest != pg.Digest {
		t.Fatalf("webhook, mirror down: %+v, want the persisted root, current", pg2)
	}
	if got := repo.Requests(); len(got) != 0 {
		t.Errorf("webhook, mirror down: TUF requests %v, want none", got)
	}
	if len(secretReqs) != 1 || secretReqs["get"] != 1 {
		t.Errorf("webhook: Secret requests %v, want one get", secretReqs)
	}
}
