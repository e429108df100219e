package gitrepo_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/gitrepo"
)

func TestAuthFromSecretData(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		data map[string][]byte
		want gitrepo.Auth
	}{
		{"empty", nil, gitrepo.Auth{}},
		{
			"basic auth with CA",
			map[string][]byte{"username": []byte("bot"), "password": []byte("pw"), "ca.crt": []byte("CA")},
			gitrepo.Auth{Username: "bot", Password: "pw", CAFile: []byte("CA")},
		},
		{
			"bearer token",
			map[string][]byte{"bearerToken": []byte("tok")},
			gitrepo.Auth{BearerToken: "tok"},
		},
		{
			"deprecated caFile is read when ca.crt is absent",
			map[string][]byte{"caFile": []byte("OLD")},
			gitrepo.Auth{CAFile: []byte("OLD")},
		},
		{
			"ca.crt wins over caFile",
			map[string][]byte{"caFile": []byte("OLD"), "ca.crt": []byte("NEW")},
			gitrepo.Auth{CAFile: []byte("NEW")},
		},
		{
			"ssh: password is the identity's passphrase",
			map[string][]byte{
				"identity": []byte("KEY"), "identity.pub": []byte("PUB"),
				"known_hosts": []byte("KH"), "password": []byte("pass"),
			},
			gitrepo.Auth{SSHPrivateKey: []byte("KEY"), KnownHosts: []byte("KH"), Password: "pass", SSHPassphrase: "pass"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if got := gitrepo.AuthFromSecretData(tc.data); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("AuthFromSecretData = %#v, want %#v", got, tc.want)
			}
		})
	}
}

func TestAuthStringRedactsSecrets(t *testing.T) {
	t.Parallel()
	a := gitrepo.Auth{
		Username: "bot", Password: "pw-secret", BearerToken: "tok-secret",
		SSHPrivateKey: []byte("key-secret"), SSHPassphrase: "pass-secret",
	}
	cfg := gitrepo.Config{URL: "https://git.example/repo.git", Auth: a}
	for _, out := range []string{fmt.Sprint(a), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", a), fmt.Sprintf("%v", cfg)} {
		if strings.Contains(out, "secret") {
			t.Errorf("formatted credentials leak a secret: %s", out)
		}
	}
	if !strings.Contains(a.String(), "username=bot") || !strings.Contains(a.String(), "password=<redacted>") {
		t.Errorf("Auth.String() = %q, want which fields are set", a.String())
	}
}
