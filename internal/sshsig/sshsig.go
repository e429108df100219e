// Package sshsig owns the SSHSIG format (openssh PROTOCOL.sshsig), the one
// `git commit -S` with gpg.format=ssh writes through `ssh-keygen -Y sign`:
// the blob and its armor, and the data a signature covers. x/crypto/ssh
// has no SSHSIG encoder or decoder and go-git v5 verifies nothing about
// SSH signatures, so the gate's commit signer (internal/gitrepo) and the
// audit's verifier (internal/audit) share this one. It signs and verifies
// nothing itself and must not import either of them.
package sshsig

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/ssh"
)

// Format constants.
const (
	Magic        = "SSHSIG"
	Version      = 1
	GitNamespace = "git" // git signs and verifies commits in this namespace
	armorBegin   = "-----BEGIN SSH SIGNATURE-----"
	armorEnd     = "-----END SSH SIGNATURE-----"
	lineLength   = 70 // as ssh-keygen wraps the armor
)

// Blob is an SSHSIG blob after its magic.
type Blob struct {
	Version       uint32
	PublicKey     []byte // the signer's public key, SSH wire format
	Namespace     string
	Reserved      string
	HashAlgorithm string // "sha512" or "sha256"
	Signature     []byte // an ssh.Signature, SSH wire format
}

// SignedData is what an SSHSIG signature covers: the magic, then the
// namespace, the reserved field (empty when signing), the hash algorithm
// and the message's hash under it.
func SignedData(namespace, reserved, hashAlgorithm string, messageHash []byte) []byte {
	return append([]byte(Magic), ssh.Marshal(struct {
		Namespace, Reserved, HashAlgorithm string
		Hash                               []byte
	}{namespace, reserved, hashAlgorithm, messageHash})...)
}

// Armor encodes b as ssh-keygen writes a signature.
func Armor(b Blob) []byte {
	enc := base64.StdEncoding.EncodeToString(append([]byte(Magic), ssh.Marshal(b)...))
	var w strings.Builder
	w.WriteString(armorBegin + "\n")
	for len(enc) > lineLength {
		w.WriteString(enc[:lineLength])
		w.WriteByte('\n')
		enc = enc[lineLength:]
	}
	w.WriteString(enc)
	w.WriteString("\n" + armorEnd + "\n")
	return []byte(w.String())
}

// ErrNotSSHSIG is returned for text that is not an armored SSHSIG blob.
var ErrNotSSHSIG = errors.New("SSH signature is not an SSHSIG")

// Parse decodes an armored signature.
func Parse(armored string) (Blob, error) {
	body := strings.TrimSpace(armored)
	body = strings.TrimPrefix(body, armorBegin)
	body = strings.TrimSuffix(body, armorEnd)
	raw, err := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(body), ""))
	if err != nil || !bytes.HasPrefix(raw, []byte(Magic)) {
		return Blob{}, ErrNotSSHSIG
	}
	var b Blob
	if err := ssh.Unmarshal(raw[len(Magic):], &b); err != nil {
		return Blob{}, fmt.Errorf("SSH signature: %w", err)
	}
	return b, nil
}
