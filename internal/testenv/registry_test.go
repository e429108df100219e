package testenv

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// regClientOptions are what a client under test would use against the fixture:
// its own transport, closed when the test ends.
func regClientOptions(t *testing.T) []remote.Option {
	t.Helper()
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	// No ggcr retries: fault tests would wait through its backoff.
	return []remote.Option{remote.WithContext(t.Context()), remote.WithTransport(tr), remote.WithRetryBackoff(remote.Backoff{Steps: 1})}
}

func regRef(t *testing.T, s string) name.Reference {
	t.Helper()
	ref, err := name.ParseReference(s, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	return ref
}

func TestRegistryPushImageResolves(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t)
	d := reg.PushImage(t, "app", "v1")
	if got := reg.Requests(); len(got) != 0 {
		t.Fatalf("fixture's own requests were recorded: %v", got)
	}

	desc, err := remote.Head(regRef(t, reg.Repo("app")+":v1"), regClientOptions(t)...)
	if err != nil {
		t.Fatalf("head app:v1: %v", err)
	}
	if desc.Digest.String() != d.DigestStr() {
		t.Fatalf("tag resolves to %s, PushImage returned %s", desc.Digest, d.DigestStr())
	}
	img, err := remote.Image(d, regClientOptions(t)...)
	if err != nil {
		t.Fatalf("pull %s: %v", d, err)
	}
	if layers, err := img.Layers(); err != nil || len(layers) != 2 {
		t.Fatalf("image has %d layers (err %v), want 2", len(layers), err)
	}
	want := []string{"GET /v2/", "HEAD /v2/app/manifests/v1", "GET /v2/", "GET /v2/app/manifests/" + d.DigestStr()}
	if got := reg.Requests(); !slices.Equal(got, want) {
		t.Fatalf("requests = %v, want %v", got, want)
	}
	reg.ResetRequests()
	if got := reg.Requests(); len(got) != 0 {
		t.Fatalf("after ResetRequests: %v", got)
	}
}

func TestRegistryPushIndexPlatforms(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t)
	idxDigest, children := reg.PushIndex(t, reg.Repo("multi"), "v1", "linux/amd64", "linux/arm64/v8")

	idx, err := remote.Index(regRef(t, reg.Repo("multi")+":v1"), regClientOptions(t)...)
	if err != nil {
		t.Fatalf("pull index: %v", err)
	}
	if h, _ := idx.Digest(); h.String() != idxDigest.DigestStr() {
		t.Fatalf("index digest %s, PushIndex returned %s", h, idxDigest.DigestStr())
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 2 {
		t.Fatalf("index has %d manifests, want 2", len(im.Manifests))
	}
	for _, desc := range im.Manifests {
		ps := desc.Platform.String()
		if children[ps].DigestStr() != desc.Digest.String() {
			t.Errorf("platform %s: index names %s, PushIndex returned %s", ps, desc.Digest, children[ps].DigestStr())
		}
		img, err := remote.Image(children[ps], regClientOptions(t)...)
		if err != nil {
			t.Fatalf("pull %s: %v", ps, err)
		}
		cfg, err := img.ConfigFile()
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Platform().String(); got != ps {
			t.Errorf("config of %s image names platform %s", ps, got)
		}
	}
}

func TestRegistryTagAndDelete(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t)
	first := reg.PushImage(t, "app", "v1")
	second := reg.PushImage(t, "app", "v2")
	reg.Tag(t, second, "v1")

	desc, err := remote.Head(regRef(t, reg.Repo("app")+":v1"), regClientOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	if desc.Digest.String() != second.DigestStr() || first.DigestStr() == second.DigestStr() {
		t.Fatalf("re-pointed v1 resolves to %s, want %s", desc.Digest, second.DigestStr())
	}

	img, err := remote.Image(second, regClientOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	layers, _ := img.Layers()
	h, _ := layers[0].Digest()
	reg.DeleteBlob(t, "app", h)
	rc, err := layers[0].Compressed()
	if err == nil {
		rc.Close()
		t.Fatalf("layer %s still served after DeleteBlob", h)
	}

	reg.DeleteManifest(t, first)
	if _, err := remote.Get(first, regClientOptions(t)...); err == nil {
		t.Fatalf("manifest %s still served after DeleteManifest", first)
	}
}

// regAttach pushes an artifact manifest with the given artifactType whose
// subject is the image d, through a client (not the fixture's helpers).
func regAttach(t *testing.T, reg *Registry, d name.Digest, artifactType, tag string) v1.Hash {
	t.Helper()
	desc, err := remote.Get(d, regClientOptions(t)...)
	if err != nil {
		t.Fatal(err)
	}
	art := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.MediaType(artifactType))
	withSubject, ok := mutate.Subject(art, desc.Descriptor).(v1.Image)
	if !ok {
		t.Fatal("mutate.Subject of an image is not an image")
	}
	if err := remote.Write(d.Context().Tag(tag), withSubject, regClientOptions(t)...); err != nil {
		t.Fatalf("push referrer: %v", err)
	}
	h, err := withSubject.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestRegistryReferrersAPI(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t, WithReferrersAPI())
	d := reg.PushImage(t, "app", "v1")
	sig := regAttach(t, reg, d, "application/vnd.example.sig", "sig")
	sbom := regAttach(t, reg, d, "application/vnd.example.sbom", "sbom")

	// The client saw OCI-Subject / a 200 from the referrers endpoint and so
	// did not write a fallback tag.
	fallback := strings.Replace(d.DigestStr(), ":", "-", 1)
	if _, err := remote.Head(d.Context().Tag(fallback), regClientOptions(t)...); err == nil {
		t.Fatalf("client wrote fallback tag %s although the referrers API is served", fallback)
	}

	idx, err := remote.Referrers(d, regClientOptions(t)...)
	if err != nil {
		t.Fatalf("referrers: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range im.Manifests {
		got[m.Digest.String()] = m.ArtifactType
	}
	want := map[string]string{sig.String(): "application/vnd.example.sig", sbom.String(): "application/vnd.example.sbom"}
	if len(got) != len(want) || got[sig.String()] != want[sig.String()] || got[sbom.String()] != want[sbom.String()] {
		t.Fatalf("referrers = %v, want %v", got, want)
	}

	filtered, header := regRawReferrers(t, reg, d, "?artifactType=application/vnd.example.sbom")
	if len(filtered.Manifests) != 1 || filtered.Manifests[0].Digest != sbom || header != "artifactType" {
		t.Fatalf("filtered referrers = %+v, OCI-Filters-Applied %q; want only %s and header artifactType", filtered.Manifests, header, sbom)
	}
	none, _ := regRawReferrers(t, reg, d.Context().Digest(sig.String()), "")
	if len(none.Manifests) != 0 {
		t.Fatalf("referrers of a manifest with none: %+v", none.Manifests)
	}
}

// regRawReferrers GETs the referrers endpoint directly, as ggcr does not send
// ?artifactType=.
func regRawReferrers(t *testing.T, reg *Registry, d name.Digest, query string) (v1.IndexManifest, string) {
	t.Helper()
	u := "http://" + reg.Host() + "/v2/" + d.Context().RepositoryStr() + "/referrers/" + d.DigestStr() + query
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != string(types.OCIImageIndex) {
		t.Fatalf("GET %s: status %d, content type %q", u, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	var im v1.IndexManifest
	if err := json.NewDecoder(resp.Body).Decode(&im); err != nil {
		t.Fatal(err)
	}
	return im, resp.Header.Get("OCI-Filters-Applied")
}

func TestRegistryReferrersFallbackTag(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t)
	d := reg.PushImage(t, "app", "v1")
	sig := regAttach(t, reg, d, "application/vnd.example.sig", "sig")

	u := "http://" + reg.Host() + "/v2/app/referrers/" + d.DigestStr()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET %s without WithReferrersAPI: status %d, want 404", u, resp.StatusCode)
	}

	reg.ResetRequests()
	idx, err := remote.Referrers(d, regClientOptions(t)...)
	if err != nil {
		t.Fatalf("referrers: %v", err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	if len(im.Manifests) != 1 || im.Manifests[0].Digest != sig {
		t.Fatalf("fallback referrers = %+v, want %s", im.Manifests, sig)
	}
	fallback := strings.Replace(d.DigestStr(), ":", "-", 1)
	want := []string{
		"GET /v2/",
		"GET /v2/app/referrers/" + d.DigestStr(),
		"GET /v2/app/manifests/" + fallback,
	}
	if got := reg.Requests(); !slices.Equal(got, want) {
		t.Fatalf("requests = %v, want %v (endpoint 404, then the fallback tag)", got, want)
	}
}

func TestRegistryMiddlewareSeesClientRequestsOnly(t *testing.T) {
	t.Parallel()
	reg := NewRegistry(t, WithMiddleware(func(http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		})
	}))
	d := reg.PushImage(t, "app", "v1") // setup is not affected

	_, err := remote.Get(d, regClientOptions(t)...)
	if err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("client request through the middleware: err = %v, want a 503", err)
	}
	if got := reg.Requests(); len(got) == 0 || got[0] != "GET /v2/" {
		t.Fatalf("requests = %v, want the client's ping first", got)
	}

	// Setup code outside the fixture gets the same bypass.
	reg.ResetRequests()
	if _, err := remote.Get(d, reg.SetupOptions(t)...); err != nil {
		t.Fatalf("get with SetupOptions through a failing middleware: %v", err)
	}
	if got := reg.Requests(); len(got) != 0 {
		t.Fatalf("SetupOptions requests were recorded: %v", got)
	}
}
