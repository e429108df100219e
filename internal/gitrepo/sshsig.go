package gitrepo

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// go-git v5.19 verifies nothing about SSH signatures and has no SSH signer,
// but it accepts any Signer; x/crypto/ssh has no SSHSIG encoder either. This
// file writes the SSHSIG format (openssh PROTOCOL.sshsig), the one
// `git commit -S` with gpg.format=ssh produces via `ssh-keygen -Y sign`.

const (
	sshsigMagic      = "SSHSIG"
	sshsigVersion    = 1
	sshsigNamespace  = "git" // git signs and verifies commits in this namespace
	sshsigHash       = "sha512"
	sshsigLineLength = 70 // as ssh-keygen wraps the armor
	minRSABits       = 2048
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
	toSign := append([]byte(sshsigMagic), ssh.Marshal(struct {
		Namespace, Reserved, HashAlgorithm string
		Hash                               []byte
	}{sshsigNamespace, "", sshsigHash, h.Sum(nil)})...)

	sig, err := s.sign(toSign)
	if err != nil {
		return nil, fmt.Errorf("sign commit with SSH key: %w", err)
	}
	blob := append([]byte(sshsigMagic), ssh.Marshal(struct {
		Version                            uint32
		PublicKey                          []byte
		Namespace, Reserved, HashAlgorithm string
		Signature                          []byte
	}{sshsigVersion, s.signer.PublicKey().Marshal(), sshsigNamespace, "", sshsigHash, ssh.Marshal(sig)})...)
	return armorSSHSig(blob), nil
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

func armorSSHSig(blob []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(blob)
	var b strings.Builder
	b.WriteString("-----BEGIN SSH SIGNATURE-----\n")
	for len(enc) > sshsigLineLength {
		b.WriteString(enc[:sshsigLineLength])
		b.WriteByte('\n')
		enc = enc[sshsigLineLength:]
	}
	b.WriteString(enc)
	b.WriteString("\n-----END SSH SIGNATURE-----\n")
	return []byte(b.String())
}
