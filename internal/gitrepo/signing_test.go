package gitrepo_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/crypto/ssh"

	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/testenv"
)

// openPGPKey generates a key pair and returns the armored private key
// (encrypted when passphrase is set) and the armored public key.
func openPGPKey(t *testing.T, passphrase string) (private, public []byte) {
	t.Helper()
	entity, err := openpgp.NewEntity("imagegate", "test", author.Email, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var pub, priv bytes.Buffer
	w, err := armor.Encode(&pub, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := entity.Serialize(w); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	if passphrase != "" {
		if err := entity.EncryptPrivateKeys([]byte(passphrase), nil); err != nil {
			t.Fatal(err)
		}
	}
	w, err = armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := entity.SerializePrivateWithoutSigning(w, nil); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	return priv.Bytes(), pub.Bytes()
}

func TestUpdateOpenPGPSignedCommitVerifies(t *testing.T) {
	t.Parallel()
	for _, passphrase := range []string{"", "correct horse"} {
		t.Run("passphrase="+passphrase, func(t *testing.T) {
			t.Parallel()
			private, public := openPGPKey(t, passphrase)
			signer, err := gitrepo.NewSignerFromSecretData("gpg", map[string][]byte{"git.asc": private, "passphrase": []byte(passphrase)})
			if err != nil {
				t.Fatalf("NewSignerFromSecretData: %v", err)
			}
			srv, cfg := newRepo(t)
			cfg.Signer = signer
			res, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a.yaml": "a"}, "signed"))
			if err != nil || !res.Pushed {
				t.Fatalf("Update = %+v, %v", res, err)
			}

			repo, err := git.PlainOpen(srv.RepoDir("fleet"))
			if err != nil {
				t.Fatal(err)
			}
			commit, err := repo.CommitObject(plumbing.NewHash(res.Commit))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := commit.Verify(string(public)); err != nil {
				t.Fatalf("signature does not verify with the public key: %v\n%s", err, commit.PGPSignature)
			}
			_, otherPublic := openPGPKey(t, "")
			if _, err := commit.Verify(string(otherPublic)); err == nil {
				t.Fatal("signature verifies with an unrelated key")
			}
		})
	}
}

func TestNewOpenPGPSignerRejectsBadKeys(t *testing.T) {
	t.Parallel()
	private, public := openPGPKey(t, "right")
	for _, tc := range []struct {
		name       string
		key        []byte
		passphrase string
	}{
		{"wrong passphrase", private, "wrong"},
		{"missing passphrase", private, ""},
		{"public key only", public, ""},
		{"not a key", []byte("-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nnope\n"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := gitrepo.NewOpenPGPSigner(tc.key, tc.passphrase); !errors.Is(err, gitrepo.ErrInvalidConfig) {
				t.Fatalf("NewOpenPGPSigner err = %v, want ErrInvalidConfig", err)
			}
		})
	}
}

// sshKeyPEM returns an OpenSSH private key (encrypted when passphrase is
// set) and its authorized_keys line.
func sshKeyPEM(t *testing.T, key crypto.Signer, passphrase string) (private, authorized []byte) {
	t.Helper()
	var block *pem.Block
	var err error
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(key, "test")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(key, "test", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block), ssh.MarshalAuthorizedKey(pub)
}

func TestUpdateSSHSignedCommitVerifiesWithGit(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("ssh-keygen"); err != nil {
		t.Fatal("ssh-keygen is needed by git to verify SSH signatures: install openssh-client (.ci/run does)")
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 3072)
	for _, tc := range []struct {
		name       string
		key        crypto.Signer
		passphrase string
	}{
		{"ed25519", edKey, ""},
		{"ed25519 encrypted", edKey, "pass"},
		{"ecdsa-p256", ecKey, ""},
		{"rsa-3072", rsaKey, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			private, authorized := sshKeyPEM(t, tc.key, tc.passphrase)
			signer, err := gitrepo.NewSignerFromSecretData("ssh", map[string][]byte{"identity": private, "password": []byte(tc.passphrase)})
			if err != nil {
				t.Fatalf("NewSignerFromSecretData: %v", err)
			}
			srv, cfg := newRepo(t)
			cfg.Signer = signer
			res, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a.yaml": "a"}, "ssh signed"))
			if err != nil || !res.Pushed {
				t.Fatalf("Update = %+v, %v", res, err)
			}
			out, err := verifyCommitSSH(t, srv, res.Commit, authorized)
			if err != nil {
				t.Fatalf("git verify-commit: %v\n%s", err, out)
			}
			if !strings.Contains(out, `Good "git" signature`) {
				t.Fatalf("git verify-commit output = %q, want a good git signature", out)
			}
			_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
			_, otherAuthorized := sshKeyPEM(t, otherKey, "")
			if out, err := verifyCommitSSH(t, srv, res.Commit, otherAuthorized); err == nil {
				t.Fatalf("signature verifies against an unrelated key: %s", out)
			}
		})
	}
}

// verifyCommitSSH runs `git verify-commit` on the server's repository with an
// allowed-signers file holding only authorized, for the author's email.
func verifyCommitSSH(t *testing.T, srv *testenv.GitServer, commit string, authorized []byte) (string, error) {
	t.Helper()
	home := t.TempDir()
	allowed := filepath.Join(home, "allowed_signers")
	if err := os.WriteFile(allowed, append([]byte(author.Email+" "), authorized...), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "-c", "gpg.ssh.allowedSignersFile="+allowed, "verify-commit", commit)
	cmd.Dir = srv.RepoDir("fleet")
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "LC_ALL=C"}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestNewSSHSignerRejectsUnsupportedKeys(t *testing.T) {
	t.Parallel()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPEM, _ := sshKeyPEM(t, small, "")
	if _, err := gitrepo.NewSSHSigner(smallPEM, ""); !errors.Is(err, gitrepo.ErrSigningUnsupported) {
		t.Errorf("RSA-1024: err = %v, want ErrSigningUnsupported", err)
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	encrypted, _ := sshKeyPEM(t, ed, "pass")
	if _, err := gitrepo.NewSSHSigner(encrypted, ""); !errors.Is(err, gitrepo.ErrInvalidConfig) {
		t.Errorf("encrypted key without passphrase: err = %v, want ErrInvalidConfig", err)
	}
	if _, err := gitrepo.NewSSHSigner(encrypted, "wrong"); !errors.Is(err, gitrepo.ErrInvalidConfig) {
		t.Errorf("encrypted key with a wrong passphrase: err = %v, want ErrInvalidConfig", err)
	}
	if _, err := gitrepo.NewSignerFromSecretData("x509", nil); !errors.Is(err, gitrepo.ErrSigningUnsupported) {
		t.Errorf("type x509: err = %v, want ErrSigningUnsupported", err)
	}
	if _, err := gitrepo.NewSignerFromSecretData("gpg", map[string][]byte{}); !errors.Is(err, gitrepo.ErrInvalidConfig) {
		t.Errorf("gpg secret without git.asc: err = %v, want ErrInvalidConfig", err)
	}
}
