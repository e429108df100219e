package config_test

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	admissionv1 "k8s.io/api/admission/v1"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imagegate/imagegate/internal/testenv"
)

// TestFluxSystemWebhookSkipsOnlyImagegate installs config/flux-system's
// workloads webhook on the API server for real, pointed at a local server
// that records each request and denies it, and creates Pods: in
// flux-system, imagegate's own (label app.kubernetes.io/name=imagegate)
// are admitted without a request, while a Flux controller's Pod is sent
// and denied; the same label in another namespace exempts nothing. Not
// parallel: the webhook is cluster-wide while it is installed.
func TestFluxSystemWebhookSkipsOnlyImagegate(t *testing.T) {
	ctx := t.Context()
	const elsewhere = "imagegate-lookalike"
	var (
		mu   sync.Mutex
		sent []string
	)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review admissionv1.AdmissionReview
		if err := json.NewDecoder(r.Body).Decode(&review); err != nil || review.Request == nil {
			http.Error(w, "not an AdmissionReview", http.StatusBadRequest)
			return
		}
		mu.Lock()
		sent = append(sent, review.Request.Namespace+"/"+review.Request.Name)
		mu.Unlock()
		review.Response = &admissionv1.AdmissionResponse{UID: review.Request.UID, Allowed: false,
			Result: &metav1.Status{Message: "denied by the test webhook"}}
		review.Request = nil
		_ = json.NewEncoder(w).Encode(&review)
	}))
	defer srv.Close()
	requests := func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), sent...)
	}

	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	for _, m := range render(t, "flux-system") {
		if m.obj.GetKind() == "ValidatingWebhookConfiguration" {
			fromUnstructured(t, m, &vwc)
		}
	}
	if len(vwc.Webhooks) == 0 || vwc.Webhooks[0].Name != "workloads.imagegate.dev" {
		t.Fatalf("config/flux-system: no workloads webhook first in %+v", vwc.Webhooks)
	}
	// The rendered webhook, matchConditions included, with two changes
	// for the test: it calls the local server, and only the two test
	// namespaces are sent (TestInstallFollowsItsNamespace checks the
	// rendered namespace selector), so that nothing else meets it.
	wh := vwc.Webhooks[0]
	url := srv.URL + "/validate"
	wh.ClientConfig = admissionregistrationv1.WebhookClientConfig{URL: &url,
		CABundle: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})}
	wh.NamespaceSelector = &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{{
		Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpIn, Values: []string{"flux-system", elsewhere},
	}}}
	installed := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "imagegate-flux-system-test"},
		Webhooks:   []admissionregistrationv1.ValidatingWebhook{wh},
	}
	for _, ns := range []string{"flux-system", elsewhere} {
		testenv.EnsureNamespace(ctx, t, cp.Client, ns, nil)
	}
	must(t, cp.Client.Create(ctx, installed))
	t.Cleanup(func() { _ = cp.Client.Delete(ctx, installed) })

	pod := func(ns, name, app string) *corev1.Pod {
		return &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app.kubernetes.io/name": app}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "ghcr.io/fluxcd/" + app + ":v1"}}},
		}
	}
	// The API server picks a new configuration up within a second or so:
	// wait until a Flux Pod is denied, then count from there.
	deadline := time.Now().Add(time.Minute)
	for i := 0; ; i++ {
		err := cp.Client.Create(ctx, pod("flux-system", fmt.Sprintf("probe-%d", i), "source-controller"))
		if err != nil && strings.Contains(err.Error(), "denied by the test webhook") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the test webhook never took effect: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	before := len(requests())

	for _, name := range []string{"imagegate-webhook-1", "imagegate-controller-1"} {
		if err := cp.Client.Create(ctx, pod("flux-system", name, "imagegate")); err != nil {
			t.Errorf("imagegate's own Pod %s in flux-system was refused: %v", name, err)
		}
	}
	if err := cp.Client.Create(ctx, pod("flux-system", "kustomize-controller-1", "kustomize-controller")); err == nil {
		t.Errorf("a Flux controller's Pod in flux-system was admitted without the webhook")
	}
	if err := cp.Client.Create(ctx, pod(elsewhere, "imagegate-webhook-1", "imagegate")); err == nil {
		t.Errorf("a Pod labelled imagegate in %s was admitted without the webhook", elsewhere)
	}
	got := requests()[before:]
	want := []string{"flux-system/kustomize-controller-1", elsewhere + "/imagegate-webhook-1"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the webhook was sent %q, want exactly %q", got, want)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
