package admission

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/records"
	"github.com/imagegate/imagegate/internal/verify"
)

// servingReader serves ImageVerifications the way the informer cache with
// UnsafeDisableDeepCopy does: a map lookup and a shallow copy.
type servingReader map[string]*igv1.ImageVerification

var errNotServed = errors.New("servingReader serves ImageVerifications by name only")

func (r servingReader) Get(_ context.Context, key client.ObjectKey, obj client.Object, _ ...client.GetOption) error {
	iv, ok := obj.(*igv1.ImageVerification)
	if !ok {
		return errNotServed
	}
	stored, ok := r[key.Name]
	if !ok {
		return notFound(key.Name)
	}
	*iv = *stored
	return nil
}

func (servingReader) List(context.Context, client.ObjectList, ...client.ListOption) error {
	return errNotServed
}

// discardWriter is a ResponseWriter that keeps nothing but the status.
type discardWriter struct {
	h    http.Header
	code int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

// benchHandler is the handler as `imagegate webhook` builds it, with a
// records.Store over servingReader holding records for the bench bodies'
// new digests, and the audit line written to io.Discard (formatted, not
// stored).
func benchHandler(b *testing.B) *Handler {
	b.Helper()
	team := compiledPolicy(b, "", "team", nil, teamPolicyGlob)
	reader := servingReader{}
	for _, d := range []string{webDigest, webNewDigest, modelsDigest} {
		iv := verifiedRecord(d, team.Hash)
		iv.Status.ExpiresAt.Time = time.Now().Add(time.Hour)
		reader[iv.Name] = iv
	}
	chk := &scriptedChecker{result: verify.ResultDenied, reason: verify.ReasonNoSignature}
	store := records.NewStore(reader, nil, func(verify.Outcome) time.Duration { return time.Hour }, nil)
	h, err := NewHandler(Deps{Policies: staticPolicies{policy.NewSet([]*policy.Policy{team})}, Records: store, Checker: chk},
		Options{Audit: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func benchBody(b *testing.B, h *Handler, name string) {
	body := readTestdata(b, name)
	// One request to check the answer before measuring.
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body)))
	if !bytes.Contains(rec.Body.Bytes(), []byte(`"allowed":true`)) {
		b.Fatalf("%s not allowed: %s", name, rec.Body)
	}
	serveLoop(b, h, body)
}

// serveLoop measures h answering body, reusing one request and writer.
func serveLoop(b *testing.B, h *Handler, body []byte) {
	w := &discardWriter{h: http.Header{}}
	r := httptest.NewRequest(http.MethodPost, "/validate", nil)
	rd := bytes.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		r.Body = io.NopCloser(rd)
		r.ContentLength = int64(len(body))
		h.ServeHTTP(w, r)
	}
}

func BenchmarkHandlerUnchangedUpdate36KB(b *testing.B) {
	benchBody(b, benchHandler(b), "update-unchanged-deployment")
}

func BenchmarkHandlerCreatePodRecordedDigest(b *testing.B) {
	benchBody(b, benchHandler(b), "create-pod-by-digest")
}

func BenchmarkHandlerChangedUpdateRecordedDigest(b *testing.B) {
	benchBody(b, benchHandler(b), "update-changed-deployment")
}

// BenchmarkDecodeReview and BenchmarkDecodeEncodingJSON compare the
// webhook's decoder with encoding/json decoding the same fields (what the
// bench's no-op reference does).
func BenchmarkDecodeReview(b *testing.B) {
	body := readTestdata(b, "update-unchanged-deployment")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeReview(body); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEncodingJSON(b *testing.B) {
	body := readTestdata(b, "update-unchanged-deployment")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var o oracle
		if err := json.Unmarshal(body, &o); err != nil {
			b.Fatal(err)
		}
	}
}

func notFound(name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Group: igv1.GroupVersion.Group, Resource: "imageverifications"}, name)
}
