package charts_test

import (
	"maps"
	"slices"
	"strings"
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// webhookParts are the rendered objects the webhook's flags must agree
// with.
type webhookParts struct {
	objs      objects
	deploy    appsv1.Deployment
	container corev1.Container
	flags     map[string]string
	vwc       admissionregistrationv1.ValidatingWebhookConfiguration
	svc       corev1.Service
}

func webhookOf(t *testing.T, ns string, files ...string) webhookParts {
	t.Helper()
	w := webhookParts{objs: render(t, ns, files...)}
	w.objs.get(t, "Deployment", "imagegate-webhook", &w.deploy)
	w.objs.get(t, "ValidatingWebhookConfiguration", "imagegate", &w.vwc)
	w.objs.get(t, "Service", "imagegate-webhook", &w.svc)
	w.container = w.deploy.Spec.Template.Spec.Containers[0]
	w.flags = argFlags(w.container.Args[1:])
	return w
}

// certVolume returns the volume mounted at --cert-dir and its mount.
func (w webhookParts) certVolume(t *testing.T) (corev1.Volume, corev1.VolumeMount) {
	t.Helper()
	dir := w.flags["--cert-dir"]
	i := slices.IndexFunc(w.container.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == dir })
	if dir == "" || i < 0 {
		t.Fatalf("webhook: nothing is mounted at --cert-dir %q (%v)", dir, w.container.VolumeMounts)
	}
	m := w.container.VolumeMounts[i]
	j := slices.IndexFunc(w.deploy.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == m.Name })
	if j < 0 {
		t.Fatalf("webhook: volume %s is mounted but not declared", m.Name)
	}
	return w.deploy.Spec.Template.Spec.Volumes[j], m
}

// TestSelfManagedCertificateWiring: the webhook writes its certificate
// itself, so --cert-dir must be a writable emptyDir, and the Secret and
// configuration its flags name must be the ones its roles reach.
func TestSelfManagedCertificateWiring(t *testing.T) {
	t.Parallel()
	const ns = "chart-wiring"
	w := webhookOf(t, ns)
	if w.flags["--cert-mode"] != "self-managed" {
		t.Fatalf("webhook: --cert-mode %q, want self-managed by default", w.flags["--cert-mode"])
	}
	if v, m := w.certVolume(t); v.EmptyDir == nil || m.ReadOnly {
		t.Errorf("webhook: --cert-dir must be a writable emptyDir, is volume %s (emptyDir: %v, read-only: %v)", v.Name, v.EmptyDir != nil, m.ReadOnly)
	}
	var role rbacv1.Role
	w.objs.get(t, "Role", "imagegate-webhook-certs", &role)
	if !ruleNames(role.Rules, "secrets", "update", w.flags["--cert-secret"]) {
		t.Errorf("webhook: Role imagegate-webhook-certs does not let it update --cert-secret %q: %+v", w.flags["--cert-secret"], role.Rules)
	}
	var cr rbacv1.ClusterRole
	w.objs.get(t, "ClusterRole", "imagegate-webhook-certs", &cr)
	if name := w.flags["--webhook-configuration"]; name != w.vwc.Name || !ruleNames(cr.Rules, "validatingwebhookconfigurations", "update", name) {
		t.Errorf("webhook: --webhook-configuration %q must name the rendered configuration %q and ClusterRole imagegate-webhook-certs must let it update it", name, w.vwc.Name)
	}
	for _, wh := range w.vwc.Webhooks {
		if s := wh.ClientConfig.Service; s == nil || s.Name != w.flags["--service-name"] || s.Namespace != ns || len(wh.ClientConfig.CABundle) != 0 {
			t.Errorf("webhook %s: calls %+v with a caBundle of %d bytes; want --service-name %q in %s and an empty caBundle",
				wh.Name, s, len(wh.ClientConfig.CABundle), w.flags["--service-name"], ns)
		}
	}
	if w.svc.Name != w.flags["--service-name"] {
		t.Errorf("webhook: --service-name %q, the Service is %q", w.flags["--service-name"], w.svc.Name)
	}
	if _, ok := w.vwc.Annotations["cert-manager.io/inject-ca-from"]; ok {
		t.Error("self-managed: the configuration must not ask cert-manager's cainjector for its caBundle")
	}
}

// ruleNames reports whether a rule grants verb on resource for the object
// name, by name.
func ruleNames(rules []rbacv1.PolicyRule, resource, verb, name string) bool {
	return slices.ContainsFunc(rules, func(r rbacv1.PolicyRule) bool {
		return slices.Contains(r.Resources, resource) && slices.Contains(r.Verbs, verb) && slices.Contains(r.ResourceNames, name)
	})
}

// TestCertManagerWiring: cert-manager writes the Secret the webhook
// mounts, for the Service's DNS names, and its cainjector is pointed at
// that Certificate; with no issuer given the chart's own CA issues it.
func TestCertManagerWiring(t *testing.T) {
	t.Parallel()
	const ns = "chart-wiring"
	cases := []struct {
		name, file string
		issuer     map[string]any
	}{
		{name: "chart CA", file: "cert-manager.yaml", issuer: map[string]any{"kind": "Issuer", "name": "imagegate-ca"}},
		{name: "issuerRef", file: "cert-manager-issuer.yaml", issuer: map[string]any{"name": "corporate-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			w := webhookOf(t, ns, "testdata/values/"+c.file)
			if w.flags["--cert-mode"] != "files" || w.flags["--cert-secret"] != "" {
				t.Errorf("webhook: --cert-mode %q --cert-secret %q, want files and none", w.flags["--cert-mode"], w.flags["--cert-secret"])
			}
			cert := w.objs.find("Certificate", "imagegate-webhook")
			if cert == nil {
				t.Fatal("no Certificate imagegate-webhook")
			}
			v, m := w.certVolume(t)
			if v.Secret == nil || v.Secret.SecretName != nested(t, cert, "spec", "secretName") || !m.ReadOnly {
				t.Errorf("webhook: --cert-dir must mount the Certificate's Secret %v read-only, is volume %s (secret: %+v, read-only: %v)",
					nested(t, cert, "spec", "secretName"), v.Name, v.Secret, m.ReadOnly)
			}
			wantDNS := []any{"imagegate-webhook." + ns + ".svc", "imagegate-webhook." + ns + ".svc.cluster.local"}
			if got := nested(t, cert, "spec", "dnsNames"); !slices.Equal(got.([]any), wantDNS) {
				t.Errorf("Certificate dnsNames %v, want %v", got, wantDNS)
			}
			if got := w.vwc.Annotations["cert-manager.io/inject-ca-from"]; got != ns+"/"+cert.GetName() {
				t.Errorf("configuration: inject-ca-from %q, want %s/%s", got, ns, cert.GetName())
			}
			if got := nested(t, cert, "spec", "issuerRef"); !maps.Equal(got.(map[string]any), c.issuer) {
				t.Errorf("Certificate issuerRef %v, want %v", got, c.issuer)
			}
			if c.issuer["kind"] == "Issuer" {
				checkChartCA(t, w.objs, c.issuer["name"].(string))
			}
		})
	}
}

// checkChartCA follows the chart's CA issuer to a self-signed root.
func checkChartCA(t *testing.T, objs objects, issuer string) {
	t.Helper()
	ca := objs.find("Issuer", issuer)
	if ca == nil {
		t.Fatalf("no Issuer %s", issuer)
	}
	secret := nested(t, ca, "spec", "ca", "secretName")
	i := slices.IndexFunc(objs.ofKind("Certificate"), func(u *unstructured.Unstructured) bool {
		return nested(t, u, "spec", "secretName") == secret
	})
	if i < 0 {
		t.Fatalf("no Certificate writes the CA Secret %v of Issuer %s", secret, issuer)
	}
	root := objs.ofKind("Certificate")[i]
	if nested(t, root, "spec", "isCA") != true {
		t.Errorf("Certificate %s is not a CA", root.GetName())
	}
	rootIssuer := objs.find("Issuer", nested(t, root, "spec", "issuerRef", "name").(string))
	if rootIssuer == nil || nested(t, rootIssuer, "spec", "selfSigned") == nil {
		t.Errorf("the CA Certificate %s is not issued by a rendered self-signed Issuer", root.GetName())
	}
}

func nested(t *testing.T, u *unstructured.Unstructured, fields ...string) any {
	t.Helper()
	v, ok, err := unstructured.NestedFieldNoCopy(u.Object, fields...)
	if err != nil || !ok {
		t.Fatalf("%s %s has no %s", u.GetKind(), u.GetName(), strings.Join(fields, "."))
	}
	return v
}
