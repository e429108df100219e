package charts_test

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// TestFlagsFollowValues checks what values turn into, per case, where the
// API server cannot: flags, image reference, the Service's route to the
// webhook port and the namespaces the webhook skips.
func TestFlagsFollowValues(t *testing.T) {
	t.Parallel()
	const ns = "chart-flags"
	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		w := webhookOf(t, ns)
		checkServiceRoute(t, w)
		checkExemptNamespaces(t, w, "kube-system", ns)
		want := []string{"system:serviceaccount:" + ns + ":imagegate-webhook", "system:serviceaccount:" + ns + ":imagegate-controller"}
		if got := strings.Split(w.flags["--trusted-writers"], ","); !slices.Equal(got, want) {
			t.Errorf("--trusted-writers %v, want %v: the webhook would deny the controller's ImageVerifications", got, want)
		}
		if w.container.Image != "ghcr.io/imagegate/imagegate:0.1.0" {
			t.Errorf("image %q, want the appVersion's", w.container.Image)
		}
	})
	t.Run("controller off", func(t *testing.T) {
		t.Parallel()
		w := webhookOf(t, ns, "testdata/values/controller-off.yaml")
		if got := w.flags["--trusted-writers"]; got != "system:serviceaccount:"+ns+":imagegate-webhook" {
			t.Errorf("--trusted-writers %q, want the webhook alone when no controller runs", got)
		}
	})
	t.Run("pods only, failing open", func(t *testing.T) {
		t.Parallel()
		w := webhookOf(t, ns, "testdata/values/pods-only-ignore.yaml")
		if _, ok := w.flags["--pods-only"]; !ok {
			t.Error("webhook.podsOnly: no --pods-only")
		}
		if got := w.flags["--timeout"]; got != "3s" {
			t.Errorf("timeoutSeconds 5: --timeout %q, want 3s", got)
		}
		checkExemptNamespaces(t, w, "kube-system", "flux-system", ns)
	})
	t.Run("every value set", func(t *testing.T) {
		t.Parallel()
		w := webhookOf(t, ns, "testdata/values/everything.yaml")
		var ctl appsv1.Deployment
		w.objs.get(t, "Deployment", "imagegate-controller", &ctl)
		checkExemptNamespaces(t, w, "kube-system", "kube-public", "monitoring", ns)
		if got := w.flags["--exempt-images"]; got != "registry.k8s.io/*,*/pause:*" {
			t.Errorf("--exempt-images %q", got)
		}
		if got := argFlags(ctl.Spec.Template.Spec.Containers[0].Args)["--concurrent"]; got != "8" {
			t.Errorf("controller: --concurrent %q, want 8", got)
		}
		if !slices.Contains(ctl.Spec.Template.Spec.Containers[0].Args, "--no-cross-namespace-refs") {
			t.Errorf("controller: args %v lack --no-cross-namespace-refs", ctl.Spec.Template.Spec.Containers[0].Args)
		}
		if f := argFlags(ctl.Spec.Template.Spec.Containers[0].Args); f["--policy-resync"] != "90s" || f["--watch-configs-label-selector"] != "reconcile.fluxcd.io/watch=Enabled" {
			t.Errorf("controller: --policy-resync %q --watch-configs-label-selector %q", f["--policy-resync"], f["--watch-configs-label-selector"])
		}
		ctlFlags := argFlags(ctl.Spec.Template.Spec.Containers[0].Args)
		if ctlFlags["--events-addr"] != "http://notification-controller.flux-system.svc.cluster.local./" {
			t.Errorf("controller: --events-addr %q, want notification-controller's", ctlFlags["--events-addr"])
		}
		if ctlFlags["--retry-base"] != "10s" || ctlFlags["--retry-max"] != "3m" {
			t.Errorf("controller: --retry-base %q --retry-max %q, want 10s, 3m", ctlFlags["--retry-base"], ctlFlags["--retry-max"])
		}
		if ctlFlags["--git-timeout-max"] != "2m" {
			t.Errorf("controller: --git-timeout-max %q, want 2m", ctlFlags["--git-timeout-max"])
		}
		if ctlFlags["--setter-max-file-bytes"] != "1048576" || ctlFlags["--setter-max-file-nodes"] != "100000" {
			t.Errorf("controller: setter limits %q, %q, want 1048576, 100000", ctlFlags["--setter-max-file-bytes"], ctlFlags["--setter-max-file-nodes"])
		}
		if v := ctl.Spec.Template.Spec.Volumes; len(v) != 1 || v[0].EmptyDir == nil || v[0].EmptyDir.SizeLimit == nil || v[0].EmptyDir.SizeLimit.String() != "2Gi" {
			t.Errorf("controller: volumes %+v, want the clones' emptyDir with sizeLimit 2Gi", v)
		}
		for _, c := range []corev1.Container{w.container, ctl.Spec.Template.Spec.Containers[0]} {
			checkCommonFlags(t, c, ns)
		}
		// The cloud identity spec.provider uses: the ServiceAccount's
		// annotation and the Pod's label, beside the chart's own labels.
		var sa corev1.ServiceAccount
		w.objs.get(t, "ServiceAccount", "imagegate-controller", &sa)
		if got := sa.Annotations["iam.gke.io/gcp-service-account"]; got != "imagegate@acme.iam.gserviceaccount.com" {
			t.Errorf("controller ServiceAccount annotations %v, want serviceAccountAnnotations", sa.Annotations)
		}
		if l := ctl.Spec.Template.Labels; l["azure.workload.identity/use"] != "true" || l["app.kubernetes.io/name"] != "imagegate" {
			t.Errorf("controller Pod labels %v, want podLabels beside the chart's", l)
		}
		if l := ctl.Spec.Selector.MatchLabels; l["azure.workload.identity/use"] != "" {
			t.Errorf("controller selector %v takes podLabels: changing them would need a new Deployment", l)
		}
	})
}

// checkCommonFlags checks the values every role shares in everything.yaml.
func checkCommonFlags(t *testing.T, c corev1.Container, ns string) {
	t.Helper()
	flags := argFlags(c.Args[1:])
	want := map[string]string{"--log-format": "text", "--log-level": "debug", "--verified-ttl": "90m", "--allow-insecure-registry": ""}
	for k, v := range want {
		if got, ok := flags[k]; !ok || got != v {
			t.Errorf("%s: %s=%q, want %q", c.Name, k, got, v)
		}
	}
	// --pull-secret takes NAMESPACE/NAME; a bare name is the release's.
	wantSecrets := []string{ns + "/registry-creds", "flux-system/shared-registry"}
	if got := flagValues(c.Args, "--pull-secret"); !slices.Equal(got, wantSecrets) {
		t.Errorf("%s: --pull-secret %v, want %v", c.Name, got, wantSecrets)
	}
	const image = "registry.example.com/platform/imagegate:v0.1.0@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	if c.Image != image || c.ImagePullPolicy != corev1.PullAlways {
		t.Errorf("%s: image %q pulled %s, want %q Always", c.Name, c.Image, c.ImagePullPolicy, image)
	}
}

// checkServiceRoute follows the Service to the container port --port
// serves.
func checkServiceRoute(t *testing.T, w webhookParts) {
	t.Helper()
	sp := w.svc.Spec.Ports[0]
	i := slices.IndexFunc(w.container.Ports, func(p corev1.ContainerPort) bool { return p.Name == sp.TargetPort.StrVal })
	if i < 0 || w.container.Ports[i].ContainerPort != 9443 || w.flags["--port"] != "9443" || sp.Port != 443 {
		t.Errorf("webhook: Service %d -> %s must reach --port %s (container ports %v)", sp.Port, sp.TargetPort.String(), w.flags["--port"], w.container.Ports)
	}
	cc := w.vwc.Webhooks[0].ClientConfig.Service
	if cc.Port == nil || *cc.Port != sp.Port {
		t.Errorf("configuration calls port %v, the Service serves %d", cc.Port, sp.Port)
	}
	if !mapsSubset(w.svc.Spec.Selector, w.deploy.Spec.Template.Labels) {
		t.Errorf("webhook: Service selector %v does not select the Pods %v", w.svc.Spec.Selector, w.deploy.Spec.Template.Labels)
	}
}

// checkExemptNamespaces: --exempt-namespaces and the namespaceSelector
// name the same namespaces, so what the API server skips the webhook skips
// too when it is called anyway.
func checkExemptNamespaces(t *testing.T, w webhookParts, want ...string) {
	t.Helper()
	if got := strings.Split(w.flags["--exempt-namespaces"], ","); !slices.Equal(got, want) {
		t.Errorf("--exempt-namespaces %v, want %v", got, want)
	}
	sel := w.vwc.Webhooks[0].NamespaceSelector
	if sel == nil || len(sel.MatchExpressions) != 1 || !slices.Equal(sel.MatchExpressions[0].Values, want) {
		t.Errorf("namespaceSelector %+v, want NotIn %v", sel, want)
	}
}

func mapsSubset(sub, of map[string]string) bool {
	for k, v := range sub {
		if of[k] != v {
			return false
		}
	}
	return len(sub) > 0
}

// argFlags maps --name=value arguments to their values and bare --name
// switches to "".
func argFlags(args []string) map[string]string {
	out := map[string]string{}
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		out[k] = v
	}
	return out
}

// flagValues returns every value of a repeatable flag, in order.
func flagValues(args []string, name string) []string {
	var out []string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			out = append(out, v)
		}
	}
	return out
}
