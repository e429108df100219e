package config_test

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestManagerWiring checks what the API server cannot: that the webhook
// Deployment, its Service and the service accounts agree with each other
// and with the flags the binary reads, in both installs.
func TestManagerWiring(t *testing.T) {
	t.Parallel()
	for dir, mode := range map[string]string{"default": "self-managed", "cert-manager": "files", "flux-system": "self-managed", "testdata/other-namespace": "self-managed"} {
		t.Run(dir, func(t *testing.T) {
			t.Parallel()
			checkWiring(t, dir, mode)
		})
	}
}

func checkWiring(t *testing.T, dir, certMode string) {
	deployments := map[string]*appsv1.Deployment{}
	var svc *corev1.Service
	for _, m := range render(t, dir) {
		switch m.obj.GetKind() {
		case "Deployment":
			d := &appsv1.Deployment{}
			fromUnstructured(t, m, d)
			deployments[d.Name] = d
		case "Service":
			svc = &corev1.Service{}
			fromUnstructured(t, m, svc)
		}
	}
	wh, ctl := deployments["imagegate-webhook"], deployments["imagegate-controller"]
	if wh == nil || ctl == nil || svc == nil {
		t.Fatalf("config/manager lacks the webhook or controller Deployment or the Service")
	}
	for _, d := range []*appsv1.Deployment{wh, ctl} {
		c := d.Spec.Template.Spec.Containers[0]
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || c.Resources.Requests == nil {
			t.Errorf("Deployment %s: container %s needs a read-only root filesystem and resource requests", d.Name, c.Name)
		}
		if ps := d.Spec.Template.Spec.SecurityContext; ps == nil || ps.RunAsNonRoot == nil || !*ps.RunAsNonRoot {
			t.Errorf("Deployment %s must run as non-root", d.Name)
		}
		if d.Spec.Template.Spec.ServiceAccountName != d.Name {
			t.Errorf("Deployment %s runs as %q, want service account %s", d.Name, d.Spec.Template.Spec.ServiceAccountName, d.Name)
		}
	}
	c := wh.Spec.Template.Spec.Containers[0]
	flags := argFlags(c.Args)
	if got := flags["--cert-dir"]; !slices.ContainsFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool {
		return vm.MountPath == got && vm.Name == "tls"
	}) {
		t.Errorf("webhook: --cert-dir %q is not where the tls volume is mounted (%v)", got, c.VolumeMounts)
	}
	checkCertVolume(t, c, wh.Spec.Template.Spec.Volumes, certMode)
	port := slices.IndexFunc(c.Ports, func(p corev1.ContainerPort) bool { return p.Name == svc.Spec.Ports[0].TargetPort.StrVal })
	if port < 0 || c.Ports[port].ContainerPort != 9443 || flags["--port"] != "9443" || svc.Spec.Ports[0].Port != 443 {
		t.Errorf("webhook: Service %d -> %s must reach --port %s (container ports %v)", svc.Spec.Ports[0].Port, svc.Spec.Ports[0].TargetPort.String(), flags["--port"], c.Ports)
	}
	// The kubelet expands $(POD_NAMESPACE) from the container's env, so
	// the writers are the install namespace's service accounts wherever
	// the install lands.
	writers := strings.Split(flags["--trusted-writers"], ",")
	for _, sa := range []string{"imagegate-webhook", "imagegate-controller"} {
		if !slices.Contains(writers, "system:serviceaccount:$(POD_NAMESPACE):"+sa) {
			t.Errorf("webhook: --trusted-writers %v lacks %s, whose ImageVerifications the webhook would deny", writers, sa)
		}
	}
	if !slices.ContainsFunc(c.Env, func(e corev1.EnvVar) bool {
		return e.Name == "POD_NAMESPACE" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.namespace"
	}) {
		t.Errorf("webhook: env %+v lacks POD_NAMESPACE from metadata.namespace, which --trusted-writers names", c.Env)
	}
	if !slices.Contains(ctl.Spec.Template.Spec.Containers[0].Args, "--leader-elect") {
		t.Errorf("controller: args %v lack --leader-elect", ctl.Spec.Template.Spec.Containers[0].Args)
	}
	// The clones' emptyDir is bounded, or a repository could fill the
	// node's disk.
	if v := ctl.Spec.Template.Spec.Volumes; len(v) != 1 || v[0].EmptyDir == nil || v[0].EmptyDir.SizeLimit == nil || v[0].EmptyDir.SizeLimit.IsZero() {
		t.Errorf("controller: volumes %+v, want the clones' emptyDir with a sizeLimit", v)
	}
}

// checkCertVolume: self-managed certificates are written by the webhook
// into a writable in-memory volume; files come read-only from the Secret
// cert-manager writes.
func checkCertVolume(t *testing.T, c corev1.Container, v []corev1.Volume, certMode string) {
	t.Helper()
	modes := 0
	for _, a := range c.Args {
		if strings.HasPrefix(a, "--cert-mode") {
			modes++
		}
	}
	got := argFlags(c.Args)["--cert-mode"]
	if got == "" {
		got = "files" // the binary's default
	}
	if modes > 1 || got != certMode {
		t.Errorf("webhook: --cert-mode %q (given %d times), want %s once at most", got, modes, certMode)
	}
	mount := c.VolumeMounts[slices.IndexFunc(c.VolumeMounts, func(vm corev1.VolumeMount) bool { return vm.Name == "tls" })]
	// Besides tls, only tmp: the TUF client's cache (internal/trustroot).
	v = slices.DeleteFunc(slices.Clone(v), func(vol corev1.Volume) bool {
		return vol.Name == "tmp" && vol.EmptyDir != nil && vol.EmptyDir.Medium == corev1.StorageMediumMemory
	})
	switch {
	case len(v) != 1:
		t.Errorf("webhook: want the tls volume and an in-memory tmp, got %+v", v)
	case certMode == "self-managed" && (v[0].EmptyDir == nil || v[0].EmptyDir.Medium != corev1.StorageMediumMemory || v[0].Secret != nil || mount.ReadOnly):
		t.Errorf("webhook: self-managed certificates need a writable in-memory emptyDir, got %+v mounted read-only %v", v[0], mount.ReadOnly)
	case certMode == "files" && (v[0].Secret == nil || v[0].Secret.SecretName != "imagegate-webhook-tls" || v[0].EmptyDir != nil):
		t.Errorf("webhook: want the volume from Secret imagegate-webhook-tls, got %+v", v[0])
	}
}

func fromUnstructured(t *testing.T, m manifest, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(m.obj.Object, into, true); err != nil {
		t.Fatalf("%s: %v", m, err)
	}
}

// argFlags maps --name=value arguments to their values.
func argFlags(args []string) map[string]string {
	out := map[string]string{}
	for _, a := range args {
		if k, v, ok := strings.Cut(a, "="); ok {
			out[k] = v
		}
	}
	return out
}
