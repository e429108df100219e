package audit

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/ProtonMail/go-crypto/openpgp"
	"golang.org/x/crypto/ssh"

	"github.com/imagegate/imagegate/internal/sshsig"
)

// Signature statuses of a commit.
const (
	SignatureNone       = "none"        // the commit is not signed
	SignatureAllowed    = "allowed"     // signed by a key of the allowed signers or keyring
	SignatureNotAllowed = "not-allowed" // signed, but by no allowed key, or the signature is bad
)

// Signature is what the audit learned of a commit's signature.
type Signature struct {
	Status string `json:"status"`
	// Signer names the allowed key: the allowed-signers principals and the
	// key's SHA256 fingerprint, or the OpenPGP key's fingerprint and first
	// identity.
	Signer string `json:"signer,omitempty"`
	// Detail says why a signature is not allowed.
	Detail string `json:"detail,omitempty"`
}

// Signers are the keys whose signature makes a commit with trailers the
// gate's.
type Signers struct {
	ssh []allowedSigner
	pgp openpgp.EntityList
}

// maxKeyringBytes bounds the OpenPGP keyring read into memory.
const maxKeyringBytes = 4 << 20

// LoadSigners reads an SSH allowed-signers file and/or an armored OpenPGP
// keyring; an empty name is skipped. With neither, no commit is the gate's.
func LoadSigners(allowedSignersFile, keyringFile string) (*Signers, error) {
	s := &Signers{}
	if allowedSignersFile != "" {
		f, err := os.Open(allowedSignersFile)
		if err != nil {
			return nil, fmt.Errorf("allowed signers: %w", err)
		}
		defer func() { _ = f.Close() }() // read-only
		if s.ssh, err = parseAllowedSigners(allowedSignersFile, f); err != nil {
			return nil, err
		}
	}
	if keyringFile != "" {
		data, err := readBounded(keyringFile, maxKeyringBytes)
		if err != nil {
			return nil, fmt.Errorf("keyring: %w", err)
		}
		if len(data) > maxKeyringBytes {
			return nil, fmt.Errorf("keyring %s: larger than %d bytes", keyringFile, maxKeyringBytes)
		}
		if s.pgp, err = openpgp.ReadArmoredKeyRing(bytes.NewReader(data)); err != nil {
			return nil, fmt.Errorf("keyring %s: not an armored OpenPGP public key block: %w", keyringFile, err)
		}
	}
	return s, nil
}

// verify checks the commit's signature against the allowed keys.
func (s *Signers) verify(c commitObject) Signature {
	switch {
	case c.signature == "":
		return Signature{Status: SignatureNone}
	case strings.HasPrefix(c.signature, "-----BEGIN SSH SIGNATURE-----"):
		signer, err := s.verifySSH(c)
		if err != nil {
			return Signature{Status: SignatureNotAllowed, Detail: err.Error()}
		}
		return Signature{Status: SignatureAllowed, Signer: signer}
	case strings.HasPrefix(c.signature, "-----BEGIN PGP SIGNATURE-----"):
		if len(s.pgp) == 0 {
			return Signature{Status: SignatureNotAllowed, Detail: "OpenPGP signature and no --keyring"}
		}
		e, err := openpgp.CheckArmoredDetachedSignature(s.pgp, bytes.NewReader(c.payload), strings.NewReader(c.signature), nil)
		if err != nil {
			return Signature{Status: SignatureNotAllowed, Detail: "OpenPGP: " + err.Error()}
		}
		return Signature{Status: SignatureAllowed, Signer: pgpName(e)}
	}
	return Signature{Status: SignatureNotAllowed, Detail: "unknown signature format (X.509 signatures are not verified)"}
}

// readBounded reads at most limit+1 bytes of a file.
func readBounded(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only
	return io.ReadAll(io.LimitReader(f, limit+1))
}

func pgpName(e *openpgp.Entity) string {
	name := fmt.Sprintf("openpgp %X", e.PrimaryKey.Fingerprint)
	for id := range e.Identities {
		return name + " " + id
	}
	return name
}

// verifySSH verifies an SSHSIG over the commit payload in the "git"
// namespace, as `ssh-keygen -Y verify` does for `git verify-commit`, and
// returns the allowed signer it matched. A key is allowed when a line of
// the file holds it, its namespaces admit "git", and the committer time is
// within its validity (git passes the commit time as verify-time).
func (s *Signers) verifySSH(c commitObject) (string, error) {
	if len(s.ssh) == 0 {
		return "", errors.New("SSH signature and no --allowed-signers")
	}
	sig, err := sshsig.Parse(c.signature)
	if err != nil {
		return "", err
	}
	if sig.Version != sshsig.Version || sig.Namespace != sshsig.GitNamespace {
		return "", fmt.Errorf("SSH signature version %d namespace %q, want 1 and git", sig.Version, sig.Namespace)
	}
	pub, err := ssh.ParsePublicKey(sig.PublicKey)
	if err != nil {
		return "", fmt.Errorf("SSH signature key: %w", err)
	}
	var inner ssh.Signature
	if err := ssh.Unmarshal(sig.Signature, &inner); err != nil {
		return "", fmt.Errorf("SSH signature: %w", err)
	}
	if inner.Format == ssh.KeyAlgoRSA {
		return "", errors.New("SSH signature uses RSA with SHA-1, which OpenSSH refuses")
	}
	var h hash.Hash
	switch sig.HashAlgorithm {
	case "sha512":
		h = sha512.New()
	case "sha256":
		h = sha256.New()
	default:
		return "", fmt.Errorf("SSH signature hash %q", sig.HashAlgorithm)
	}
	h.Write(c.payload)
	if err := pub.Verify(sshsig.SignedData(sig.Namespace, sig.Reserved, sig.HashAlgorithm, h.Sum(nil)), &inner); err != nil {
		return "", fmt.Errorf("SSH signature does not verify: %w", err)
	}
	for _, a := range s.ssh {
		if a.allows(pub, sig.Namespace, c.committer.when) {
			return a.principals + " " + ssh.FingerprintSHA256(pub), nil
		}
	}
	return "", fmt.Errorf("SSH key %s is not allowed to sign git commits at %s", ssh.FingerprintSHA256(pub), c.committer.when.Format("2006-01-02T15:04:05Z"))
}
