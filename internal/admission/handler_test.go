package admission

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/verify"
)

// lockedBuffer collects audit lines from concurrent requests.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// auditLine is an audit line as written.
type auditLine struct {
	Level, UID, User, Operation, Kind, Namespace, Name, Decision, Path, Reason, Message string
	LatencyMs                                                                           float64
	Containers                                                                          map[string]auditImage
	Volumes                                                                             map[string]auditImage
}

type auditImage struct {
	Image, Field, Decision, Path, Reason, Policy, Digest string
}

func (b *lockedBuffer) lines(t testing.TB) []auditLine {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []auditLine
	sc := bufio.NewScanner(bytes.NewReader(b.buf.Bytes()))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l auditLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("audit line is not JSON: %v\n%s", err, sc.Text())
		}
		out = append(out, l)
	}
	return out
}

type handlerEnv struct {
	h     *Handler
	recs  *recordMap
	chk   *scriptedChecker
	audit *lockedBuffer
	reg   *prometheus.Registry
	team  *policy.Policy
}

func newHandlerEnv(t *testing.T, opts Options, policies ...*policy.Policy) *handlerEnv {
	t.Helper()
	team := compiledPolicy(t, "", "team", nil, teamPolicyGlob)
	e := &handlerEnv{recs: newRecordMap(), chk: &scriptedChecker{result: verify.ResultVerified, reason: verify.ReasonVerified},
		audit: &lockedBuffer{}, reg: prometheus.NewRegistry(), team: team}
	m, err := NewMetrics(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	opts.Audit, opts.Metrics = e.audit, m
	e.h, err = NewHandler(Deps{Policies: staticPolicies{policy.NewSet(append([]*policy.Policy{team}, policies...))},
		Records: e.recs, Checker: e.chk, Recorder: &countingRecorder{}}, opts)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// post sends body and decodes the answer.
func (e *handlerEnv) post(t *testing.T, body []byte) (*admissionv1.AdmissionResponse, int) {
	t.Helper()
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/validate", bytes.NewReader(body)))
	if w.Code != http.StatusOK {
		return nil, w.Code
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("answer is not an AdmissionReview: %v\n%s", err, w.Body)
	}
	if out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" {
		t.Fatalf("answer type %s %s", out.APIVersion, out.Kind)
	}
	return out.Response, w.Code
}

// reviewOf encodes an AdmissionReview of obj (and old) with the API
// types, independently of the webhook's decoder.
func reviewOf(t testing.TB, op admissionv1.Operation, kind metav1.GroupVersionKind, user string, obj, old runtime.Object) []byte {
	t.Helper()
	raw := func(o runtime.Object) runtime.RawExtension {
		if o == nil {
			return runtime.RawExtension{}
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		return runtime.RawExtension{Raw: b}
	}
	rv := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: types.UID("uid-" + string(op)), Kind: kind, Operation: op, Namespace: "apps", Name: "x",
			Object: raw(obj), OldObject: raw(old)},
	}
	rv.Request.UserInfo.Username = user
	b, err := json.Marshal(rv)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var podGVK = metav1.GroupVersionKind{Version: "v1", Kind: "Pod"}

func pod(images ...string) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "apps"}}
	for i, im := range images {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c" + string(rune('0'+i)), Image: im})
	}
	return p
}

func TestUnchangedUpdateNeedsNoLookup(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{})
	resp, _ := e.post(t, readTestdata(t, "update-unchanged-deployment"))
	if !resp.Allowed || resp.UID != "0c1d7a52-3e7b-4a8e-b5a1-7f3c2d9e6b01" {
		t.Fatalf("response %+v", resp)
	}
	if e.chk.calls.Load() != 0 || e.recs.lookups.Load() != 0 {
		t.Fatalf("checks %d, record lookups %d; an unchanged update needs none", e.chk.calls.Load(), e.recs.lookups.Load())
	}
	lines := e.audit.lines(t)
	if len(lines) != 1 || len(lines[0].Containers) != 3 || lines[0].Decision != "allow" || lines[0].User != "system:serviceaccount:flux-system:kustomize-controller" {
		t.Fatalf("audit %+v", lines)
	}
	for _, im := range lines[0].Containers {
		if im.Path != string(PathUnchanged) || im.Decision != "allow" || im.Image == "" {
			t.Fatalf("audit image %+v", im)
		}
	}
	var m dto.Metric
	if err := e.h.opts.Metrics.decisions.WithLabelValues("unchanged", "allow").Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != 3 {
		t.Fatalf("decisions{unchanged,allow} = %v, want 3", got)
	}
}

func TestChangedUpdateWithRecordedDigest(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{})
	e.recs.add(webNewDigest, e.team.Hash)
	resp, _ := e.post(t, readTestdata(t, "update-changed-deployment"))
	if !resp.Allowed || e.chk.calls.Load() != 0 {
		t.Fatalf("allowed %v after %d checks; want allowed from the record alone", resp.Allowed, e.chk.calls.Load())
	}
	paths := map[string]string{}
	for name, im := range e.audit.lines(t)[0].Containers {
		paths[name] = im.Path
	}
	if paths["web"] != "recorded" || paths["log-shipper"] != "unchanged" || paths["migrate"] != "unchanged" {
		t.Fatalf("paths %v", paths)
	}
}

func TestDenialNamesImageContainerPolicyReasonAndRemedy(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{})
	e.chk.result, e.chk.reason = verify.ResultDenied, verify.ReasonNoSignature
	resp, _ := e.post(t, readTestdata(t, "create-pod-by-digest"))
	if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusForbidden {
		t.Fatalf("response %+v", resp)
	}
	for _, want := range []string{"registry.example/team/web@" + webDigest, `container "web"`, "ClusterTrustPolicy team", "[NoSignature]", `sign it with the key of authority "release"`} {
		if !strings.Contains(resp.Result.Message, want) {
			t.Errorf("message %q lacks %q", resp.Result.Message, want)
		}
	}
	if l := e.audit.lines(t)[0]; l.Level != "WARN" || l.Decision != "deny" || l.Containers["web"].Path != "denied" || l.Containers["web"].Reason != "NoSignature" {
		t.Fatalf("audit %+v", l)
	}
}

func TestWarnModeAdmitsWithWarnings(t *testing.T) {
	t.Parallel()
	// A more specific cluster policy in warn mode (a tenant's warn-mode
	// policy cannot weaken the cluster floor "team": TestClusterPolicyIsAFloor).
	warn := compiledPolicy(t, "", "soft", func(s *igv1.TrustPolicySpec) { s.Mode = "warn" }, "registry.example/team/web")
	e := newHandlerEnv(t, Options{}, warn)
	e.chk.result, e.chk.reason = verify.ResultDenied, verify.ReasonNoSignature
	resp, _ := e.post(t, reviewOf(t, admissionv1.Create, podGVK, "alice", pod("registry.example/team/web:v1"), nil))
	if !resp.Allowed || len(resp.Warnings) != 1 || !strings.Contains(resp.Warnings[0], "warn mode") || len(resp.Warnings[0]) > maxWarning {
		t.Fatalf("response %+v", resp)
	}
	if im := e.audit.lines(t)[0].Containers["c0"]; im.Decision != "warn" || im.Path != "denied" {
		t.Fatalf("audit image %+v", im)
	}
}

func TestRequestsThatCannotBeJudged(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{})
	svc := reviewOf(t, admissionv1.Create, metav1.GroupVersionKind{Version: "v1", Kind: "Service"}, "alice", &corev1.Service{}, nil)
	resp, _ := e.post(t, svc)
	if resp.Allowed || !strings.Contains(resp.Result.Message, "UnsupportedKind") || !strings.Contains(resp.Result.Message, "Service") {
		t.Fatalf("unknown kind: %+v", resp)
	}
	noObject := reviewOf(t, admissionv1.Create, podGVK, "alice", nil, nil)
	if resp, _ = e.post(t, noObject); resp.Allowed || !strings.Contains(resp.Result.Message, "MalformedObject") {
		t.Fatalf("no object: %+v", resp)
	}
	for _, body := range []string{"", "{", `{"request":{}}`, `{"request":{"object":{"spec":7},"uid":"late"}}`} {
		if _, code := e.post(t, []byte(body)); code != http.StatusBadRequest {
			t.Fatalf("body %q: HTTP %d, want 400", body, code)
		}
	}
	// Once the uid is read, a malformed object gets a denial saying why.
	resp, _ = e.post(t, []byte(`{"request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":7}}}}`))
	if resp == nil || resp.Allowed || !strings.Contains(resp.Result.Message, "MalformedObject") || !strings.Contains(resp.Result.Message, "want an array") {
		t.Fatalf("malformed object: %+v", resp)
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/validate", nil))
	if w.Code != http.StatusMethodNotAllowed {
		t.Fatalf("GET: HTTP %d", w.Code)
	}
}

func TestOnlyTrustedWritersWriteImageVerifications(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{TrustedWriters: []string{"system:serviceaccount:imagegate-system:imagegate"}})
	ivGVK := metav1.GroupVersionKind{Group: "imagegate.dev", Version: "v1alpha1", Kind: "ImageVerification"}
	iv := verifiedRecord(webDigest, e.team.Hash)
	for _, op := range []admissionv1.Operation{admissionv1.Create, admissionv1.Update, admissionv1.Delete} {
		resp, _ := e.post(t, reviewOf(t, op, ivGVK, "mallory", iv, nil))
		if resp.Allowed || !strings.Contains(resp.Result.Message, "UntrustedWriter") || !strings.Contains(resp.Result.Message, `"mallory"`) {
			t.Fatalf("%s by mallory: %+v", op, resp)
		}
		if resp, _ = e.post(t, reviewOf(t, op, ivGVK, "system:serviceaccount:imagegate-system:imagegate", iv, nil)); !resp.Allowed {
			t.Fatalf("%s by the trusted writer: %+v", op, resp)
		}
	}
}

func TestExemptionsAndPodsOnly(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{ExemptNamespaces: []string{"storefront"}, PodsOnly: true})
	e.chk.result = verify.ResultDenied
	if resp, _ := e.post(t, readTestdata(t, "create-pod-by-digest")); !resp.Allowed {
		t.Fatalf("exempt namespace denied: %+v", resp)
	}
	if resp, _ := e.post(t, readTestdata(t, "update-changed-deployment")); !resp.Allowed || e.chk.calls.Load() != 0 {
		t.Fatalf("--pods-only checked a Deployment: %+v", resp)
	}
}

func TestPodsOnlyIgnoresOwnerTemplates(t *testing.T) {
	t.Parallel()
	// With --pods-only a ReplicaSet is admitted unchecked, so its template
	// must not admit its Pods.
	h, err := NewHandler(Deps{Policies: staticPolicies{policy.NewSet([]*policy.Policy{compiledPolicy(t, "", "team", nil, teamPolicyGlob)})},
		Owners:  ownerMap{"ReplicaSet/apps/web": ownerOf("rs", "registry.example/team/web:v1")},
		Records: newRecordMap(), Checker: &scriptedChecker{result: verify.ResultDenied, reason: verify.ReasonNoSignature}},
		Options{PodsOnly: true, Audit: &lockedBuffer{}})
	if err != nil {
		t.Fatal(err)
	}
	p := pod("registry.example/team/web:v1")
	p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "rs", Controller: ptr.To(true)}}
	e := &handlerEnv{h: h}
	if resp, _ := e.post(t, reviewOf(t, admissionv1.Create, podGVK, "alice", p, nil)); resp.Allowed {
		t.Fatalf("a Pod was admitted by the template of an unchecked ReplicaSet: %+v", resp)
	}
}

func TestNewHandlerRefusesBadOptions(t *testing.T) {
	t.Parallel()
	d := Deps{Policies: staticPolicies{}, Records: newRecordMap(), Checker: &scriptedChecker{}}
	for name, o := range map[string]Options{
		"timeout beyond timeoutSeconds": {Timeout: MaxTimeout},
		"bad exempt glob":               {ExemptImages: []string{"a b"}},
	} {
		if _, err := NewHandler(d, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewHandler(Deps{}, Options{}); err == nil {
		t.Error("missing deps accepted")
	}
}
