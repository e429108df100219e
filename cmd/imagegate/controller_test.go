package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/fluxcd/pkg/apis/meta"
	"github.com/prometheus/client_golang/prometheus"
	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestControllerReadsSecretsByNameUnderItsRole runs the controller's
// manager as its service account with config/default's RBAC and nothing
// else, so get on Secrets but no list or watch. A trust policy's key
// Secret appears, then rotates, and the policy's status follows within
// --policy-resync; an ImageGate whose GitRepository names a missing
// credentials Secret is stalled with that Secret named. Every request
// the manager sends for Secrets is a get by name.
func TestControllerReadsSecretsByNameUnderItsRole(t *testing.T) {
	t.Parallel()
	cp := testenv.StartControlPlane(t)
	ctx := t.Context()
	const ns = "tenant"
	testenv.EnsureNamespace(ctx, t, cp.Client, "imagegate-system", nil)
	testenv.EnsureNamespace(ctx, t, cp.Client, ns, nil)
	testenv.CreateRBAC(ctx, t, cp.Client, testenv.Kustomize(t, "config/default"))

	cfg := rest.CopyConfig(cp.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:imagegate-system:imagegate-controller"}
	cfg, reqs := testenv.RecordAPIRequests(cfg)
	f, err := parseControllerFlags([]string{
		"--leader-elect=false", "--metrics-bind-address=0", "--health-probe-bind-address=0", "--policy-resync=300ms", "--tuf-mirror=off",
	}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	mctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	// A registry of its own: other tests of this package run the webhook,
	// which registers collectors of the same names in metrics.Registry.
	go func() { done <- runControllerManager(mctx, cfg, f, prometheus.NewRegistry()) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller: %v", err)
		}
	})

	p := testenv.TrustPolicy(ns, "release", igv1.TrustPolicySpec{
		Images: []igv1.ImageGlob{{Glob: "registry.example/**"}},
		Authorities: []igv1.Authority{{Name: "release", Key: &igv1.KeyAuthority{
			SecretRef: &igv1.SecretKeyRef{Name: "keys", Key: "cosign.pub"},
		}}},
	})
	repo := testenv.GitRepository(ns, "fleet", "http://127.0.0.1:1/fleet.git", "main")
	repo.Spec.SecretRef = &meta.LocalObjectReference{Name: "git-credentials"}
	g := testenv.ImageGate(ns, "gate", "fleet", "./apps")
	for _, o := range []client.Object{p, repo, g} {
		if err := cp.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	status := func(want metav1.ConditionStatus, notHash string) string {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
				return false, err
			}
			c := apimeta.FindStatusCondition(p.Status.Conditions, igv1.ReadyCondition)
			return c != nil && c.Status == want && (want == metav1.ConditionFalse || p.Status.PolicyHash != notHash), nil
		})
		if err != nil {
			t.Fatalf("TrustPolicy never became Ready=%s with a new hash: %+v", want, p.Status)
		}
		return p.Status.PolicyHash
	}
	status(metav1.ConditionFalse, "")
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "keys"},
		Data:       map[string][]byte{"cosign.pub": testenv.NewCosignKey(t).PublicPEM},
	}
	if err := cp.Client.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	first := status(metav1.ConditionTrue, "")
	sec.Data["cosign.pub"] = testenv.NewCosignKey(t).PublicPEM
	if err := cp.Client.Update(ctx, sec); err != nil {
		t.Fatal(err)
	}
	status(metav1.ConditionTrue, first)

	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		if err := cp.Client.Get(ctx, client.ObjectKeyFromObject(g), g); err != nil {
			return false, err
		}
		c := apimeta.FindStatusCondition(g.Status.Conditions, igv1.StalledCondition)
		return c != nil && c.Status == metav1.ConditionTrue && strings.Contains(c.Message, "Secret tenant/git-credentials not found"), nil
	})
	if err != nil {
		t.Fatalf("the ImageGate was not stalled on its missing credentials Secret: %+v", g.Status.Conditions)
	}

	byName := map[string]int{}
	for _, r := range reqs.Of("secrets") {
		if r.Verb != "get" || r.Name == "" {
			t.Errorf("the controller sent %+v; want only gets by name", r)
			continue
		}
		byName[r.Namespace+"/"+r.Name]++
	}
	if byName["tenant/keys"] < 3 || byName["tenant/git-credentials"] < 1 || len(byName) != 2 {
		t.Errorf("gets of Secrets %v; want tenant/keys at least 3 times (missing, created, rotated) and tenant/git-credentials", byName)
	}
}

func TestControllerFlagsRefuseABadResyncOrSelector(t *testing.T) {
	t.Parallel()
	f, err := parseControllerFlags(nil, &bytes.Buffer{})
	if err != nil || f.policyResync != 5*time.Minute || f.watchSecrets != nil {
		t.Fatalf("defaults: resync %s, watch %v, err %v; want 5m and no watch", f.policyResync, f.watchSecrets, err)
	}
	for _, args := range [][]string{
		{"--policy-resync=0s"},
		{"--watch-configs-label-selector= "},
		{"--watch-configs-label-selector=a=("},
		{"positional"},
	} {
		if _, err := parseControllerFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
}

// TestControllerRefusesNonPositiveSetterLimits: a limit of zero would skip
// every marked file; the controller refuses to start with it and says why.
func TestControllerRefusesNonPositiveSetterLimits(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"--setter-max-file-bytes=0", "--setter-max-file-nodes=-1"} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"controller", arg}, &stdout, &stderr)
		if code != exitUsage || !strings.Contains(stderr.String(), "setter limits must be positive") {
			t.Errorf("%s: exit %d, stderr %q; want a usage error naming the setter limits", arg, code, stderr.String())
		}
	}
}

// TestControllerEventsAddrFlag: --events-addr is Flux's flag of that name:
// empty by default (Kubernetes Events only), an http(s) URL when set, and
// anything else refused at start, naming the flag, rather than failing
// every post later.
func TestControllerEventsAddrFlag(t *testing.T) {
	t.Parallel()
	f, err := parseControllerFlags(nil, &bytes.Buffer{})
	if err != nil || f.eventsAddr != "" {
		t.Fatalf("default --events-addr %q, err %v; want empty", f.eventsAddr, err)
	}
	const addr = "http://notification-controller.flux-system.svc.cluster.local./"
	if f, err = parseControllerFlags([]string{"--events-addr=" + addr}, &bytes.Buffer{}); err != nil || f.eventsAddr != addr {
		t.Fatalf("--events-addr=%s: got %q, err %v", addr, f.eventsAddr, err)
	}
	for _, bad := range []string{"notification-controller", "ftp://nc/", "http://", "http://[::1"} {
		if _, err := parseControllerFlags([]string{"--events-addr=" + bad}, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--events-addr") {
			t.Errorf("--events-addr=%s: err %v; want a refusal naming the flag", bad, err)
		}
	}
}

// TestControllerFlagsAreDocumented: every flag of `imagegate controller`
// has a row in docs/operations.md's flag tables.
func TestControllerFlagsAreDocumented(t *testing.T) {
	t.Parallel()
	var usage bytes.Buffer
	if _, err := parseControllerFlags([]string{"-help"}, &usage); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-help: %v", err)
	}
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	names := 0
	for _, line := range strings.Split(usage.String(), "\n") {
		name, ok := strings.CutPrefix(line, "  -")
		if !ok {
			continue
		}
		name, _, _ = strings.Cut(name, " ")
		names++
		if !strings.Contains(string(doc), "`--"+name) {
			t.Errorf("--%s is not in docs/operations.md", name)
		}
	}
	if names < 15 {
		t.Fatalf("read %d flags from the usage text; it changed shape:\n%s", names, usage.String())
	}
}

func TestControllerRetryFlags(t *testing.T) {
	t.Parallel()
	f, err := parseControllerFlags(nil, &bytes.Buffer{})
	if err != nil || f.retry.Base != 30*time.Second || f.retry.Max != 10*time.Minute {
		t.Fatalf("defaults: %+v, %v; want --retry-base 30s, --retry-max 10m", f.retry, err)
	}
	if f, err = parseControllerFlags([]string{"--retry-base=5s", "--retry-max=1m"}, &bytes.Buffer{}); err != nil || f.retry.Base != 5*time.Second || f.retry.Max != time.Minute {
		t.Fatalf("set: %+v, %v", f.retry, err)
	}
	for _, args := range [][]string{{"--retry-base=0s"}, {"--retry-base=-1s"}, {"--retry-base=2m", "--retry-max=1m"}} {
		if _, err := parseControllerFlags(args, &bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "--retry-base") {
			t.Errorf("%v: err = %v, want a refusal naming --retry-base", args, err)
		}
	}
}
