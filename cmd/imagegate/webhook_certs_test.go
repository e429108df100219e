package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/admission"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestSelfManagedCertificatesServeTheAPIServer runs `imagegate webhook
// --cert-mode=self-managed` against a real API server whose webhook
// configuration has no CA bundle: the webhook makes its certificate and
// injects the bundle, and the API server then reaches it over TLS and
// gets its denial of an unsigned Pod (not a TLS error, which failurePolicy
// Fail would also turn into a refusal).
func TestSelfManagedCertificatesServeTheAPIServer(t *testing.T) {
	cp := testenv.StartControlPlane(t)
	ctx := t.Context()
	for _, ns := range []string{"imagegate-system", "apps"} {
		if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	port := freePort(t)
	vwc := admission.WebhookConfiguration(admission.ConfigOptions{PodsOnly: true})
	for i := range vwc.Webhooks {
		vwc.Webhooks[i].ClientConfig = admissionregistrationv1.WebhookClientConfig{
			URL: ptr.To(fmt.Sprintf("https://127.0.0.1:%d%s", port, admission.DefaultPath)),
		}
	}
	if err := cp.Client.Create(ctx, vwc); err != nil {
		t.Fatal(err)
	}

	t.Setenv("POD_NAMESPACE", "imagegate-system")
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan int, 1)
	var stderr bytes.Buffer
	go func() {
		done <- runWebhook(wctx, []string{
			"--kubeconfig", cp.KubeconfigFile(t, "imagegate-webhook", "system:masters"),
			"--cert-mode=self-managed", "--cert-dir", t.TempDir(), "--cert-hosts=127.0.0.1",
			"--host=127.0.0.1", fmt.Sprintf("--port=%d", port),
			"--metrics-bind-address=0", "--health-probe-bind-address=0",
		}, &bytes.Buffer{}, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("imagegate webhook exited %d:\n%s", code, stderr.String())
		}
	})

	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", GenerateName: "unsigned-"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "registry.example/app:v1"}}},
	}
	var last error
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		last = cp.Client.Create(ctx, pod.DeepCopy(), &client.CreateOptions{DryRun: []string{metav1.DryRunAll}})
		return last != nil && strings.Contains(last.Error(), `admission webhook "`+admission.WorkloadsWebhookName+`" denied the request`), nil
	})
	if err != nil {
		t.Fatalf("the API server never got the webhook's own denial; last answer: %v\nwebhook log:\n%s", last, stderr.String())
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
