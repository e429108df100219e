package gitrepo

import (
	"bytes"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
)

// Signer signs commit objects. message is the commit encoded without its
// signature; Sign returns the armored signature git stores in the commit's
// gpgsig header (OpenPGP or SSH, see gitformat-signature(5)). Its method set
// is go-git's Signer, so any go-git signer fits too.
type Signer interface {
	Sign(message io.Reader) ([]byte, error)
}

// Signing key types, as ImageUpdateAutomation's git.commit.signingKey.type.
const (
	SigningKeyTypeGPG = "gpg"
	SigningKeyTypeSSH = "ssh"
)

// Keys of a signing key secret, as image-automation-controller reads them.
const (
	SecretKeyGPGKey        = "git.asc"    // armored OpenPGP private key
	SecretKeyGPGPassphrase = "passphrase" // its passphrase, if encrypted
	// SSH signing reuses the transport keys: `identity` and `password`.
)

// NewSignerFromSecretData builds the signer an ImageUpdateAutomation's
// signingKey describes: keyType "gpg" (or "") reads `git.asc` and
// `passphrase`; "ssh" reads `identity` and `password`.
func NewSignerFromSecretData(keyType string, data map[string][]byte) (Signer, error) {
	switch keyType {
	case SigningKeyTypeGPG, "":
		key, ok := data[SecretKeyGPGKey]
		if !ok {
			return nil, fmt.Errorf("%w: signing key secret has no %q", ErrInvalidConfig, SecretKeyGPGKey)
		}
		return NewOpenPGPSigner(key, string(data[SecretKeyGPGPassphrase]))
	case SigningKeyTypeSSH:
		key, ok := data[SecretKeyIdentity]
		if !ok {
			return nil, fmt.Errorf("%w: signing key secret has no %q", ErrInvalidConfig, SecretKeyIdentity)
		}
		return NewSSHSigner(key, string(data[SecretKeyPassword]))
	default:
		return nil, fmt.Errorf("%w: signing key type %q (use %q or %q)", ErrSigningUnsupported, keyType, SigningKeyTypeGPG, SigningKeyTypeSSH)
	}
}

// openPGPSigner makes detached armored OpenPGP signatures, as `git commit -S`
// with gpg does.
type openPGPSigner struct {
	entity *openpgp.Entity
}

// NewOpenPGPSigner reads an armored OpenPGP private key (the first entity of
// the key ring, as Flux does) and decrypts it with passphrase if it is
// encrypted. The key is checked here so a bad key fails before any clone.
func NewOpenPGPSigner(armoredKey []byte, passphrase string) (Signer, error) {
	ring, err := openpgp.ReadArmoredKeyRing(bytes.NewReader(armoredKey))
	if err != nil {
		return nil, fmt.Errorf("%w: read OpenPGP signing key: %w", ErrInvalidConfig, err)
	}
	if len(ring) == 0 {
		return nil, fmt.Errorf("%w: OpenPGP signing key: no key in the armored data", ErrInvalidConfig)
	}
	entity := ring[0]
	if entity.PrivateKey == nil {
		return nil, fmt.Errorf("%w: OpenPGP signing key %X is a public key; the private key is needed", ErrInvalidConfig, entity.PrimaryKey.Fingerprint)
	}
	if err := entity.DecryptPrivateKeys([]byte(passphrase)); err != nil {
		return nil, fmt.Errorf("%w: decrypt OpenPGP signing key %X (wrong passphrase?): %w", ErrInvalidConfig, entity.PrimaryKey.Fingerprint, err)
	}
	if _, ok := entity.SigningKey(time.Now()); !ok {
		return nil, fmt.Errorf("%w: OpenPGP key %X has no valid signing key (expired or revoked?)", ErrInvalidConfig, entity.PrimaryKey.Fingerprint)
	}
	return &openPGPSigner{entity: entity}, nil
}

// Sign implements Signer.
func (s *openPGPSigner) Sign(message io.Reader) ([]byte, error) {
	var sig bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&sig, s.entity, message, nil); err != nil {
		return nil, fmt.Errorf("sign commit with OpenPGP: %w", err)
	}
	return sig.Bytes(), nil
}
