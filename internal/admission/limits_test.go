package admission

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// namedPod is a Pod whose containers are named c0, c1, ... (audit lines
// key verdicts by container name).
func namedPod(images ...string) *corev1.Pod {
	p := pod()
	for i, im := range images {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: fmt.Sprintf("c%d", i), Image: im})
	}
	return p
}

// countingChecker counts the checks that reach a real checker.
type countingChecker struct {
	next  ImageChecker
	calls atomic.Int64
}

func (c *countingChecker) CheckImage(ctx context.Context, image string, img policy.Image, p *policy.Policy) cache.Decision {
	c.calls.Add(1)
	return c.next.CheckImage(ctx, image, img, p)
}

func (c *countingChecker) TagNamesDigest(ctx context.Context, img policy.Image) bool {
	return c.next.TagNamesDigest(ctx, img)
}

// A Pod of 20,000 image strings, every one naming an image of a live
// registry under a policy, is denied by the cap before any image is
// parsed: zero checks, zero record lookups, zero registry requests, and a
// message naming the Pod, the count and the cap. Its time is
// BenchmarkHugePodDeniedByTheImageCap.
func TestPodOverTheImageCapIsDeniedWithNoImageChecked(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	key := testenv.NewCosignKey(t)
	client := registry.New(registry.Options{AllowInsecure: true})
	chk := &countingChecker{next: cache.NewChecker(client, verify.New(client), cache.CheckerOptions{})}
	recs, audit := newRecordMap(), &lockedBuffer{}
	h, err := NewHandler(Deps{Policies: staticPolicies{policy.NewSet([]*policy.Policy{keyPolicy(t, "registry", reg.Host(), key)})},
		Records: recs, Checker: chk}, Options{Audit: audit})
	if err != nil {
		t.Fatal(err)
	}
	images := make([]string, 20000)
	for i := range images {
		images[i] = fmt.Sprintf("%s/app%d:v1", reg.Host(), i)
	}
	resp, code := post(t, h, reviewOf(t, admissionv1.Create, podGVK, "alice", namedPod(images...), nil))
	if resp == nil {
		t.Fatalf("HTTP %d for a 20,000-image Pod", code)
	}
	want := fmt.Sprintf(`[TooManyImages] Pod "x" names 20000 images, more than %d of them distinct`, DefaultMaxImagesPerObject)
	if resp.Allowed || !strings.HasPrefix(resp.Result.Message, want) {
		t.Fatalf("allowed = %v, message %q; want a denial starting %q", resp.Allowed, resp.Result.Message, want)
	}
	if n, lookups, sent := chk.calls.Load(), recs.lookups.Load(), len(reg.Requests()); n != 0 || lookups != 0 || sent != 0 || client.Requests() != 0 {
		t.Fatalf("%d checks, %d record lookups, %d registry requests (%d sent); want none", n, lookups, sent, client.Requests())
	}
	lines := audit.lines(t)
	if len(lines) != 1 || lines[0].Reason != string(verify.ReasonTooManyImages) || lines[0].Decision != "deny" || len(lines[0].Containers) != 0 {
		t.Fatalf("audit: %+v; want one denial with reason TooManyImages and no container listed", lines)
	}
}

// The cap counts distinct references across every container list (init
// and ephemeral containers included): repeats of one image are free, and
// exactly the cap is still judged.
func TestImageCapCountsDistinctImagesOfEveryList(t *testing.T) {
	t.Parallel()
	const maxImages = 4
	distinct := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("registry.example/team/app%d:v1", i)
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		pod     *corev1.Pod
		allowed bool
		checks  int64
	}{
		{"300 containers of one image", namedPod(slices.Repeat([]string{"registry.example/team/web:v1"}, 300)...), true, 1},
		{"cap distinct images", namedPod(distinct(maxImages)...), true, maxImages},
		{"one more than the cap", namedPod(distinct(maxImages + 1)...), false, 0},
		{"over the cap with init and ephemeral containers", func() *corev1.Pod {
			p := namedPod(distinct(2)...)
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "registry.example/team/init:v1"}}
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{
				{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug1", Image: "registry.example/team/debug1:v1"}},
				{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug2", Image: "registry.example/team/debug2:v1"}},
			}
			return p
		}(), false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newHandlerEnv(t, Options{MaxImagesPerObject: maxImages})
			resp, _ := e.post(t, reviewOf(t, admissionv1.Create, podGVK, "alice", tc.pod, nil))
			if resp.Allowed != tc.allowed || e.chk.calls.Load() != tc.checks {
				t.Fatalf("allowed = %v after %d checks, want %v after %d: %s", resp.Allowed, e.chk.calls.Load(), tc.allowed, tc.checks, resp.Result.Message)
			}
			if !tc.allowed && !strings.Contains(resp.Result.Message, fmt.Sprintf("at most %d distinct images per object", maxImages)) {
				t.Fatalf("denial does not name the cap: %s", resp.Result.Message)
			}
		})
	}
}

// Containers naming the same reference share one judgement: three
// containers of web and one of api are two checks, and the audit line
// still gives each of the four containers its verdict under its own name.
func TestRepeatedImagesAreJudgedOnce(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{})
	web, api := "registry.example/team/web:v1", "registry.example/team/api:v1"
	resp, _ := e.post(t, reviewOf(t, admissionv1.Create, podGVK, "alice", namedPod(web, api, web, web), nil))
	if !resp.Allowed || e.chk.calls.Load() != 2 {
		t.Fatalf("allowed = %v after %d checks; want allowed after 2", resp.Allowed, e.chk.calls.Load())
	}
	lines := e.audit.lines(t)
	if len(lines) != 1 || len(lines[0].Containers) != 4 {
		t.Fatalf("audit: %+v; want one line listing 4 containers", lines)
	}
	for name, want := range map[string]string{"c0": web, "c1": api, "c2": web, "c3": web} {
		if c := lines[0].Containers[name]; c.Image != want || c.Path != string(PathVerified) || c.Decision != "allow" {
			t.Errorf("container %s: %+v, want %s verified", name, c, want)
		}
	}
}

// cancellingChecker ends the request's context during its first check,
// as a deadline passing mid-request would.
type cancellingChecker struct {
	scriptedChecker
	cancel context.CancelFunc
}

func (c *cancellingChecker) CheckImage(ctx context.Context, image string, img policy.Image, p *policy.Policy) cache.Decision {
	c.cancel()
	return c.scriptedChecker.CheckImage(ctx, image, img, p)
}

// Once the request's context has ended, the images not yet judged are
// denied as Unavailable without being checked: one check for a Pod of
// three images whose deadline passed during the first.
func TestImagesAfterTheDeadlineAreNotChecked(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	chk := &cancellingChecker{scriptedChecker: scriptedChecker{result: verify.ResultVerified, reason: verify.ReasonVerified}, cancel: cancel}
	audit := &lockedBuffer{}
	team := compiledPolicy(t, "", "team", nil, teamPolicyGlob)
	h, err := NewHandler(Deps{Policies: staticPolicies{policy.NewSet([]*policy.Policy{team})}, Records: newRecordMap(), Checker: chk},
		Options{Audit: audit})
	if err != nil {
		t.Fatal(err)
	}
	body := reviewOf(t, admissionv1.Create, podGVK, "alice", namedPod(
		"registry.example/team/a:v1", "registry.example/team/b:v1", "registry.example/team/c:v1"), nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequestWithContext(ctx, http.MethodPost, "/validate", bytes.NewReader(body)))
	if chk.calls.Load() != 1 {
		t.Fatalf("%d checks, want 1: the images after the deadline were checked", chk.calls.Load())
	}
	lines := audit.lines(t)
	if len(lines) != 1 || lines[0].Decision != "deny" {
		t.Fatalf("audit: %+v; want one denial", lines)
	}
	for name, want := range map[string]string{"c0": string(verify.ReasonVerified), "c1": string(verify.ReasonUnavailable), "c2": string(verify.ReasonUnavailable)} {
		if c := lines[0].Containers[name]; c.Reason != want {
			t.Errorf("container %s: reason %s, want %s", name, c.Reason, want)
		}
	}
	if !strings.Contains(w.Body.String(), "deadline passed before this image was judged") {
		t.Fatalf("denial does not say why: %s", w.Body)
	}
}

func TestNegativeImageCapIsRefused(t *testing.T) {
	t.Parallel()
	_, err := NewHandler(Deps{Policies: staticPolicies{}, Records: newRecordMap(), Checker: &scriptedChecker{}}, Options{MaxImagesPerObject: -1})
	if err == nil || !strings.Contains(err.Error(), "max images per object -1") {
		t.Fatalf("err = %v", err)
	}
}

// post sends body to h and decodes the answer.
func post(t *testing.T, h *Handler, body []byte) (*admissionv1.AdmissionResponse, int) {
	t.Helper()
	return (&handlerEnv{h: h}).post(t, body)
}

// An oldObject over the cap (sent straight to the webhook port, or stored
// before imagegate ran) lends no "unchanged" approval: its images are not
// parsed, and the object's own image is judged on its own.
func TestOldObjectOverTheCapApprovesNothing(t *testing.T) {
	t.Parallel()
	const maxImages = 4
	web := "registry.example/team/web:v1"
	old := namedPod(web, "registry.example/team/a:v1", "registry.example/team/b:v1", "registry.example/team/c:v1", "registry.example/team/d:v1")
	e := newHandlerEnv(t, Options{MaxImagesPerObject: maxImages})
	e.chk.result, e.chk.reason = verify.ResultDenied, verify.ReasonNoSignature
	resp, _ := e.post(t, reviewOf(t, admissionv1.Update, podGVK, "alice", namedPod(web), old))
	if resp.Allowed || e.chk.calls.Load() != 1 {
		t.Fatalf("allowed = %v after %d checks; want the unsigned image checked and denied", resp.Allowed, e.chk.calls.Load())
	}
	// Within the cap, the same update is unchanged.
	e = newHandlerEnv(t, Options{MaxImagesPerObject: maxImages + 1})
	resp, _ = e.post(t, reviewOf(t, admissionv1.Update, podGVK, "alice", namedPod(web), old))
	if !resp.Allowed || e.chk.calls.Load() != 0 {
		t.Fatalf("within the cap: allowed = %v after %d checks; want unchanged", resp.Allowed, e.chk.calls.Load())
	}
}

// Exempt namespaces are admitted unchecked whatever they name.
func TestExemptNamespaceIsNotCapped(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{MaxImagesPerObject: 1, ExemptNamespaces: []string{"apps"}})
	resp, _ := e.post(t, reviewOf(t, admissionv1.Create, podGVK, "alice",
		namedPod("registry.example/team/a:v1", "registry.example/team/b:v1"), nil))
	if !resp.Allowed || e.chk.calls.Load() != 0 {
		t.Fatalf("allowed = %v after %d checks; want admitted as exempt", resp.Allowed, e.chk.calls.Load())
	}
}
