package verify_test

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// requireAuth answers 401 to any request without robot:pw, as a private
// registry with basic auth does.
func requireAuth() testenv.RegistryOption {
	return testenv.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), []byte("robot:pw")) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
				http.Error(w, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`, http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
}

func keychainFor(t *testing.T, host, password string) registry.Options {
	t.Helper()
	auth := base64.StdEncoding.EncodeToString([]byte("robot:" + password))
	kc, err := registry.KeychainFromDockerConfigJSON(fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, host, auth))
	if err != nil {
		t.Fatal(err)
	}
	return registry.Options{AllowInsecure: true, Keychain: kc}
}

// TestVerifyRegistryFailureReasons: what the registry says while the
// signatures are read, or while the image is probed, becomes the reason
// registry.Classify decides, for real failures.
func TestVerifyRegistryFailureReasons(t *testing.T) {
	t.Parallel()
	closed := testenv.ClosedAddr(t)

	private := testenv.NewRegistry(t, requireAuth())
	privDigest := private.PushImage(t, "app", "v1")

	open := testenv.NewRegistry(t)
	key := testenv.NewCosignKey(t)
	gone := open.PushImage(t, "app", "v1")
	testenv.SignLegacy(t, gone, key)
	open.DeleteManifest(t, gone) // the signature stays, the image goes

	for _, tc := range []struct {
		name   string
		opts   registry.Options
		digest name.Digest
		probe  bool
		result verify.Result
		reason verify.Reason
		says   string
	}{
		{"closed port", registry.Options{AllowInsecure: true}, mustDigest(t, closed+"/app"), false, verify.ResultUnavailable, verify.ReasonUnavailable, "retry later"},
		{"unresolvable host", registry.Options{}, mustDigest(t, "registry.imagegate.invalid/app"), false, verify.ResultUnavailable, verify.ReasonUnavailable, "no such host"},
		{"no credentials", registry.Options{AllowInsecure: true}, privDigest, false, verify.ResultDenied, verify.ReasonCredentialsMissing, "imagegate has none"},
		{"wrong credentials", keychainFor(t, private.Host(), "wrong"), privDigest, false, verify.ResultDenied, verify.ReasonCredentialsRejected, "refused the credentials"},
		{"signed image whose manifest is gone", registry.Options{AllowInsecure: true}, gone, true, verify.ResultDenied, verify.ReasonManifestNotFound, "no manifest with this digest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := registry.New(tc.opts)
			v := verify.New(c)
			out := v.Verify(t.Context(), tc.digest, newPolicy([]policy.Authority{keyAuthority(t, "a", key)}, pullability(tc.probe)))
			if out.Result != tc.result || out.Reason != tc.reason || !strings.Contains(out.Message, tc.says) {
				t.Fatalf("outcome %s %s %q, want %s %s saying %q", out.Result, out.Reason, out.Message, tc.result, tc.reason, tc.says)
			}
		})
	}
}

func mustDigest(t *testing.T, repo string) name.Digest {
	t.Helper()
	d, err := name.NewDigest(repo+"@sha256:"+strings.Repeat("0a", 32), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
