package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	iacv1 "github.com/fluxcd/image-automation-controller/api/v1"
	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	"github.com/fluxcd/pkg/apis/meta"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

// installNamespace is where config/default installs imagegate.
const installNamespace = "imagegate-system"

// story is the demo's narration: each step as a reader follows it.
type story struct{ w io.Writer }

func (s story) say(format string, args ...any) { fmt.Fprintf(s.w, format+"\n", args...) }

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  template:
    spec:
      containers:
        - name: web
          image: %s # {"$imagepolicy": "shop:web"}
`

// TestDemo is the main job end to end: a signed tag is committed to Git
// as tag@digest with trailers and a signature, an unsigned one is blocked
// and Git keeps the verified image; then `imagegate audit` reads the
// history back and finds a hand-made commit pinning the unsigned image. It
// tells the story on stdout as it goes, which is what `make demo` shows
// (see the Makefile for why stdout), and then checks that the story tells
// each step.
func TestDemo(t *testing.T) {
	var told bytes.Buffer
	demo(t, story{io.MultiWriter(os.Stdout, &told)})
	t.Run("story tells each step", func(t *testing.T) {
		for _, missing := range storyLacks(told.String()) {
			t.Errorf("the demo's story does not show %s", missing)
		}
	})
}

// storyLines are what a reader of the demo must see, as patterns over the
// story's lines: the selection, the verification with its signer and trust
// policy, the commit with its trailers, the unsigned tag blocked with its
// reason, the real git log holding the gate's commit, and the audit telling
// the gate's signed commit from the hand-made one.
var storyLines = []struct{ what, pattern string }{
	{"the signed selection", `(?m)^1\. image-reflector-controller selects 1\.0\.0 \(signed\)$`},
	{"the verification with its signer", `(?m)^   verified under ClusterTrustPolicy release-signed, signed by \S+`},
	{"the commit pushed", `(?m)^   ImageGate: .*; pushed [0-9a-f]{12}$`},
	{"the image Git runs now", `(?m)^   git now runs: \S+/shop/web:1\.0\.0@sha256:[0-9a-f]{64}$`},
	{"the unsigned selection", `(?m)^2\. image-reflector-controller selects 1\.1\.0 \(unsigned\)$`},
	{"the block with its reason", `(?m)^   ImageGate Blocked: \S.*1\.1\.0`},
	{"the status row's reason", `(?m)^   status row: verified=false reason=NoSignature; Git keeps \S+:1\.0\.0@sha256:`},
	{"the git log with the gate's commit", `(?m)^   [0-9a-f]{40} \S.*\n   [0-9a-f]{40} \S`},
	{"the Verified-Image trailer", `(?m)^   \| Verified-Image: \S+/shop/web:1\.0\.0@sha256:[0-9a-f]{64}$`},
	{"the Verified-Policy trailer", `(?m)^   \| Verified-Policy: \S*release-signed \(`},
	{"the Verified-By trailer", `(?m)^   \| Verified-By: \S.* \(authority `},
	{"the audit's clean gate commit", `(?m)^   [0-9a-f]{12}  \S+  imagegate  +openpgp [0-9A-F]{40} .*\S+/shop/web:1\.0\.0@sha256:[0-9a-f]{64}  -$`},
	{"the audit's finding on the hand-made commit", `(?m)^   [0-9a-f]{12}  \S+  person:Alice .*  none  .*\S+/shop/web:1\.1\.0@sha256:[0-9a-f]{64}  missing-trailer$`},
	{"the audit's exit status", `(?m)^   the audit exits 1: it found the hand-made commit \(expected\)$`},
}

// storyLacks names each storyLines entry the story does not show.
func storyLacks(told string) []string {
	var missing []string
	for _, l := range storyLines {
		if !regexp.MustCompile(l.pattern).MatchString(told) {
			missing = append(missing, l.what)
		}
	}
	return missing
}

// demo runs the gate against a local sandbox and tells the story on s.
func demo(t *testing.T, s story) {
	ctx := context.Background()
	cp := testenv.StartControlPlane(t)
	reg := testenv.NewRegistry(t)
	git := testenv.NewGitServer(t)
	key := testenv.NewCosignKey(t)
	gitKey := newGateSigningKey(t)
	s.say("imagegate demo: a local API server, a registry on %s and a git server on %s", reg.Host(), git.URL())

	signed := reg.PushImage(t, "shop/web", "1.0.0")
	testenv.SignLegacy(t, signed, key)
	unsigned := reg.PushImage(t, "shop/web", "1.1.0")
	s.say("registry: %s:1.0.0 is signed with the release key; %s:1.1.0 is not signed", reg.Repo("shop/web"), reg.Repo("shop/web"))

	repoURL := git.CreateRepo(t, "fleet", fstest.MapFS{
		"apps/web/deployment.yaml": &fstest.MapFile{Data: []byte(fmt.Sprintf(deployment, reg.Repo("shop/web")+":0.9.0"))},
	})
	s.say("git: fleet repository, apps/web/deployment.yaml runs %s:0.9.0 with a setter marker", reg.Repo("shop/web"))

	must(t, cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "shop"}}))
	must(t, cp.Client.Create(ctx, testenv.ClusterTrustPolicy("release-signed", testenv.KeyPolicySpec(reg.Host()+"/shop/**", key.PublicPEM))))
	must(t, cp.Client.Create(ctx, testenv.GitRepository("shop", "fleet", repoURL, "main")))
	must(t, cp.Client.Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "imagegate-signing"},
		Data:       map[string][]byte{"git.asc": gitKey.private},
	}))
	must(t, cp.Client.Create(ctx, testenv.ImageGate("shop", "web", "fleet", "./apps", func(g *igv1.ImageGate) {
		g.Spec.Interval = metav1.Duration{Duration: time.Minute}
		g.Spec.GitSpec.Commit.SigningKey = &iacv1.SigningKey{
			SecretRef: meta.LocalObjectReference{Name: "imagegate-signing"}, Type: iacv1.SigningKeyTypeGPG,
		}
	})))
	must(t, cp.Client.Create(ctx, testenv.ImagePolicy("shop", "web", nil)))
	s.say("cluster: ClusterTrustPolicy release-signed (one cosign key, require all), ImageGate shop/web writing ./apps")
	s.say("         and signing its commits with an OpenPGP key (Secret shop/imagegate-signing, git.asc)")
	s.say("controller: runs as ServiceAccount %s/imagegate-controller with config/default's RBAC, leader election on", installNamespace)

	bin := testenv.BuildImagegate(t)
	stop := startController(t, cp, bin)
	defer stop()

	s.say("\n1. image-reflector-controller selects 1.0.0 (signed)")
	selectTag(t, cp, reg.Repo("shop/web"), "1.0.0", signed.DigestStr())
	g := waitFor(t, cp, func(g *igv1.ImageGate) bool {
		return len(g.Status.Policies) == 1 && g.Status.Policies[0].Verified && g.Status.LastPushCommit != ""
	})
	verified := g.Status.Policies[0]
	s.say("   verified under ClusterTrustPolicy %s, signed by %s", verified.TrustPolicy, strings.Join(verified.Signers, ", "))
	s.say("   ImageGate: %s; pushed %s", readyMessage(g), g.Status.LastPushCommit[:12])
	want := reg.Repo("shop/web") + ":1.0.0@" + signed.DigestStr()
	file := git.File(t, "fleet", "main", "apps/web/deployment.yaml")
	if !strings.Contains(file, want) {
		t.Fatalf("Git does not hold %s:\n%s", want, file)
	}
	s.say("   git now runs: %s", want)

	s.say("\n2. image-reflector-controller selects 1.1.0 (unsigned)")
	selectTag(t, cp, reg.Repo("shop/web"), "1.1.0", unsigned.DigestStr())
	g = waitFor(t, cp, func(g *igv1.ImageGate) bool {
		return len(g.Status.Policies) == 1 && g.Status.Policies[0].LatestTag == "1.1.0" && blocked(g)
	})
	row := g.Status.Policies[0]
	s.say("   ImageGate Blocked: %s", condMessage(g, igv1.BlockedCondition))
	s.say("   status row: verified=%v reason=%s; Git keeps %s", row.Verified, row.Reason, row.LastVerifiedRef)
	if after := git.File(t, "fleet", "main", "apps/web/deployment.yaml"); after != file || row.Reason != "NoSignature" || row.LastVerifiedRef != want {
		t.Fatalf("the unsigned image changed Git or was not reported: row %+v\n%s", row, after)
	}

	s.say("\n3. the real git log of fleet/main:")
	for _, line := range git.Log(t, "fleet", "main") {
		s.say("   %s", line)
	}
	s.say("\n   the gate's commit message, trailers included:")
	for _, line := range strings.Split(strings.TrimSpace(git.CommitMessage(t, "fleet", "main")), "\n") {
		s.say("   | %s", line)
	}
	log := git.Log(t, "fleet", "main")
	if len(log) != 2 {
		t.Fatalf("%d commits in fleet/main, want the seed and the gate's", len(log))
	}
	gateCommit, seed := strings.Fields(log[0])[0], strings.Fields(log[1])[0]

	s.say("\n4. a person pins 1.1.0 by hand in a clone of fleet, past the gate (no trailers, no signature)")
	pinned := reg.Repo("shop/web") + ":1.1.0@" + unsigned.DigestStr()
	clone, hand := handMadeCommit(t, repoURL, "apps/web/deployment.yaml", want, pinned)
	s.say("   %s by %s <%s>: apps/web/deployment.yaml runs %s", hand[:12], personName, personEmail, pinned)
	s.say("   $ imagegate audit --repo fleet --branch main --path apps --since %s --keyring imagegate.asc", seed[:12])
	s.say("   (--since: the seed commit predates the gate; --keyring: the gate's public key)")
	code, table, stderr := runAudit(t, bin, "--repo", clone, "--branch", "main", "--path", "apps",
		"--since", seed, "--keyring", gitKey.keyring, "--output", "table")
	for _, line := range strings.Split(strings.TrimRight(table, "\n"), "\n") {
		s.say("   %s", line)
	}
	s.say("   the audit exits %d: it found the hand-made commit (expected)", code)
	if by, findings, ok := auditRow(table, gateCommit); !ok || by != "imagegate" || findings != "-" {
		t.Errorf("the audit does not show the gate's commit %s as the gate's and clean (by %q, findings %q)", gateCommit[:12], by, findings)
	}
	if by, findings, ok := auditRow(table, hand); !ok || !strings.HasPrefix(by, "person:") || findings != "missing-trailer" {
		t.Errorf("the audit does not report the hand-made commit %s as a person's missing-trailer (by %q, findings %q)", hand[:12], by, findings)
	}
	if code != 1 {
		t.Fatalf("imagegate audit exited %d, want 1 (a finding); stderr:\n%s", code, stderr)
	}
	s.say("\ndone: the signed tag was committed as tag@digest and signed; the unsigned one was blocked and never")
	s.say("reached Git through the gate; the audit told the gate's signed commit from the one made by hand.")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// startController runs the real imagegate binary bin against the control
// plane and returns a function that stops it and waits for it to exit.
func startController(t *testing.T, cp *testenv.ControlPlane, bin string) func() {
	t.Helper()
	// The controller's own service account with config/default's RBAC,
	// nothing more: a permission the gate needs and the install lacks
	// fails the demo.
	ctx := context.Background()
	must(t, cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: installNamespace}}))
	testenv.CreateRBAC(ctx, t, cp.Client, testenv.Kustomize(t, "config/default"))
	kubeconfig := cp.ServiceAccountKubeconfig(t, installNamespace, "imagegate-controller")
	var logs bytes.Buffer
	cmd := exec.Command(bin, "controller", "--kubeconfig", kubeconfig, "--leader-elect",
		"--metrics-bind-address", "0", "--health-probe-bind-address", "0", "--allow-insecure-registry", "--tuf-mirror=off")
	cmd.Env = append(os.Environ(), "POD_NAMESPACE="+installNamespace)
	cmd.Stdout, cmd.Stderr = &logs, &logs
	must(t, cmd.Start())
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		_ = cmd.Process.Signal(syscall.SIGTERM)
		if err := <-done; err != nil {
			t.Errorf("controller exited with %v; logs:\n%s", err, logs.String())
		}
		if t.Failed() {
			fmt.Fprintf(os.Stderr, "controller logs:\n%s\n", logs.String())
		}
	}
	t.Cleanup(stop)
	return stop
}

func selectTag(t *testing.T, cp *testenv.ControlPlane, name, tag, digest string) {
	t.Helper()
	var ip imagev1.ImagePolicy
	must(t, cp.Client.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: "web"}, &ip))
	ip.Status.LatestRef = &imagev1.ImageRef{Name: name, Tag: tag, Digest: digest}
	must(t, cp.Client.Status().Update(context.Background(), &ip))
}

// waitFor polls the ImageGate until cond holds; the deadline only stops a
// broken run from hanging.
func waitFor(t *testing.T, cp *testenv.ControlPlane, cond func(*igv1.ImageGate) bool) *igv1.ImageGate {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var g igv1.ImageGate
		must(t, cp.Client.Get(context.Background(), client.ObjectKey{Namespace: "shop", Name: "web"}, &g))
		if cond(&g) {
			return &g
		}
		if time.Now().After(deadline) {
			t.Fatalf("ImageGate never reached the expected state; status: %+v", g.Status)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func blocked(g *igv1.ImageGate) bool {
	for _, c := range g.Status.Conditions {
		if c.Type == igv1.BlockedCondition {
			return c.Status == metav1.ConditionTrue
		}
	}
	return false
}

func condMessage(g *igv1.ImageGate, typ string) string {
	for _, c := range g.Status.Conditions {
		if c.Type == typ {
			return c.Reason + ": " + c.Message
		}
	}
	return ""
}

func readyMessage(g *igv1.ImageGate) string { return condMessage(g, igv1.ReadyCondition) }
