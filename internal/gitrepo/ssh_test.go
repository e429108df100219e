package gitrepo_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/testenv"
)

func TestUpdateOverSSH(t *testing.T) {
	t.Parallel()
	_, clientKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clientPub, err := ssh.NewPublicKey(clientKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	identity, _ := sshKeyPEM(t, clientKey, "deploy-pass")
	_, strangerKey, _ := ed25519.GenerateKey(rand.Reader)
	strangerIdentity, _ := sshKeyPEM(t, strangerKey, "")
	strangerHostPub, _ := ssh.NewPublicKey(strangerKey.Public())

	git := testenv.NewGitServer(t)
	git.CreateRepo(t, "fleet", nil)
	sshd := newSSHGitServer(t, git, clientPub)
	secret := map[string][]byte{"identity": identity, "password": []byte("deploy-pass"), "known_hosts": sshd.knownHosts}

	t.Run("push with deploy key", func(t *testing.T) {
		cfg := gitrepo.Config{URL: sshd.URL("fleet"), Auth: gitrepo.AuthFromSecretData(secret), Checkout: gitrepo.BranchRef("main"), Author: author}
		res, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"ssh.yaml": "over ssh"}, "via ssh"))
		if err != nil || !res.Pushed {
			t.Fatalf("Update = %+v, %v", res, err)
		}
		if log := git.Log(t, "fleet", "main"); hashes(log)[0] != res.Commit {
			t.Fatalf("server log %q does not start with %s", log, res.Commit)
		}
		if got := git.File(t, "fleet", "main", "ssh.yaml"); got != "over ssh" {
			t.Fatalf("ssh.yaml = %q", got)
		}
	})

	for _, tc := range []struct {
		name string
		auth gitrepo.Auth
	}{
		{"key not authorized", gitrepo.Auth{SSHPrivateKey: strangerIdentity, KnownHosts: sshd.knownHosts}},
		{"host key not in known_hosts", gitrepo.Auth{
			SSHPrivateKey: identity, SSHPassphrase: "deploy-pass",
			KnownHosts: []byte(knownhosts.Line([]string{knownhosts.Normalize(sshd.addr)}, strangerHostPub) + "\n"),
		}},
		{"host absent from known_hosts", gitrepo.Auth{
			SSHPrivateKey: identity, SSHPassphrase: "deploy-pass",
			KnownHosts: []byte(knownhosts.Line([]string{"git.example.test"}, strangerHostPub) + "\n"),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := git.Log(t, "fleet", "main")
			cfg := gitrepo.Config{URL: sshd.URL("fleet"), Auth: tc.auth, Checkout: gitrepo.BranchRef("main"), Author: author}
			_, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"x": "x"}, "refused"))
			if !errors.Is(err, gitrepo.ErrAuth) {
				t.Fatalf("Update err = %v, want ErrAuth", err)
			}
			if after := git.Log(t, "fleet", "main"); !equalStrings(before, after) {
				t.Fatalf("server log changed: %q -> %q", before, after)
			}
		})
	}
}

func TestUpdateOverHTTPSWithCA(t *testing.T) {
	t.Parallel()
	srv, cfg := newRepo(t, testenv.WithTLS())
	if _, err := gitrepo.Update(context.Background(), cfg, noChange); !errors.Is(err, gitrepo.ErrAuth) {
		t.Fatalf("Update without ca.crt: err = %v, want ErrAuth (server certificate not trusted)", err)
	}
	cfg.Auth = gitrepo.AuthFromSecretData(map[string][]byte{"ca.crt": srv.CACert()})
	res, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"tls.yaml": "ok"}, "via https"))
	if err != nil || !res.Pushed {
		t.Fatalf("Update with ca.crt = %+v, %v", res, err)
	}
}
