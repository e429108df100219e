package admission

import (
	"fmt"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"

	"github.com/imagegate/imagegate/internal/verify"
)

// A Pod with thousands of containers, every one denied, is answered with a
// denial whose message stays small: the API server returns it to the user
// and stores it in events. The default cap (DefaultMaxImagesPerObject)
// denies such a Pod unjudged (TestPodOverTheImageCapIsDeniedWithNoImageChecked);
// this is an operator who raised it to 3,000.
func TestHugePodIsDeniedWithABoundedMessage(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{MaxImagesPerObject: 3000})
	e.chk.result, e.chk.reason = verify.ResultDenied, verify.ReasonNoSignature
	images := make([]string, 3000)
	for i := range images {
		images[i] = fmt.Sprintf("registry.example/team/app%d:v1", i)
	}
	p := pod(images...)
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].Name = fmt.Sprintf("c%d", i)
	}
	resp, code := e.post(t, reviewOf(t, admissionv1.Create, podGVK, "alice", p, nil))
	if resp == nil {
		t.Fatalf("HTTP %d for a 3,000-container Pod", code)
	}
	if resp.Allowed {
		t.Fatal("a Pod of unsigned images was admitted")
	}
	if n := len(resp.Result.Message); n > 16<<10 {
		t.Fatalf("denial message is %d bytes; want it bounded", n)
	}
	if !strings.Contains(resp.Result.Message, "app0:v1") || !strings.Contains(resp.Result.Message, "and 2990 more images denied") {
		t.Fatalf("message does not name the first images and count the rest:\n%.2000s", resp.Result.Message)
	}
	if n := e.chk.calls.Load(); n != 3000 {
		t.Fatalf("%d checks of 3,000 distinct images", n)
	}
	if lines := e.audit.lines(t); len(lines) != 1 || len(lines[0].Containers) != 3000 {
		t.Fatal("the audit line does not list every container")
	}
}
