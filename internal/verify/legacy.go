package verify

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore-go/pkg/fulcio/certificate"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/imagegate/imagegate/internal/registry"
)

// fetchLegacy reads the sha256-<hex>.sig manifest of d and every signature
// payload it lists. A missing tag is no signatures, not an error (cosign's
// ociremote.Signatures maps 404 to an empty list). Transient failures abort
// the listing; a layer that cannot be read for a permanent reason is kept as
// an unusable signature so the outcome can say so.
func fetchLegacy(ctx context.Context, d name.Digest, opts []remote.Option) ([]legacySignature, error) {
	tag, err := ociremote.SignatureTag(d) // a digest costs no request
	if err != nil {
		return nil, fmt.Errorf("signature tag: %w", err)
	}
	sigs, err := ociremote.Signatures(tag, ociremote.WithRemoteOptions(opts...))
	if err != nil {
		return nil, err
	}
	list, err := sigs.Get()
	if err != nil {
		return nil, err
	}
	if len(list) > maxLegacySignatures {
		return nil, fmt.Errorf("%w: %s lists %d signatures, more than the %d imagegate reads; remove stale signatures", errSignatureLimit, tag, len(list), maxLegacySignatures)
	}
	out := make([]legacySignature, 0, len(list))
	for _, s := range list {
		ls := legacySignature{layer: layerDigest(s)}
		size, err := s.Size()
		switch {
		case err != nil:
			ls.err = fmt.Errorf("signature layer %s: reading its size: %w", ls.layer, err)
		case size > maxLegacyPayloadBytes:
			ls.err = fmt.Errorf("signature layer %s: %d bytes, more than the %d of a simple-signing payload", ls.layer, size, maxLegacyPayloadBytes)
		}
		if ls.err != nil {
			out = append(out, ls)
			continue
		}
		// static.Copy reads the payload blob once, so authorities verifying
		// in parallel share the bytes instead of each fetching them.
		// go-containerregistry reads no more than the descriptor's size
		// and checks the digest.
		ls.sig, ls.err = static.Copy(s)
		if ls.err != nil {
			if isTransient(ctx, ls.err) || errors.Is(ls.err, registry.ErrByteBudgetExceeded) {
				return nil, fmt.Errorf("signature payload %s: %w", ls.layer, ls.err)
			}
			ls.err = fmt.Errorf("unreadable signature layer %s: %w", ls.layer, ls.err)
		}
		out = append(out, ls)
	}
	return out, nil
}

func layerDigest(s oci.Signature) string {
	h, err := s.Digest()
	if err != nil {
		return "(unknown layer)"
	}
	return h.String()
}

// legacyChecker verifies legacy signatures with cosign/v2's own verifier.
type legacyChecker struct {
	opts cosign.CheckOpts
	// certIdentities, for keyless authorities, must match the certificate
	// cosign verified: issuer, subject and Fulcio extensions, each
	// identity's extensions with its own issuer and subject.
	certIdentities sgverify.CertificateIdentities
	identity       func(oci.Signature) string
	// requireEntry refuses a signature without a Rekor entry, saying
	// noEntryHint.
	requireEntry bool
	noEntryHint  string
}

// check verifies one signature for d. The ClaimVerifier is what binds the
// signature to the digest: cosign's VerifyImageSignature checks it only
// when set, and SimpleClaimVerifier compares the payload's
// critical.image.docker-manifest-digest with d.
func (c *legacyChecker) check(ctx context.Context, sig oci.Signature, h v1.Hash) (string, int64, error) {
	if err := checkLegacyEntry(sig, c.requireEntry); err != nil {
		if errors.Is(err, errNoLogEntry) {
			return "", -1, fmt.Errorf("%w%s", err, c.noEntryHint)
		}
		return "", -1, err
	}
	co := c.opts
	co.ClaimVerifier = cosign.SimpleClaimVerifier
	bundleVerified, err := cosign.VerifyImageSignature(ctx, sig, h, &co)
	if err != nil {
		return "", -1, err
	}
	if err := c.matchCertificate(sig); err != nil {
		return "", -1, err
	}
	return c.identity(sig), legacyLogIndex(sig, bundleVerified), nil
}

// matchCertificate applies the keyless identities, extensions included,
// to the signature's certificate, which cosign has verified against the
// trusted root. sigstore-go's certificate summary reads the Fulcio
// extensions, so no OID is parsed here.
func (c *legacyChecker) matchCertificate(sig oci.Signature) error {
	if c.certIdentities == nil {
		return nil
	}
	cert, err := sig.Cert()
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	if cert == nil {
		return errors.New("keyless signature without a certificate")
	}
	summary, err := certificate.SummarizeCertificate(cert)
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	if _, err := c.certIdentities.Verify(summary); err != nil {
		return fmt.Errorf("certificate identity: %w", err)
	}
	return nil
}

func legacyLogIndex(sig oci.Signature, bundleVerified bool) int64 {
	if !bundleVerified {
		return -1
	}
	b, err := sig.Bundle()
	if err != nil || b == nil {
		return -1
	}
	return b.Payload.LogIndex
}

// certIdentity renders "<issuer> <subject>" of a keyless signature's
// certificate.
func certIdentity(sig oci.Signature) string {
	cert, err := sig.Cert()
	if err != nil || cert == nil {
		return "(no certificate)"
	}
	issuer := (&cosign.CertExtensions{Cert: cert}).GetIssuer()
	sans := cryptoutils.GetSubjectAlternateNames(cert)
	subject := ""
	if len(sans) > 0 {
		subject = sans[0]
	}
	return issuer + " " + subject
}
