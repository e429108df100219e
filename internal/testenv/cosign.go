package testenv

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sigstore/cosign/v2/pkg/cosign"
	"github.com/sigstore/cosign/v2/pkg/oci"
	"github.com/sigstore/cosign/v2/pkg/oci/mutate"
	ociremote "github.com/sigstore/cosign/v2/pkg/oci/remote"
	"github.com/sigstore/cosign/v2/pkg/oci/static"
	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/sigstore/sigstore/pkg/signature"
	sigpayload "github.com/sigstore/sigstore/pkg/signature/payload"
)

// CosignEnv names the environment variable holding the path of the cosign
// v3 CLI that SignBundle runs; `make test` builds it with hack/cosign.sh
// into bin/tools and exports it.
const CosignEnv = "IMAGEGATE_COSIGN"

// CosignKey is an ECDSA P-256 key pair in cosign's encrypted key format,
// generated at test time (never committed), with an empty password so the
// cosign CLI accepts it with COSIGN_PASSWORD="".
type CosignKey struct {
	Dir, PrivatePath, PublicPath string
	PublicPEM                    []byte
	Password                     string

	// signer is the decrypted private key, kept so that signing does not
	// pay cosign's scrypt key derivation again.
	signer signature.SignerVerifier
}

// NewCosignKey generates a key pair with cosign.GenerateKeyPair and writes
// cosign.key and cosign.pub into a fresh t.TempDir().
func NewCosignKey(t testing.TB) *CosignKey {
	t.Helper()
	kb, err := cosign.GenerateKeyPair(func(bool) ([]byte, error) { return []byte{}, nil })
	if err != nil {
		t.Fatalf("testenv: generate cosign key pair: %v", err)
	}
	dir := t.TempDir()
	k := &CosignKey{
		Dir:         dir,
		PrivatePath: filepath.Join(dir, "cosign.key"),
		PublicPath:  filepath.Join(dir, "cosign.pub"),
		PublicPEM:   kb.PublicBytes,
	}
	if err := os.WriteFile(k.PrivatePath, kb.PrivateBytes, 0o600); err != nil {
		t.Fatalf("testenv: write %s: %v", k.PrivatePath, err)
	}
	if err := os.WriteFile(k.PublicPath, kb.PublicBytes, 0o600); err != nil {
		t.Fatalf("testenv: write %s: %v", k.PublicPath, err)
	}
	if k.signer, err = cosign.LoadPrivateKey(kb.PrivateBytes, []byte(k.Password), nil); err != nil {
		t.Fatalf("testenv: load generated cosign key: %v", err)
	}
	return k
}

// PublicKey parses PublicPEM, the form a compiled policy holds.
func (k *CosignKey) PublicKey(t testing.TB) crypto.PublicKey {
	t.Helper()
	pub, err := cryptoutils.UnmarshalPEMToPublicKey(k.PublicPEM)
	if err != nil {
		t.Fatalf("testenv: parse cosign public key: %v", err)
	}
	return pub
}

// SignLegacy writes a legacy `sha256-<hex>.sig` signature of d made with
// key, in process with the cosign/v2 libraries: a simple-signing payload
// naming d, no transparency log entry, appended to the signatures already
// there — what `cosign sign --tlog-upload=false` of cosign 2 (whose default
// was the legacy format) writes.
func SignLegacy(t testing.TB, d name.Digest, key *CosignKey) {
	t.Helper()
	payload, err := (&sigpayload.Cosign{Image: d}).MarshalJSON()
	if err != nil {
		t.Fatalf("testenv: signature payload for %s: %v", d, err)
	}
	sig, err := key.signer.SignMessage(bytes.NewReader(payload))
	if err != nil {
		t.Fatalf("testenv: sign %s: %v", d, err)
	}
	ociSig, err := static.NewSignature(payload, base64.StdEncoding.EncodeToString(sig))
	if err != nil {
		t.Fatalf("testenv: signature layer for %s: %v", d, err)
	}
	attachLegacy(t, d, ociSig)
}

// SignBundle signs d with the real cosign v3 CLI (IMAGEGATE_COSIGN), which
// attaches a Sigstore bundle as an OCI referrer (the referrers API when the
// registry has it, else the tag schema), without a transparency log.
func SignBundle(t testing.TB, d name.Digest, key *CosignKey) {
	t.Helper()
	bin := os.Getenv(CosignEnv)
	if bin == "" {
		t.Fatalf("testenv: %s is not set: run make test (it builds cosign into bin/tools), or build it with hack/cosign.sh and export %s=$PWD/bin/tools/cosign", CosignEnv, CosignEnv)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	home := t.TempDir()
	// #nosec G204 -- the binary is the test's own cosign build.
	cmd := exec.CommandContext(ctx, bin, "sign", "--key", key.PrivatePath,
		"--tlog-upload=false", "--use-signing-config=false", "--allow-insecure-registry", "-y", d.String())
	// A private HOME keeps cosign's TUF cache and config out of the user's.
	cmd.Env = append(os.Environ(), "COSIGN_PASSWORD="+key.Password, "HOME="+home, "TUF_ROOT="+filepath.Join(home, "tuf"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("testenv: cosign sign %s: %v\n%s", d, err, out)
	}
}

// attachLegacy appends sig to the signatures in the .sig tag of d, as
// cosign does (existing signatures are kept).
func attachLegacy(t testing.TB, d name.Digest, sig oci.Signature) {
	t.Helper()
	opts := ociremote.WithRemoteOptions(remote.WithContext(t.Context()))
	se, err := ociremote.SignedEntity(d, opts)
	if err != nil {
		t.Fatalf("testenv: read %s: %v", d, err)
	}
	se, err = mutate.AttachSignatureToEntity(se, sig)
	if err != nil {
		t.Fatalf("testenv: attach signature to %s: %v", d, err)
	}
	if err := ociremote.WriteSignatures(d.Context(), se, opts); err != nil {
		t.Fatalf("testenv: write signatures of %s: %v", d, err)
	}
}
