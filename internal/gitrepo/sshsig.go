package gitrepo

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/ssh"

	"github.com/imagegate/imagegate/internal/sshsig"
)

// go-git v5.19 has no SSH signer but accepts any Signer; this one writes
// the SSHSIG format (internal/sshsig), the one `git commit -S` with
// gpg.format=ssh produces via `ssh-keygen -Y sign`.

const (
	sshsigHash = "sha512"
	minRSABits = 2048
)

type sshSigner struct {
	signer ssh.Signer
}

// NewSSHSigner reads an SSH private key (any format ssh.ParsePrivateKey
// accepts, e.g. OpenSSH's) decrypted with passphrase when encrypted.
// Supported key types: ed25519, ecdsa (P-256/384/521) and RSA of at least
// 2048 bits; other types return ErrSigningUnsupported.
func NewSSHSigner(privateKey []byte, passphrase string) (Signer, error) {
	signer, err := ssh.ParsePrivateKey(privateKey)
	var missing *ssh.PassphraseMissingError
	if errors.As(err, &missing) {
		if passphrase == "" {
			return nil, fmt.Errorf("%w: SSH signing key is encrypted and the secret has no password", ErrInvalidConfig)
		}
		signer, err = ssh.ParsePrivateKeyWithPassphrase(privateKey, []byte(passphrase))
	}
	if err != nil {
		return nil, fmt.Errorf("%w: read SSH signing key: %w", ErrInvalidConfig, err)
	}
	if err := checkSSHSigningKey(signer.PublicKey()); err != nil {
		return nil, err
	}
	return &sshSigner{signer: signer}, nil
}

func checkSSHSigningKey(pub ssh.PublicKey) error {
	switch pub.Type() {
	case ssh.KeyAlgoED25519, ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return nil
	case ssh.KeyAlgoRSA:
		cpk, ok := pub.(ssh.CryptoPublicKey)
		if !ok {
			return fmt.Errorf("%w: RSA key without a public modulus", ErrSigningUnsupported)
		}
		rsaPub, ok := cpk.CryptoPublicKey().(*rsa.PublicKey)
		if !ok || rsaPub.N.BitLen() < minRSABits {
			return fmt.Errorf("%w: RSA signing keys need at least %d bits", ErrSigningUnsupported, minRSABits)
		}
		return nil
	default:
		return fmt.Errorf("%w: SSH key type %s (use ed25519, ecdsa or RSA >= %d bits)", ErrSigningUnsupported, pub.Type(), minRSABits)
	}
}

// Sign implements Signer.
func (s *sshSigner) Sign(message io.Reader) ([]byte, error) {
	h := sha512.New()
	if _, err := io.Copy(h, message); err != nil {
		return nil, fmt.Errorf("sign commit with SSH key: read commit: %w", err)
	}
	sig, err := s.sign(sshsig.SignedData(sshsig.GitNamespace, "", sshsigHash, h.Sum(nil)))
	if err != nil {
		return nil, fmt.Errorf("sign commit with SSH key: %w", err)
	}
	return sshsig.Armor(sshsig.Blob{Version: sshsig.Version, PublicKey: s.signer.PublicKey().Marshal(),
		Namespace: sshsig.GitNamespace, HashAlgorithm: sshsigHash, Signature: ssh.Marshal(sig)}), nil
}

// sign uses rsa-sha2-512 for RSA keys, as ssh-keygen does: the default
// ssh-rsa (SHA-1) signatures are refused by current OpenSSH.
func (s *sshSigner) sign(data []byte) (*ssh.Signature, error) {
	if s.signer.PublicKey().Type() == ssh.KeyAlgoRSA {
		if as, ok := s.signer.(ssh.AlgorithmSigner); ok {
			return as.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512)
		}
	}
	return s.signer.Sign(rand.Reader, data)
}
