package testenv

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
)

// Media and artifact types of the referrers the fixtures push, as cosign 3
// and SBOM tools write them.
const (
	SigstoreBundleArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json"
	SPDXArtifactType           = "application/spdx+json"
	ociEmptyConfigType         = "application/vnd.oci.empty.v1+json"
)

// rawManifest pushes manifest bytes exactly as given.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }

// artifactManifest is an OCI 1.1 artifact manifest with a subject.
type artifactManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     types.MediaType   `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        v1.Descriptor     `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Subject       *v1.Descriptor    `json:"subject,omitempty"`
	Annotations   map[string]string `json:"annotations,omitempty"`
}

// PushReferrer attaches an artifact to d as cosign 3 does: an OCI image
// manifest with artifactType, the empty config, one layer holding content,
// and d as subject. go-containerregistry maintains the referrers tag schema
// index when the registry lacks the referrers API. It returns the
// referrer's digest.
func PushReferrer(t testing.TB, d name.Digest, artifactType, layerType string, content []byte, annotations map[string]string) name.Digest {
	t.Helper()
	opts := []remote.Option{remote.WithContext(t.Context())}
	subject, err := remote.Head(d, opts...)
	if err != nil {
		t.Fatalf("testenv: head %s: %v", d, err)
	}
	return PushReferrerOf(t, d.Context(), v1.Descriptor{MediaType: subject.MediaType, Digest: subject.Digest, Size: subject.Size},
		artifactType, layerType, content, annotations)
}

// PushReferrerOf is PushReferrer for a subject that need not be in the
// registry (OCI allows referrers to arrive before their subject): a
// signature copied from elsewhere, for an image whose manifest is not at
// hand. It returns the referrer's digest.
func PushReferrerOf(t testing.TB, repo name.Repository, subject v1.Descriptor, artifactType, layerType string, content []byte, annotations map[string]string) name.Digest {
	t.Helper()
	opts := []remote.Option{remote.WithContext(t.Context())}
	config := static.NewLayer([]byte("{}"), ociEmptyConfigType)
	layer := static.NewLayer(content, types.MediaType(layerType))
	m := artifactManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIManifestSchema1,
		ArtifactType:  artifactType,
		Config:        layerDescriptor(t, config),
		Layers:        []v1.Descriptor{layerDescriptor(t, layer)},
		Subject:       &subject,
		Annotations:   annotations,
	}
	for _, l := range []v1.Layer{config, layer} {
		if err := remote.WriteLayer(repo, l, opts...); err != nil {
			t.Fatalf("testenv: upload referrer blob to %s: %v", repo, err)
		}
	}
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatalf("testenv: encode referrer manifest: %v", err)
	}
	return putManifest(t, repo, raw)
}

func layerDescriptor(t testing.TB, l v1.Layer) v1.Descriptor {
	t.Helper()
	h, err := l.Digest()
	if err != nil {
		t.Fatalf("testenv: layer digest: %v", err)
	}
	size, err := l.Size()
	if err != nil {
		t.Fatalf("testenv: layer size: %v", err)
	}
	mt, err := l.MediaType()
	if err != nil {
		t.Fatalf("testenv: layer media type: %v", err)
	}
	return v1.Descriptor{MediaType: mt, Digest: h, Size: size}
}

// putManifest pushes raw by digest into repo.
func putManifest(t testing.TB, repo name.Repository, raw []byte) name.Digest {
	t.Helper()
	h, _, err := v1.SHA256(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("testenv: hash manifest: %v", err)
	}
	ref := repo.Digest(h.String())
	if err := remote.Put(ref, rawManifest{raw: raw, mt: types.OCIManifestSchema1}, remote.WithContext(t.Context())); err != nil {
		t.Fatalf("testenv: push manifest %s: %v", ref, err)
	}
	return ref
}

// PushSBOMReferrer attaches an SPDX SBOM to d: a referrer that is not a
// signature and must be ignored by verification.
func PushSBOMReferrer(t testing.TB, d name.Digest) {
	t.Helper()
	sbom := []byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"testenv"}`)
	PushReferrer(t, d, SPDXArtifactType, SPDXArtifactType, sbom, nil)
}

// CopySignatures replays the signatures of from onto to, as an attacker who
// can push to the registry but cannot sign would: the legacy .sig manifest
// is copied to to's .sig tag byte for byte, and every referrer of from is
// pushed again with to as its subject (so that the referrers API, or the
// tag schema index go-containerregistry maintains, lists it for to). The
// signed content still names from. Both digests must be in this registry
// (ggcr's registry shares blobs across repositories).
func CopySignatures(t testing.TB, from, to name.Digest) {
	t.Helper()
	copyLegacy(t, from, to)
	copyReferrers(t, from, to)
}

func copyLegacy(t testing.TB, from, to name.Digest) {
	t.Helper()
	opts := []remote.Option{remote.WithContext(t.Context())}
	src, err := ociremote.SignatureTag(from)
	if err != nil {
		t.Fatalf("testenv: signature tag of %s: %v", from, err)
	}
	desc, err := remote.Get(src, opts...)
	var terr *transport.Error
	if errors.As(err, &terr) && terr.StatusCode == http.StatusNotFound {
		return
	}
	if err != nil {
		t.Fatalf("testenv: get %s: %v", src, err)
	}
	dst, err := ociremote.SignatureTag(to)
	if err != nil {
		t.Fatalf("testenv: signature tag of %s: %v", to, err)
	}
	if err := remote.Put(dst, desc, opts...); err != nil {
		t.Fatalf("testenv: copy %s to %s: %v", src, dst, err)
	}
}

func copyReferrers(t testing.TB, from, to name.Digest) {
	t.Helper()
	opts := []remote.Option{remote.WithContext(t.Context())}
	idx, err := remote.Referrers(from, opts...)
	if err != nil {
		t.Fatalf("testenv: referrers of %s: %v", from, err)
	}
	im, err := idx.IndexManifest()
	if err != nil {
		t.Fatalf("testenv: referrers index of %s: %v", from, err)
	}
	target, err := remote.Head(to, opts...)
	if err != nil {
		t.Fatalf("testenv: head %s: %v", to, err)
	}
	for _, desc := range im.Manifests {
		ref := from.Context().Digest(desc.Digest.String())
		got, err := remote.Get(ref, opts...)
		if err != nil {
			t.Fatalf("testenv: get referrer %s: %v", ref, err)
		}
		// Rewrite only the subject, keeping every other field as it was.
		var m map[string]any
		if err := json.Unmarshal(got.Manifest, &m); err != nil {
			t.Fatalf("testenv: decode referrer %s: %v", ref, err)
		}
		m["subject"] = v1.Descriptor{MediaType: target.MediaType, Digest: target.Digest, Size: target.Size}
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("testenv: encode referrer: %v", err)
		}
		putManifest(t, to.Context(), raw)
	}
}
