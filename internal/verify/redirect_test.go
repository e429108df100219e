package verify_test

import (
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// TestSignatureRedirectedToAnotherHost has a private registry send every
// blob to another host, as registries do with their storage or CDN. That
// host never gets the registry's credentials, and what it serves is
// checked against the digest the signature manifest names: the right
// bytes verify, other bytes are an unusable signature, never a verified
// one.
func TestSignatureRedirectedToAnotherHost(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		tamper bool
		result verify.Result
		reason verify.Reason
	}{
		{"the other host serves the signature", false, verify.ResultVerified, verify.ReasonVerified},
		{"the other host serves other bytes", true, verify.ResultDenied, verify.ReasonNoMatchingSignature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const user, password = "robot", "redirect-Passw0rd-5e0"
			cdn := &blobHost{}
			cdnSrv := httptest.NewServer(cdn)
			t.Cleanup(cdnSrv.Close)
			var armed atomic.Bool
			reg := testenv.NewRegistry(t, testenv.WithMiddleware(func(next http.Handler) http.Handler {
				return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					u, p, ok := r.BasicAuth()
					switch {
					case !armed.Load():
						next.ServeHTTP(w, r)
					case !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), []byte(user+":"+password)) != 1:
						w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
						http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
					case strings.Contains(r.URL.Path, "/blobs/"):
						http.Redirect(w, r, cdnSrv.URL+r.URL.Path, http.StatusTemporaryRedirect)
					default:
						next.ServeHTTP(w, r)
					}
				})
			}))
			key := testenv.NewCosignKey(t)
			d := reg.PushImage(t, "app", "v1")
			testenv.SignLegacy(t, d, key)
			cdn.load(t, reg, d.Context().RepositoryStr(), tc.tamper)
			armed.Store(true)

			auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
			kc, err := registry.KeychainFromDockerConfigJSON(fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, reg.Host(), auth))
			if err != nil {
				t.Fatal(err)
			}
			v := verify.New(registry.New(registry.Options{AllowInsecure: true, Keychain: kc}))
			out := v.Verify(t.Context(), d, newPolicy([]policy.Authority{keyAuthority(t, "a", key)}))
			wantOutcome(t, out, tc.result, tc.reason)
			t.Logf("outcome: %s", out.Message)
			if cdn.served.Load() == 0 {
				t.Fatal("no blob was fetched from the other host")
			}
			if a := cdn.authorization(); a != "" {
				t.Fatalf("the other host got the registry's credentials: Authorization %q", a)
			}
		})
	}
}

// blobHost serves the signature payloads of one repository under their
// /v2/<repo>/blobs/<digest> paths, as a registry's storage host would, and
// remembers any Authorization header it is sent.
type blobHost struct {
	mu     sync.Mutex
	blobs  map[string][]byte
	auth   string
	served atomic.Int64
}

// load copies the payload blobs of the repository's signatures (the
// .sig manifests' layers), or other bytes of the same length when tamper.
func (h *blobHost) load(t *testing.T, reg *testenv.Registry, repo string, tamper bool) {
	t.Helper()
	tags, err := remote.List(mustRepo(t, reg, repo), reg.SetupOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	h.blobs = map[string][]byte{}
	for _, tag := range tags {
		if !strings.HasSuffix(tag, ".sig") {
			continue
		}
		img, err := remote.Image(mustRepo(t, reg, repo).Tag(tag), reg.SetupOptions(t)...)
		if err != nil {
			t.Fatal(err)
		}
		layers, err := img.Layers()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range layers {
			dg, err := l.Digest()
			if err != nil {
				t.Fatal(err)
			}
			rc, err := l.Compressed()
			if err != nil {
				t.Fatal(err)
			}
			b, err := io.ReadAll(rc)
			_ = rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			if tamper {
				b = []byte(strings.Repeat("x", len(b)))
			}
			h.blobs["/v2/"+repo+"/blobs/"+dg.String()] = b
		}
	}
	if len(h.blobs) == 0 {
		t.Fatal("no signature payload to serve")
	}
}

func (h *blobHost) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	if a := r.Header.Get("Authorization"); a != "" {
		h.auth = a
	}
	b, ok := h.blobs[r.URL.Path]
	h.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	h.served.Add(1)
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	_, _ = w.Write(b)
}

func (h *blobHost) authorization() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.auth
}

func mustRepo(t *testing.T, reg *testenv.Registry, repo string) name.Repository {
	t.Helper()
	r, err := name.NewRepository(reg.Repo(repo), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
