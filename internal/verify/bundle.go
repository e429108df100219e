package verify

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	sgbundle "github.com/sigstore/sigstore-go/pkg/bundle"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"

	"github.com/imagegate/imagegate/internal/registry"
)

// cosignSignPredicate is the in-toto predicate type of an image signature
// made by cosign 3. Bundles with other predicates are attestations (SBOM,
// provenance) signed by the same identity; they do not approve the image.
const cosignSignPredicate = "https://sigstore.dev/cosign/sign/v1"

// errNotBundle marks a referrer that claims the bundle artifactType but is
// not shaped like one.
var errNotBundle = errors.New("not a Sigstore bundle manifest (want exactly one application/vnd.dev.sigstore.bundle* layer)")

// fetchBundles lists the Sigstore bundle referrers of d and reads each
// bundle. go-containerregistry's remote.Referrers asks the referrers API and
// falls back to the tag schema only when the registry lacks the API; the
// artifactType filter drops other referrers before anything is fetched.
func fetchBundles(ctx context.Context, d name.Digest, opts []remote.Option) ([]bundleSignature, error) {
	idx, err := remote.Referrers(d, append(opts[:len(opts):len(opts)], remote.WithFilter("artifactType", bundleArtifactType))...)
	if err != nil {
		return nil, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	var descs []v1.Descriptor
	for _, desc := range im.Manifests {
		if desc.ArtifactType == bundleArtifactType {
			descs = append(descs, desc)
		}
	}
	if len(descs) > maxBundles {
		return nil, fmt.Errorf("%w: %d bundle referrers, more than the %d imagegate reads; remove stale signatures", errSignatureLimit, len(descs), maxBundles)
	}
	out := make([]bundleSignature, 0, len(descs))
	for _, desc := range descs {
		bs := bundleSignature{manifest: desc.Digest.String()}
		bs.raw, bs.err = fetchBundle(d.Context().Digest(desc.Digest.String()), opts)
		if bs.err != nil {
			if isTransient(ctx, bs.err) || errors.Is(bs.err, registry.ErrByteBudgetExceeded) {
				return nil, fmt.Errorf("bundle %s: %w", bs.manifest, bs.err)
			}
			bs.err = fmt.Errorf("unreadable bundle referrer %s: %w", bs.manifest, bs.err)
		}
		out = append(out, bs)
	}
	return out, nil
}

// fetchBundle reads one bundle manifest (checked against its digest by
// go-containerregistry) and its single layer, bounded in size, and checks
// that the layer parses as a bundle.
func fetchBundle(ref name.Digest, opts []remote.Option) ([]byte, error) {
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, err
	}
	m, err := img.Manifest()
	if err != nil {
		return nil, err
	}
	if len(m.Layers) != 1 || !strings.HasPrefix(string(m.Layers[0].MediaType), bundleLayerPrefix) {
		return nil, errNotBundle
	}
	if size := m.Layers[0].Size; size < 0 || size > maxBundleBytes {
		return nil, fmt.Errorf("bundle layer of %d bytes: want 0 to %d", size, maxBundleBytes)
	}
	layer, err := img.LayerByDigest(m.Layers[0].Digest)
	if err != nil {
		return nil, err
	}
	rc, err := layer.Compressed() // verifies size and digest while reading
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// The descriptor's size, checked above, is what the verifying reader
	// delivers: one allocation of it, not ReadAll's doublings.
	raw := make([]byte, m.Layers[0].Size)
	if _, err := io.ReadFull(rc, raw); err != nil {
		return nil, err
	}
	// The digest is checked at EOF: read to it.
	var extra [1]byte
	if _, err := io.ReadFull(rc, extra[:]); !errors.Is(err, io.EOF) {
		if err == nil {
			err = fmt.Errorf("bundle layer is longer than its descriptor's %d bytes", len(raw))
		}
		return nil, err
	}
	if _, err := parseBundle(raw); err != nil {
		return nil, err
	}
	return raw, nil
}

func parseBundle(raw []byte) (*sgbundle.Bundle, error) {
	b := &sgbundle.Bundle{}
	if err := b.UnmarshalJSON(raw); err != nil {
		return nil, fmt.Errorf("parsing bundle: %w", err)
	}
	return b, nil
}

// bundleChecker verifies bundles with sigstore-go for one authority.
type bundleChecker struct {
	verifier *sgverify.Verifier
	// policy are the identity options: WithKey for keys, one
	// WithCertificateIdentity per identity for keyless.
	policy   []sgverify.PolicyOption
	identity func(*sgverify.VerificationResult) string
	// requireEntry refuses a bundle without a tlog entry, saying
	// noEntryHint, before sigstore-go's "not enough verified log entries".
	requireEntry bool
	noEntryHint  string
}

// check verifies b for digest h as an image signature. WithArtifactDigest
// is what binds the bundle to the image: the in-toto statement's subject
// must name h, so a bundle copied from another image fails here.
func (c *bundleChecker) check(raw []byte, h v1.Hash) (string, int64, error) {
	b, err := parseBundle(raw)
	if err != nil {
		return "", -1, err
	}
	digest, err := hex.DecodeString(h.Hex)
	if err != nil {
		return "", -1, fmt.Errorf("digest %s: %w", h, err)
	}
	if c.requireEntry {
		if entries, err := b.TlogEntries(); err != nil || len(entries) == 0 {
			return "", -1, fmt.Errorf("%w%s", errNoLogEntry, c.noEntryHint)
		}
	}
	res, err := c.verify(b, h.Algorithm, digest)
	if err != nil {
		return "", -1, err
	}
	if err := imageSignature(res); err != nil {
		return "", -1, err
	}
	return c.identity(res), bundleLogIndex(b, res, c.requireEntry), nil
}

// verify checks a bundle's signature over the artifact digest, its signer
// (the key, or a certificate chaining to the trusted root whose identity
// matches) and its log entry and timestamps, as the authority requires.
// Whether the bundle signs an image is imageSignature's question.
func (c *bundleChecker) verify(b *sgbundle.Bundle, algorithm string, digest []byte) (*sgverify.VerificationResult, error) {
	return c.verifier.Verify(b, sgverify.NewPolicy(sgverify.WithArtifactDigest(algorithm, digest), c.policy...))
}

// imageSignature accepts a verified bundle as an image signature only when
// it is one: cosign 3's DSSE statement with the cosign sign predicate.
func imageSignature(res *sgverify.VerificationResult) error {
	if res.Statement == nil {
		return errors.New("bundle holds no in-toto statement; cosign 3 signs images with a DSSE statement")
	}
	if res.Statement.GetPredicateType() != cosignSignPredicate {
		return fmt.Errorf("bundle is an attestation with predicate %q, not an image signature (%s)", res.Statement.GetPredicateType(), cosignSignPredicate)
	}
	return nil
}

// bundleLogIndex reports the log entry's index when the verification relied
// on the transparency log: when it required a verified entry (logRequired:
// the verifier has WithTransparencyLog), or took its time from one.
func bundleLogIndex(b *sgbundle.Bundle, res *sgverify.VerificationResult, logRequired bool) int64 {
	usedLog := logRequired
	for _, ts := range res.VerifiedTimestamps {
		if ts.Type == "Tlog" {
			usedLog = true
		}
	}
	if !usedLog {
		return -1
	}
	entries, err := b.TlogEntries()
	if err != nil || len(entries) == 0 {
		return -1
	}
	return entries[0].LogIndex()
}

// summaryIdentity renders "<issuer> <subject>" of a verified certificate.
func summaryIdentity(res *sgverify.VerificationResult) string {
	if res.Signature == nil || res.Signature.Certificate == nil {
		return "(no certificate)"
	}
	c := res.Signature.Certificate
	return c.Issuer + " " + c.SubjectAlternativeName
}
