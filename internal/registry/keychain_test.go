package registry_test

import (
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

func dockerConfig(host, user, pass string) []byte {
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	return fmt.Appendf(nil, `{"auths":{%q:{"auth":%q}}}`, host, auth)
}

// basicAuth demands user:pass on every client request, as a private
// registry with basic auth does.
func basicAuth(user, pass string) testenv.RegistryOption {
	return testenv.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || subtle.ConstantTimeCompare([]byte(u+":"+p), []byte(user+":"+pass)) != 1 {
				w.Header().Set("WWW-Authenticate", `Basic realm="fixture"`)
				status(http.StatusUnauthorized, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)(w, r)
				return
			}
			next.ServeHTTP(w, r)
		})
	})
}

func TestKeychainAgainstBasicAuthRegistry(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-Passw0rd"
	reg := testenv.NewRegistry(t, basicAuth("robot", secret))
	d := reg.PushImage(t, "private/app", "v1")

	kc, err := registry.KeychainFromDockerConfigJSON(
		dockerConfig("other.example", "x", "y"),
		dockerConfig(reg.Host(), "robot", secret),
		dockerConfig(reg.Host(), "robot", "shadowed"), // first match wins
	)
	if err != nil {
		t.Fatal(err)
	}
	c := newClient(t, registry.Options{AllowInsecure: true, Keychain: kc})
	got, err := c.Resolve(t.Context(), parse(t, c, reg.Repo("private/app")+":v1"))
	if err != nil || got.DigestStr() != d.DigestStr() {
		t.Fatalf("resolve with credentials = %v, %v; want %s", got, err, d)
	}
	if err := c.Probe(t.Context(), d, nil); err != nil {
		t.Fatalf("probe with credentials: %v", err)
	}

	for _, tc := range []struct {
		name string
		kc   authn.Keychain
	}{
		{"anonymous", nil},
		{"wrong password", mustKeychain(t, dockerConfig(reg.Host(), "robot", "wrong"))},
	} {
		c := newClient(t, registry.Options{AllowInsecure: true, Keychain: tc.kc})
		_, err := c.Resolve(t.Context(), parse(t, c, reg.Repo("private/app")+":v1"))
		wantErr(t, err, registry.ErrNotPullable, false)
		if pe := pullError(t, err); pe.Status != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401", tc.name, pe.Status)
		}
		err = c.Probe(t.Context(), d, nil)
		wantErr(t, err, registry.ErrNotPullable, false)
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "wrong") {
			t.Fatalf("%s: error leaks credentials: %v", tc.name, err)
		}
	}
}

func mustKeychain(t *testing.T, configs ...[]byte) authn.Keychain {
	t.Helper()
	kc, err := registry.KeychainFromDockerConfigJSON(configs...)
	if err != nil {
		t.Fatal(err)
	}
	return kc
}

func TestKeychainMatching(t *testing.T) {
	t.Parallel()
	kc := mustKeychain(t,
		[]byte(`{"auths":{
			"https://index.docker.io/v1/": {"username":"hub","password":"p"},
			"registry.example.com": {"auth":"`+base64.StdEncoding.EncodeToString([]byte("host:p"))+`"},
			"registry.example.com/team": {"username":"team","password":"p"},
			"*.corp.example": {"username":"wild","password":"p"},
			"https://ports.example:5000/": {"username":"port","password":"p"},
			"tokens.example": {"identitytoken":"refresh-token"}
		}}`),
		[]byte(`{"corp.example":{"username":"legacy","password":"p"}}`), // .dockercfg
	)
	tests := []struct {
		repo, wantUser string
	}{
		{"nginx", "hub"},
		{"docker.io/org/app", "hub"},
		{"registry.example.com/other/app", "host"},
		{"registry.example.com/team/app", "team"},
		{"registry.example.com/teamwork/app", "host"}, // path prefix is per segment
		{"a.corp.example/app", "wild"},
		{"a.b.corp.example/app", ""}, // * is one label
		{"corp.example/app", "legacy"},
		{"ports.example:5000/app", "port"},
		{"ports.example/app", ""}, // the port must match
		{"unknown.example/app", ""},
	}
	for _, tt := range tests {
		repo, err := name.NewRepository(tt.repo)
		if err != nil {
			t.Fatal(err)
		}
		auth, err := kc.Resolve(repo)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := auth.Authorization()
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Username != tt.wantUser {
			t.Errorf("%s: user %q, want %q", tt.repo, cfg.Username, tt.wantUser)
		}
	}
	repo, _ := name.NewRepository("tokens.example/app")
	auth, _ := kc.Resolve(repo)
	if cfg, _ := auth.Authorization(); cfg.IdentityToken != "refresh-token" {
		t.Errorf("identity token not carried: %+v", cfg)
	}
}

func TestKeychainInvalidPayloads(t *testing.T) {
	t.Parallel()
	const secret = "hunter2-very-secret"
	tests := map[string]string{
		"not JSON":         `{"auths": {"r.example": {"auth": "` + secret,
		"auths not a map":  `{"auths": ["` + secret + `"]}`,
		"auth not base64":  `{"auths": {"r.example": {"auth": "!!` + secret + `"}}}`,
		"auth without ':'": `{"auths": {"r.example": {"auth": "` + base64.StdEncoding.EncodeToString([]byte(secret)) + `"}}}`,
		"empty key":        `{"auths": {"": {"username": "u", "password": "` + secret + `"}}}`,
	}
	for name, payload := range tests {
		_, err := registry.KeychainFromDockerConfigJSON([]byte(`{"auths":{}}`), []byte(payload))
		if !errors.Is(err, registry.ErrInvalidDockerConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidDockerConfig", name, err)
			continue
		}
		if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "pull secret 2 of 2") {
			t.Errorf("%s: error %q must name the payload and not its content", name, err)
		}
	}
}
