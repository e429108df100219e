package verify

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/sigstore/cosign/v2/pkg/oci"
)

// Registry requests of one Verify by digest (digest references are never
// resolved, so no HEAD of the image). Both places cosign stores signatures
// are read once, concurrently, and shared by all authorities:
//
//	legacy:  GET manifests/sha256-<hex>.sig          (404: no legacy signature)
//	         GET blobs/<layer> per signature layer    (the simple-signing payload)
//	bundles: GET referrers/sha256:<hex>               (registry with the referrers API)
//	         or that GET answered 404, then
//	         GET manifests/sha256-<hex>               (referrers tag schema; 404: none)
//	         GET manifests/<bundle manifest digest>   per bundle referrer
//	         GET blobs/<bundle layer>                 per bundle referrer
//
// plus GET /v2/ once per repository for the registry ping, which the
// Registry's shared Puller (remote.Reuse) pays only the first time. So, not
// counting the ping, with the referrers API / with the tag schema:
//
//	(a) key-signed bundle:      1+1+2 = 4 / 1+2+2 = 5
//	(b) legacy signature:       2+1   = 3 / 2+2   = 4
//	(c) one of each:            2+1+2 = 5 / 2+2+2 = 6
//	    unsigned image:         1+1   = 2 / 1+2   = 3
//
// Why this is the minimum: a legacy signature is a manifest plus a payload
// blob (the signature itself sits in the manifest's layer annotations); a
// bundle is a manifest whose single layer is the bundle, and the referrers
// listing gives only the manifest's digest. Both places must be looked at
// because an authority may be satisfied by either format. A registry that
// answers the referrers API is never asked for the fallback tag (go-
// containerregistry only falls back on 404/400/406), and referrers whose
// artifactType is not a Sigstore bundle (SBOMs, attestations of other
// tools) are filtered out from the listing without being fetched.

// Limits against a hostile registry. The Registry's transport bounds
// manifest sizes and redirects; these bound the work per image. A
// registry serving more signature material than this is hostile or
// broken (cosign writes one signature per signing, and the limits leave
// room for years of re-signing with several keys): the image is Denied
// with ReasonSignatureLimit, not Unavailable, because a retry reads the
// same material and would pay for it again.
const (
	// maxLegacySignatures bounds the layers of a .sig manifest read.
	maxLegacySignatures = 32
	// A simple-signing payload is a few hundred bytes plus the signer's
	// optional annotations.
	maxLegacyPayloadBytes = 256 << 10
	// maxBundles bounds the bundle referrers read.
	maxBundles     = 32
	maxBundleBytes = 4 << 20
	// DefaultMaxBytes bounds every byte one verification receives from the
	// registry: signature manifests, payloads, referrer listings, bundle
	// manifests and bundles, together (WithMaxBytes). The per-item limits
	// above alone would allow 32 bundles of 4 MiB, 32 payloads of 256 KiB
	// and their manifests, ~144 MiB held at once. 16 MiB is a hundred
	// times what a verification of a few real signatures reads (bundles
	// are a few KiB, keyless ones with certificate chains under 64 KiB),
	// and 8 concurrent verifications (cache.DefaultMaxConcurrent) stay
	// near 128 MiB.
	DefaultMaxBytes = 16 << 20
)

// errSignatureLimit marks a signature listing that names more signatures
// than imagegate reads.
var errSignatureLimit = errors.New("signature material exceeds what imagegate reads per verification")

// bundleArtifactType is the artifactType cosign 3 gives bundle referrers.
const bundleArtifactType = "application/vnd.dev.sigstore.bundle.v0.3+json"

// bundleLayerPrefix is the media type prefix of a bundle manifest's layer.
const bundleLayerPrefix = "application/vnd.dev.sigstore.bundle"

// legacySignature is one layer of a .sig manifest, read into memory (a
// static copy) so that authorities verifying it in parallel never touch the
// registry again. err is set instead when the layer could not be used.
type legacySignature struct {
	layer string
	sig   oci.Signature
	err   error
	// tlogNote says what tlog mode online found in Rekor for it.
	tlogNote string
}

// bundleSignature is one Sigstore bundle referrer's JSON, checked to parse;
// err is set instead when the referrer is not a usable bundle. The bytes,
// not a parsed *bundle.Bundle, are shared: sigstore-go's Bundle caches
// state while it is verified and is not safe for concurrent use, so each
// authority parses its own.
type bundleSignature struct {
	manifest string
	raw      []byte
	err      error
}

// fetched is everything read from the registry for one Verify.
type fetched struct {
	digest  name.Digest
	hash    v1.Hash
	legacy  []legacySignature
	bundles []bundleSignature
	// legacyErr and bundleErr are failures to list a format at all; the
	// other format's signatures are still used.
	legacyErr error
	bundleErr error
	// rekorErr joins the Rekor lookups (tlog mode online) that failed
	// transiently.
	rekorErr error
}

func (f *fetched) counts() signatureCounts {
	return signatureCounts{legacy: len(f.legacy), bundles: len(f.bundles)}
}

// err joins the listing failures on one line (it ends up in status
// messages and events).
func (f *fetched) err() error {
	if f.legacyErr != nil && f.bundleErr != nil {
		return fmt.Errorf("%w; %w", f.legacyErr, f.bundleErr)
	}
	if f.legacyErr != nil {
		return f.legacyErr
	}
	return f.bundleErr
}

// fetch reads both signature formats of d concurrently.
func (v *Verifier) fetch(ctx context.Context, d name.Digest, h v1.Hash) *fetched {
	opts := v.reg.RemoteOptions(ctx)
	f := &fetched{digest: d, hash: h}
	var wg sync.WaitGroup
	wg.Go(func() {
		f.legacy, f.legacyErr = fetchLegacy(ctx, d, opts)
	})
	wg.Go(func() {
		f.bundles, f.bundleErr = fetchBundles(ctx, d, opts)
	})
	wg.Wait()
	if f.legacyErr != nil {
		f.legacyErr = fmt.Errorf("reading legacy signatures (.sig tag) of %s: %w", d, f.legacyErr)
	}
	if f.bundleErr != nil {
		f.bundleErr = fmt.Errorf("reading Sigstore bundle referrers of %s: %w", d, f.bundleErr)
	}
	return f
}
