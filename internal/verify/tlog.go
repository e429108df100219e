package verify

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/sigstore/cosign/v2/pkg/cosign"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/sigstore-go/pkg/root"
	sgverify "github.com/sigstore/sigstore-go/pkg/verify"
	"github.com/sigstore/sigstore/pkg/cryptoutils"

	"github.com/imagegate/imagegate/internal/policy"
)

// Transparency log, what each mode requires of a keyless signature (key
// authorities have key.tlog, see key.go):
//
//   - offline: the signature carries a Rekor entry (legacy: the
//     dev.sigstore.cosign/bundle annotation with a signed entry timestamp;
//     bundle: a tlog entry with an inclusion promise or proof), verified
//     against the trusted root's Rekor keys, for exactly this signature and
//     certificate. A signature without one does not verify, and the reason
//     says so.
//   - online: as offline; a legacy signature without an entry is looked up
//     in the policy's Rekor v1 API (one request per such signature, cached)
//     and the entry found is verified exactly as a carried one. A Rekor
//     that cannot be reached makes the outcome Unavailable, never Denied.
//     Bundles are not looked up: cosign 3 writes a bundle after the upload,
//     with the entry in it, so a bundle without one was never logged; and a
//     Rekor v2 log has no search API at all, so its entries can only come in
//     the bundle.
//   - ignore: no entry is required or checked.

// errNoLogEntry is a signature that carries no transparency log entry where
// the policy requires one.
var errNoLogEntry = errors.New("carries no transparency log entry (Rekor signed entry timestamp or inclusion proof)")

// needsLookup reports whether p asks Rekor for entries signatures lack.
func needsLookup(p *policy.Policy) bool {
	if p.TLog != policy.TLogOnline {
		return false
	}
	for _, a := range p.Authorities {
		if a.Keyless != nil {
			return true
		}
	}
	return false
}

// lookupEntries completes the legacy keyless signatures of f that carry no
// Rekor entry with the entry Rekor at base holds for them. Each one found
// replaces the signature by the same signature carrying that entry, so
// that verification treats it as an entry the signer attached. Lookups
// that fail transiently are joined into f.rekorErr; the others are noted
// on the signature.
//
// Only signatures whose certificate some keyless authority of p accepts
// (chain to its trusted root, identity) are looked up: a hostile registry
// serving signatures of other identities gets no Rekor request sent for
// them, and Rekor learns nothing of them.
func (v *Verifier) lookupEntries(ctx context.Context, p *policy.Policy, f *fetched) {
	base := cmp.Or(p.RekorURL, policy.DefaultRekorURL)
	accepted := certAccepted(p)
	var transient []error
	for i := range f.legacy {
		ls := &f.legacy[i]
		if ls.err != nil {
			continue
		}
		b64sig, payload, cert, ok := lookupKey(ls.sig)
		if !ok || !accepted(cert) {
			continue
		}
		certPEM, err := cryptoutils.MarshalCertificateToPEM(cert)
		if err != nil {
			continue
		}
		entry, err := v.rekor.lookup(ctx, base, b64sig, payload, certPEM)
		var rerr *rekorError
		switch {
		case errors.As(err, &rerr) && rerr.transient:
			transient = append(transient, err)
		case err != nil:
			ls.tlogNote = fmt.Sprintf("; Rekor's answer is unusable: %v", err)
		case entry == nil:
			ls.tlogNote = fmt.Sprintf("; Rekor %s has no entry for it either", base)
		default:
			ls.sig = &loggedSignature{ociSignature: ls.sig, bundle: cbundle.EntryToBundle(entry)}
			ls.tlogNote = fmt.Sprintf(" (entry %d from Rekor %s)", *entry.LogIndex, base)
		}
	}
	f.rekorErr = errors.Join(transient...)
}

// lookupKey returns what Rekor indexes a legacy keyless signature by, and
// false for a signature that needs no lookup: one that carries its entry,
// or has no certificate (keys are never looked up).
func lookupKey(sig oci.Signature) (string, []byte, *x509.Certificate, bool) {
	if b, err := sig.Bundle(); err != nil || b != nil {
		return "", nil, nil, false
	}
	cert, err := sig.Cert()
	if err != nil || cert == nil {
		return "", nil, nil, false
	}
	b64sig, err := sig.Base64Signature()
	if err != nil {
		return "", nil, nil, false
	}
	payload, err := sig.Payload()
	if err != nil {
		return "", nil, nil, false
	}
	return b64sig, payload, cert, true
}

// certAccepted returns whether some keyless authority of p accepts a
// certificate: it chains to the authority's trusted root and matches its
// identities as the legacy verifier checks them.
func certAccepted(p *policy.Policy) func(*x509.Certificate) bool {
	type authority struct {
		root root.TrustedMaterial
		opts *cosign.CheckOpts
	}
	var auths []authority
	for _, a := range p.Authorities {
		if a.Keyless == nil {
			continue
		}
		c, err := newKeylessCheckers(a.Keyless, p.TLog)
		if err != nil {
			continue // reported as InvalidPolicy by the authority's check
		}
		auths = append(auths, authority{root: a.Keyless.TrustedRoot, opts: &c.legacy.opts})
	}
	return func(cert *x509.Certificate) bool {
		for _, a := range auths {
			if _, err := sgverify.VerifyLeafCertificate(cert.NotBefore, cert, a.root); err != nil {
				continue
			}
			if cosign.CheckCertificatePolicy(cert, a.opts) == nil {
				return true
			}
		}
		return false
	}
}

// loggedSignature is a legacy signature with the Rekor entry found for it.
// oci.Signature embeds an interface with a method named Signature, so the
// wrapped signature cannot be embedded by its type name.
type loggedSignature struct {
	ociSignature
	bundle *cbundle.RekorBundle
}

type ociSignature = oci.Signature

// Bundle implements oci.Signature.
func (s *loggedSignature) Bundle() (*cbundle.RekorBundle, error) { return s.bundle, nil }

// checkLegacyEntry refuses, before cosign sees it, a legacy signature
// without the entry the authority requires, and an entry whose body cosign
// would type-assert to a string without checking (a hostile registry
// writes the annotation).
func checkLegacyEntry(sig oci.Signature, required bool) error {
	b, err := sig.Bundle()
	if err != nil {
		return fmt.Errorf("reading its Rekor bundle annotation: %w", err)
	}
	if b == nil {
		if required {
			return errNoLogEntry
		}
		return nil
	}
	if _, ok := b.Payload.Body.(string); !ok {
		return errors.New("its Rekor bundle annotation's body is not a base64 string")
	}
	return nil
}

// noEntryHint says what to do about a signature without an entry, by mode.
func noEntryHint(tlog policy.TLogMode, legacy bool) string {
	switch {
	case tlog == policy.TLogOnline && !legacy:
		return "; tlog mode online looks up only legacy signatures: a bundle must carry its entry (sign with upload to Rekor, or set tlog.mode ignore)"
	case tlog == policy.TLogOnline:
		return "; sign with upload to Rekor, or set tlog.mode ignore"
	default:
		return "; tlog mode offline requires one in the signature: sign with upload to Rekor, or set tlog.mode online (legacy signatures) or ignore"
	}
}
