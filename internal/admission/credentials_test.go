package admission

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// Credentials the webhook holds or sees, which must never reach its audit
// log, its error log or its answers.
const (
	pullUser     = "robot"
	pullPassword = "pull-Passw0rd-c4a1"
	envSecret    = "env-Secret-77f3"
	userToken    = "token-Secret-19be"
)

// TestCredentialsNeverReachTheAuditLogOrAnswers runs the webhook with
// registry credentials (a dockerconfigjson, as --pull-secret gives it)
// against a private registry, and one that echoes the Authorization
// header it got into its error, with reviews that carry secrets of their
// own: a Pod's environment, the requester's token in userInfo.extra, a
// Secret routed to the webhook by mistake. Whatever the decision, the
// password, its base64 forms and the other secrets appear nowhere in the
// audit lines, the error log or the answers.
func TestCredentialsNeverReachTheAuditLogOrAnswers(t *testing.T) {
	t.Parallel()
	var armed atomic.Bool // signing during setup goes through unauthenticated
	auth := testenv.NewBasicAuth(pullUser, pullPassword)
	auth.Armed.Store(false)
	private := testenv.NewRegistry(t, auth.Option())
	echoing := testenv.NewRegistry(t, echoAuthorization(&armed))
	key := testenv.NewCosignKey(t)
	signed := private.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, signed, key)
	unsigned := private.PushImage(t, "app", "v2")
	echoed := echoing.PushImage(t, "app", "v1")
	armed.Store(true)
	auth.Armed.Store(true)

	config := auth.DockerConfigJSON(private.Host(), echoing.Host())
	kc, err := registry.KeychainFromDockerConfigJSON(config)
	if err != nil {
		t.Fatal(err)
	}
	regc := registry.New(registry.Options{AllowInsecure: true, Keychain: kc})
	checker := cache.NewChecker(regc, verify.New(regc), cache.CheckerOptions{})
	var audit, errLog lockedBuffer
	h, err := NewHandler(Deps{
		Policies: staticPolicies{policy.NewSet([]*policy.Policy{
			keyPolicy(t, "private", private.Host(), key), keyPolicy(t, "echoing", echoing.Host(), key)})},
		Records: newRecordMap(), Checker: checker, Recorder: &countingRecorder{},
	}, Options{Audit: &audit, Log: slog.New(slog.NewTextHandler(&errLog, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}

	secretPod := func(image string) *corev1.Pod {
		p := pod(image)
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "PASSWORD", Value: envSecret}}
		p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
		return p
	}
	pullSecret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: "regcred"}, Type: corev1.SecretTypeDockerConfigJson,
		Data: map[string][]byte{corev1.DockerConfigJsonKey: config}}
	var answers bytes.Buffer
	for _, tc := range []struct {
		name    string
		kind    metav1.GroupVersionKind
		obj     runtime.Object
		allowed bool
		reason  verify.Reason
	}{
		{"signed image from the private registry", podGVK, secretPod(signed.String()), true, verify.ReasonVerified},
		{"unsigned image from the private registry", podGVK, secretPod(unsigned.String()), false, verify.ReasonNoSignature},
		{"registry that refuses (and echoes) the credentials", podGVK, secretPod(echoed.String()), false, verify.ReasonCredentialsRejected},
		{"a Secret routed to the webhook", metav1.GroupVersionKind{Version: "v1", Kind: "Secret"}, pullSecret, false, verify.ReasonUnsupportedKind},
	} {
		resp, raw := postWithToken(t, h, tc.kind, tc.obj)
		answers.Write(raw)
		if resp.Allowed != tc.allowed || !strings.Contains(lastAuditLine(&audit), `"reason":"`+string(tc.reason)+`"`) {
			t.Fatalf("%s: allowed = %v, audit %s; want allowed = %v and %s", tc.name, resp.Allowed, lastAuditLine(&audit), tc.allowed, tc.reason)
		}
	}

	basic := base64.StdEncoding.EncodeToString([]byte(pullUser + ":" + pullPassword))
	for what, out := range map[string]string{"audit log": audit.String(), "error log": errLog.String(), "answers": answers.String()} {
		for secret, value := range map[string]string{
			"the registry password": pullPassword, "the basic auth header": basic,
			"the dockerconfigjson": base64.StdEncoding.EncodeToString(config), "the Pod's env value": envSecret, "the requester's token": userToken,
		} {
			if strings.Contains(out, value) {
				t.Errorf("the %s holds %s:\n%s", what, secret, out)
			}
		}
	}
	if !strings.Contains(answers.String(), "to admit it: renew the pull secret") {
		t.Fatalf("the refusal of the credentials is not named with what to do:\n%s", answers.String())
	}
	if !strings.Contains(answers.String(), "credentials refused: Basic [redacted]") {
		t.Fatalf("the echoing registry's refusal is not in the answer, redacted; the test did not reach it:\n%s", answers.String())
	}
}

// echoAuthorization refuses every GET once armed, quoting the
// Authorization header it got in its error, as a careless proxy might.
func echoAuthorization(armed *atomic.Bool) testenv.RegistryOption {
	return testenv.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !armed.Load() || r.Method != http.MethodGet {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="echo"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			msg, _ := json.Marshal("credentials refused: " + r.Header.Get("Authorization"))
			_, _ = fmt.Fprintf(w, `{"errors":[{"code":"UNAUTHORIZED","message":%s}]}`, msg)
		})
	})
}

// keyPolicy is a ClusterTrustPolicy trusting key for every image of host.
func keyPolicy(t *testing.T, name, host string, key *testenv.CosignKey) *policy.Policy {
	t.Helper()
	spec := testenv.KeyPolicySpec(host+"/**", key.PublicPEM)
	p, err := policy.Compile(context.Background(), policy.Ref{Kind: "ClusterTrustPolicy", Name: name}, &spec, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// postWithToken sends a CREATE review of obj by a user whose token is in
// userInfo.extra, and returns the answer and its raw bytes.
func postWithToken(t *testing.T, h *Handler, kind metav1.GroupVersionKind, obj runtime.Object) (*admissionv1.AdmissionResponse, []byte) {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	rv := admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "uid-secret", Kind: kind, Operation: admissionv1.Create, Namespace: "apps", Name: "x",
			Object: runtime.RawExtension{Raw: raw},
			UserInfo: authenticationv1.UserInfo{Username: "alice", Extra: map[string]authenticationv1.ExtraValue{
				"authentication.kubernetes.io/credential-id": {userToken}}}},
	}
	body, err := json.Marshal(rv)
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodPost, DefaultPath, bytes.NewReader(body)))
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("answer (HTTP %d) is not an AdmissionReview: %v\n%s", w.Code, err, w.Body)
	}
	return out.Response, w.Body.Bytes()
}

// String returns everything written so far.
func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func lastAuditLine(b *lockedBuffer) string {
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	return lines[len(lines)-1]
}
