package admission

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
)

// BenchmarkHugePodDeniedByTheImageCap is the time and memory of answering
// a Pod of 20,000 distinct image strings (a 1.5 MB review), denied by the
// default cap without any image judged
// (TestPodOverTheImageCapIsDeniedWithNoImageChecked counts that).
func BenchmarkHugePodDeniedByTheImageCap(b *testing.B) {
	h := benchHandler(b)
	images := make([]string, 20000)
	for i := range images {
		images[i] = fmt.Sprintf("registry.example/team/app%d:v1", i)
	}
	body := reviewOf(b, admissionv1.Create, podGVK, "alice", namedPod(images...), nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body)))
	if !bytes.Contains(rec.Body.Bytes(), []byte(`"allowed":false`)) || !bytes.Contains(rec.Body.Bytes(), []byte("TooManyImages")) {
		b.Fatalf("not denied by the cap: %.500s", rec.Body)
	}
	serveLoop(b, h, body)
}
