package registry_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

func TestResolveDigestSendsNothing(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	d := reg.PushImage(t, "app", "v1")
	c := newClient(t, insecure())

	for _, s := range []string{d.String(), reg.Repo("app") + ":v1@" + d.DigestStr()} {
		got, err := c.Resolve(t.Context(), parse(t, c, s))
		if err != nil {
			t.Fatalf("resolve %s: %v", s, err)
		}
		if got.DigestStr() != d.DigestStr() {
			t.Fatalf("resolve %s = %s, want %s", s, got.DigestStr(), d.DigestStr())
		}
	}
	wantRequests(t, reg)
	if n := c.Requests(); n != 0 {
		t.Fatalf("client sent %d requests, want 0", n)
	}
}

func TestResolveTagPingsOncePerRepository(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	d1 := reg.PushImage(t, "app", "v1")
	d2 := reg.PushImage(t, "app", "v2")
	c := newClient(t, insecure())

	got, err := c.Resolve(t.Context(), parse(t, c, reg.Repo("app")+":v1"))
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != d1.String() {
		t.Fatalf("resolve v1 = %s, want %s", got, d1)
	}
	wantRequests(t, reg, "GET /v2/", "HEAD /v2/app/manifests/v1")

	reg.ResetRequests()
	if _, err := c.Resolve(t.Context(), parse(t, c, reg.Repo("app")+":v1")); err != nil {
		t.Fatal(err)
	}
	got, err = c.Resolve(t.Context(), parse(t, c, reg.Repo("app")+":v2"))
	if err != nil || got.DigestStr() != d2.DigestStr() {
		t.Fatalf("resolve v2 = %v, %v; want %s", got, err, d2)
	}
	wantRequests(t, reg, "HEAD /v2/app/manifests/v1", "HEAD /v2/app/manifests/v2")

	// Verifiers reuse the same authenticated fetcher through RemoteOptions.
	reg.ResetRequests()
	if _, err := remote.Get(d1, c.RemoteOptions(t.Context())...); err != nil {
		t.Fatalf("get through RemoteOptions: %v", err)
	}
	wantRequests(t, reg, "GET /v2/app/manifests/"+d1.DigestStr())
}

func TestResolveRepointedTag(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	reg.PushImage(t, "app", "v1")
	moved := reg.PushImage(t, "app", "v2")
	c := newClient(t, insecure())
	ref := parse(t, c, reg.Repo("app")+":v1")
	if _, err := c.Resolve(t.Context(), ref); err != nil {
		t.Fatal(err)
	}

	reg.Tag(t, moved, "v1")
	got, err := c.Resolve(t.Context(), ref)
	if err != nil || got.DigestStr() != moved.DigestStr() {
		t.Fatalf("resolve after re-point = %v, %v; want %s (no caching of tags)", got, err, moved)
	}
}

func TestResolveUnknownTag(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	reg.PushImage(t, "app", "v1")
	c := newClient(t, insecure())

	for _, s := range []string{reg.Repo("app") + ":nope", reg.Repo("missing") + ":v1"} {
		_, err := c.Resolve(t.Context(), parse(t, c, s))
		wantErr(t, err, registry.ErrTagNotFound, false)
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error %q does not name %s", err, s)
		}
	}
}

func TestResolveFallsBackToGetWhenHeadIsUnusable(t *testing.T) {
	t.Parallel()
	noDigest := func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.oci.image.index.v1+json")
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(http.StatusOK)
	}
	for name, h := range map[string]http.HandlerFunc{
		"HEAD not allowed":      status(http.StatusMethodNotAllowed, ""),
		"HEAD without a digest": noDigest,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			reg := testenv.NewRegistry(t, on(is(http.MethodHead, "manifests"), h))
			d, _ := reg.PushIndex(t, "app", "v1")
			c := newClient(t, insecure())

			got, err := c.Resolve(t.Context(), parse(t, c, reg.Repo("app")+":v1"))
			if err != nil || got.DigestStr() != d.DigestStr() {
				t.Fatalf("resolve = %v, %v; want the index digest %s", got, err, d)
			}
			wantRequests(t, reg, "GET /v2/", "HEAD /v2/app/manifests/v1", "GET /v2/app/manifests/v1")
		})
	}
}

func TestInsecureRefusedUnlessAllowed(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t)
	d := reg.PushImage(t, "app", "v1")
	c := newClient(t, registry.Options{})

	// Without name.Insecure ggcr would still fall back to HTTP for a
	// loopback address; the client must not.
	ref := parse(t, c, reg.Repo("app")+":v1")
	_, err := c.Resolve(t.Context(), ref)
	wantErr(t, err, registry.ErrInsecureNotAllowed, false)
	dig, err := name.NewDigest(d.String())
	if err != nil {
		t.Fatal(err)
	}
	wantErr(t, c.Probe(t.Context(), dig, nil), registry.ErrInsecureNotAllowed, false)
	wantRequests(t, reg) // the HTTPS attempts never reached the handler
}

func TestParseReference(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want, scheme string
		allow            bool
	}{
		{in: "nginx", want: "index.docker.io/library/nginx:latest", scheme: "https"},
		{in: "ghcr.io/org/app:v1", want: "ghcr.io/org/app:v1", scheme: "https"},
		{in: "registry.example:5000/app:v1", want: "registry.example:5000/app:v1", scheme: "https"},
		{in: "registry.example:5000/app:v1", want: "registry.example:5000/app:v1", scheme: "http", allow: true},
	}
	for _, tt := range tests {
		c := registry.New(registry.Options{AllowInsecure: tt.allow})
		ref := parse(t, c, tt.in)
		if ref.Name() != tt.want || ref.Context().Scheme() != tt.scheme {
			t.Errorf("ParseReference(%q) allow=%v = %s (%s), want %s (%s)",
				tt.in, tt.allow, ref.Name(), ref.Context().Scheme(), tt.want, tt.scheme)
		}
	}
	if _, err := registry.New(registry.Options{}).ParseReference("UPPER/Case:bad tag"); err == nil {
		t.Fatal("ParseReference accepted an invalid reference")
	}
}
