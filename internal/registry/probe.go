package registry

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxIndexDepth bounds nested indexes (an index of indexes is legal, a
// cycle through digests is impossible, but depth still costs requests).
const maxIndexDepth = 3

// Probe checks that the registry serves the image as a pull would: it GETs
// the manifest by digest (for an index, the manifest of each wanted
// platform; a missing platform fails; no platforms means every child), GETs
// each image's config blob and checks its digest, and GETs the first byte of
// every layer (Range: bytes=0-0). Refusals (401, 403, 404, 412, ...) fail
// with ErrNotPullable carrying the registry's own message in a *PullError;
// 5xx, 429 and network failures with ErrUnavailable.
//
// A single-platform image probed with platforms must be for each of them
// when its config names a platform: a node of another platform could not
// run it.
func (c *Client) Probe(ctx context.Context, d name.Digest, platforms []v1.Platform) error {
	hc, err := c.probeClient(ctx, d.Context())
	if err != nil {
		return classify("probing", d.String(), err)
	}
	p := &prober{hc: hc, repo: d.Context(), platforms: platforms, maxConfig: c.opts.MaxManifestBytes}
	if err := p.manifest(ctx, d.DigestStr(), 0); err != nil {
		return classify("probing", d.String(), err)
	}
	return nil
}

type prober struct {
	hc        *http.Client
	repo      name.Repository
	platforms []v1.Platform
	maxConfig int64
}

var manifestAccept = []types.MediaType{
	types.OCIImageIndex, types.OCIManifestSchema1,
	types.DockerManifestList, types.DockerManifestSchema2,
}

func (p *prober) manifest(ctx context.Context, digest string, depth int) error {
	body, err := p.fetchManifest(ctx, digest)
	if err != nil {
		return err
	}
	u := p.url("manifests", digest)
	mt := manifestMediaType(body)
	switch {
	case depth > maxIndexDepth:
		return &PullError{URL: u, Message: fmt.Sprintf("indexes nested deeper than %d levels", maxIndexDepth)}
	case mt.IsIndex():
		return p.index(ctx, u, body, depth)
	case mt.IsImage() || mt == "":
		return p.image(ctx, u, body, depth == 0)
	}
	return &PullError{URL: u, Message: fmt.Sprintf("unsupported manifest media type %q", mt)}
}

// manifestMediaType reads the media type from the manifest itself: it is
// what the digest covers, unlike the Content-Type header. "" means an
// image manifest without mediaType (allowed by OCI).
func manifestMediaType(body []byte) types.MediaType {
	var m struct {
		MediaType types.MediaType `json:"mediaType"`
		Manifests json.RawMessage `json:"manifests"`
	}
	if json.Unmarshal(body, &m) != nil {
		return ""
	}
	if m.MediaType == "" && m.Manifests != nil {
		return types.OCIImageIndex
	}
	return m.MediaType
}

func (p *prober) index(ctx context.Context, u string, body []byte, depth int) error {
	im, err := v1.ParseIndexManifest(bytesReader(body))
	if err != nil {
		return &PullError{URL: u, Message: "index is not valid JSON: " + err.Error()}
	}
	children, err := p.selectChildren(u, im)
	if err != nil {
		return err
	}
	for _, child := range children {
		if err := p.manifest(ctx, child.Digest.String(), depth+1); err != nil {
			return err
		}
	}
	return nil
}

// selectChildren picks the manifest of each wanted platform, or every
// child manifest when no platforms are wanted.
func (p *prober) selectChildren(u string, im *v1.IndexManifest) ([]v1.Descriptor, error) {
	var out []v1.Descriptor
	if len(p.platforms) == 0 {
		for _, m := range im.Manifests {
			if m.MediaType.IsImage() || m.MediaType.IsIndex() {
				out = append(out, m)
			}
		}
		return out, nil
	}
	seen := map[v1.Hash]bool{}
	for _, want := range p.platforms {
		m, ok := childFor(im, want)
		if !ok {
			return nil, &PullError{URL: u, Message: fmt.Sprintf("index has no manifest for platform %s", want.String())}
		}
		if !seen[m.Digest] {
			seen[m.Digest] = true
			out = append(out, m)
		}
	}
	return out, nil
}

func childFor(im *v1.IndexManifest, want v1.Platform) (v1.Descriptor, bool) {
	for _, m := range im.Manifests {
		if m.Platform != nil && m.Platform.Satisfies(want) {
			return m, true
		}
	}
	return v1.Descriptor{}, false
}

func (p *prober) image(ctx context.Context, u string, body []byte, checkPlatform bool) error {
	m, err := v1.ParseManifest(bytesReader(body))
	if err != nil {
		return &PullError{URL: u, Message: "manifest is not valid JSON: " + err.Error()}
	}
	cfg, err := p.config(ctx, m.Config)
	if err != nil {
		return err
	}
	if checkPlatform {
		if err := p.checkPlatform(u, cfg); err != nil {
			return err
		}
	}
	for _, l := range m.Layers {
		if !l.MediaType.IsDistributable() {
			continue // foreign layers are not served by the registry
		}
		if err := p.firstByte(ctx, l); err != nil {
			return err
		}
	}
	return nil
}

// checkPlatform fails a single-platform image that a wanted platform
// cannot run. A config that names no platform (artifacts, test images)
// passes: nothing is known to contradict.
func (p *prober) checkPlatform(u string, cfg []byte) error {
	if len(p.platforms) == 0 || cfg == nil {
		return nil
	}
	var have v1.Platform
	if err := json.Unmarshal(cfg, &have); err != nil || have.OS == "" || have.Architecture == "" {
		return nil //nolint:nilerr // a config without a readable platform contradicts nothing
	}
	for _, want := range p.platforms {
		if !have.Satisfies(want) {
			return &PullError{URL: u, Message: fmt.Sprintf("image is for platform %s, not %s", have.String(), want.String())}
		}
	}
	return nil
}
