package registry_test

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

// tlsServer is an HTTPS server whose handshake is all that is tried; the
// returned transport trusts its certificate (for 127.0.0.1 and
// example.com only).
func tlsServer(t *testing.T) (*httptest.Server, *http.Transport) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	tr := srv.Client().Transport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return srv, tr
}

// classifyCase is one real failure: how to make it, and what Classify must
// say about the error of Resolve (a tag) and of Probe (a digest).
type classifyCase struct {
	name string
	// setup returns the client and the reference to resolve or probe.
	setup func(t *testing.T) (*registry.Client, string)
	want  registry.Failure
	// cause is in the error of Resolve: the failure is the one meant.
	cause string
}

// TestClassifyRealFailures makes each failure happen for real, against
// loopback servers and a name under .invalid (RFC 2606: never resolves),
// and checks what the one classifier says, for Resolve, for Probe, and
// for go-containerregistry calls made with RemoteOptions (cosign's path).
func TestClassifyRealFailures(t *testing.T) {
	t.Parallel()
	const robot, password = "robot", "s3cret"
	withAuth := func(t *testing.T) *testenv.Registry {
		reg := testenv.NewRegistry(t, basicAuth(robot, password))
		reg.PushImage(t, "app", "v1")
		return reg
	}
	statusReg := func(code int) func(t *testing.T) (*registry.Client, string) {
		return func(t *testing.T) (*registry.Client, string) {
			reg := testenv.NewRegistry(t, on(func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/app/") },
				status(code, `{"errors":[{"code":"X","message":"from the fixture"}]}`)))
			return newClient(t, insecure()), reg.Repo("app")
		}
	}
	cases := []classifyCase{
		{"connection refused", func(t *testing.T) (*registry.Client, string) {
			return newClient(t, insecure()), testenv.ClosedAddr(t) + "/app"
		}, registry.FailureUnavailable, "connect: connection refused"},
		{"connection refused, plain HTTP not allowed", func(t *testing.T) (*registry.Client, string) {
			// ggcr tries HTTPS (refused) and HTTP (never sent): the
			// registry is unreachable, not insecure.
			return newClient(t, registry.Options{}), testenv.ClosedAddr(t) + "/app"
		}, registry.FailureUnavailable, "connect: connection refused"},
		{"unresolvable host", func(t *testing.T) (*registry.Client, string) {
			return newClient(t, registry.Options{}), "registry.imagegate.invalid/app"
		}, registry.FailureUnavailable, "no such host"},
		{"certificate not trusted", func(t *testing.T) (*registry.Client, string) {
			srv, _ := tlsServer(t)
			return newClient(t, registry.Options{}), srv.Listener.Addr().String() + "/app"
		}, registry.FailureUnavailable, "certificate signed by unknown authority"},
		{"certificate for another name", func(t *testing.T) (*registry.Client, string) {
			srv, tr := tlsServer(t)
			_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
			return newClient(t, registry.Options{Transport: tr}), "localhost:" + port + "/app"
		}, registry.FailureUnavailable, "not localhost"},
		{"plain HTTP registry, plain HTTP not allowed", func(t *testing.T) (*registry.Client, string) {
			reg := testenv.NewRegistry(t)
			return newClient(t, registry.Options{}), reg.Repo("app")
		}, registry.FailureRefused, "server gave HTTP response to HTTPS client"},
		{"500", statusReg(http.StatusInternalServerError), registry.FailureUnavailable, "500 Internal Server Error"},
		{"503", statusReg(http.StatusServiceUnavailable), registry.FailureUnavailable, "503 Service Unavailable"},
		{"429", statusReg(http.StatusTooManyRequests), registry.FailureUnavailable, "429 Too Many Requests"},
		{"403 without credentials", statusReg(http.StatusForbidden), registry.FailureCredentialsMissing, "403 Forbidden"},
		{"401 without credentials", func(t *testing.T) (*registry.Client, string) {
			return newClient(t, insecure()), withAuth(t).Repo("app")
		}, registry.FailureCredentialsMissing, "401 Unauthorized"},
		{"401 with wrong credentials", func(t *testing.T) (*registry.Client, string) {
			reg := withAuth(t)
			kc := mustKeychain(t, dockerConfig(reg.Host(), robot, "wrong"))
			return newClient(t, registry.Options{AllowInsecure: true, Keychain: kc}), reg.Repo("app")
		}, registry.FailureCredentialsRejected, "401 Unauthorized"},
		{"403 with credentials", func(t *testing.T) (*registry.Client, string) {
			// The credentials are good for the registry, not for the
			// repository.
			reg := testenv.NewRegistry(t, basicAuth(robot, password), on(func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/app/") },
				status(http.StatusForbidden, `{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}`)))
			kc := mustKeychain(t, dockerConfig(reg.Host(), robot, password))
			return newClient(t, registry.Options{AllowInsecure: true, Keychain: kc}), reg.Repo("app")
		}, registry.FailureCredentialsRejected, "403 Forbidden"},
		{"credentials for another repository only", func(t *testing.T) (*registry.Client, string) {
			reg := withAuth(t)
			kc := mustKeychain(t, dockerConfig(reg.Host()+"/other", robot, password))
			return newClient(t, registry.Options{AllowInsecure: true, Keychain: kc}), reg.Repo("app")
		}, registry.FailureCredentialsMissing, "401 Unauthorized"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, repo := tc.setup(t)
			const digest = "@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
			_, rerr := c.Resolve(t.Context(), parse(t, c, repo+":v1"))
			d, err := name.NewDigest(repo+digest, name.Insecure)
			if err != nil {
				t.Fatal(err)
			}
			if rerr == nil || !strings.Contains(rerr.Error(), tc.cause) {
				t.Fatalf("resolve: %v, want an error saying %q", rerr, tc.cause)
			}
			perr := c.Probe(t.Context(), d, nil)
			_, gerr := remote.Get(d, c.RemoteOptions(t.Context())...)
			for what, err := range map[string]error{"resolve": rerr, "probe": perr, "remote.Get": gerr} {
				if got := registry.Classify(err); got != tc.want {
					t.Errorf("%s: Classify(%v) = %q, want %q", what, err, got, tc.want)
				}
				if registry.IsTransient(err) != (tc.want == registry.FailureUnavailable) {
					t.Errorf("%s: IsTransient(%v) = %v", what, err, registry.IsTransient(err))
				}
			}
		})
	}
}

// TestClassifyNotFound tells a missing tag, a missing manifest and a
// missing blob apart, on every path.
func TestClassifyNotFound(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	d := reg.PushImage(t, "app", "v1")
	c := newClient(t, insecure())
	missing, err := name.NewDigest(reg.Repo("app")+"@sha256:"+strings.Repeat("ab", 32), name.Insecure)
	if err != nil {
		t.Fatal(err)
	}

	_, err = c.Resolve(t.Context(), parse(t, c, reg.Repo("app")+":nope"))
	wantFailure(t, "resolving a missing tag", err, registry.FailureTagNotFound)
	wantErr(t, err, registry.ErrTagNotFound, false)
	_, err = remote.Head(parse(t, c, reg.Repo("app")+":nope"), c.RemoteOptions(t.Context())...)
	wantFailure(t, "HEAD of a missing tag through RemoteOptions", err, registry.FailureTagNotFound)

	wantFailure(t, "probing a missing digest", c.Probe(t.Context(), missing, nil), registry.FailureManifestNotFound)
	_, err = remote.Get(missing, c.RemoteOptions(t.Context())...)
	wantFailure(t, "GET of a missing digest through RemoteOptions", err, registry.FailureManifestNotFound)

	cfg, _ := imageParts(t, d)
	reg.DeleteBlob(t, "app", cfg)
	wantFailure(t, "probing an image whose config blob is gone", c.Probe(t.Context(), d, nil), registry.FailureRefused)
}

// TestClassifySlowServer gives a registry that never answers a client
// with a tiny timeout: the request is made once, and the failure is
// Unavailable. It counts the requests served instead of timing them.
func TestClassifySlowServer(t *testing.T) {
	t.Parallel()
	var served atomic.Int32
	reg := testenv.NewRegistry(t, on(is(http.MethodHead, "manifests"), func(_ http.ResponseWriter, r *http.Request) {
		served.Add(1)
		<-r.Context().Done()
	}))
	reg.PushImage(t, "app", "v1")
	c := newClient(t, registry.Options{AllowInsecure: true, RequestTimeout: 50 * time.Millisecond})

	// The caller's context never ends: only the request timeout does.
	_, err := c.Resolve(context.WithoutCancel(t.Context()), parse(t, c, reg.Repo("app")+":v1"))
	wantFailure(t, "resolving against a registry that never answers", err, registry.FailureUnavailable)
	if n := served.Load(); n != 1 {
		t.Fatalf("the stalled HEAD was served %d times, want exactly 1 (no retries inside the client)", n)
	}
}

func TestClassifyCancelledAndUnknown(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	c := newClient(t, insecure())
	_, err := c.Resolve(ctx, parse(t, c, testenv.ClosedAddr(t)+"/app:v1"))
	wantFailure(t, "resolving with a cancelled context", err, registry.FailureCanceled)
	wantFailure(t, "no error", nil, registry.FailureNone)
	wantFailure(t, "an error no registry made", context.Cause(ctx), registry.FailureCanceled)
	wantFailure(t, "412", &registry.PullError{Status: http.StatusPreconditionFailed}, registry.FailureRefused)
}

func wantFailure(t *testing.T, what string, err error, want registry.Failure) {
	t.Helper()
	if got := registry.Classify(err); got != want {
		t.Fatalf("%s: Classify(%v) = %q, want %q", what, err, got, want)
	}
}
