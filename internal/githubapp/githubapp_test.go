package githubapp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/imagegate/imagegate/internal/githubapp"
	"github.com/imagegate/imagegate/internal/testenv"
)

func mustApp(t *testing.T, data map[string][]byte) *githubapp.App {
	t.Helper()
	app, err := githubapp.FromSecretData(data)
	if err != nil {
		t.Fatal(err)
	}
	return app
}

// TestTokenIsExchangedOnceAndRenewedBeforeExpiry: the first call makes one
// token request, later calls none until five minutes before the token's
// expiry, when one more is made.
func TestTokenIsExchangedOnceAndRenewedBeforeExpiry(t *testing.T) {
	t.Parallel()
	a := testenv.NewGitHubAPI(t)
	app := mustApp(t, a.SecretData(nil))
	now := time.Now()
	tokens := &githubapp.Tokens{Now: func() time.Time { return now }}

	for range 3 {
		tok, err := tokens.Token(t.Context(), app, http.DefaultClient)
		if err != nil || tok.Value != "ghs_installation_token-77" {
			t.Fatalf("Token = %+v, %v", tok, err)
		}
	}
	if got := a.Requests(); got != 1 {
		t.Fatalf("requests after three calls = %d, want 1", got)
	}
	now = a.Expires.Add(-4 * time.Minute)
	if _, err := tokens.Token(t.Context(), app, http.DefaultClient); err != nil {
		t.Fatal(err)
	}
	if got := a.Requests(); got != 2 {
		t.Fatalf("requests once the token is within 5 minutes of expiry = %d, want 2", got)
	}
}

// TestInstallationIsFoundByOwner: an owner is looked up as an organisation,
// then as a user, as Flux does.
func TestInstallationIsFoundByOwner(t *testing.T) {
	t.Parallel()
	a := testenv.NewGitHubAPI(t)
	a.Users["octocat"] = 9001
	app := mustApp(t, a.SecretData(map[string]string{githubapp.KeyAppInstallationID: "", githubapp.KeyAppInstallationOwner: "octocat"}))
	tok, err := (&githubapp.Tokens{}).Token(t.Context(), app, http.DefaultClient)
	if err != nil || tok.Value != "ghs_installation_token-9001" {
		t.Fatalf("Token = %+v, %v", tok, err)
	}
	if got := a.Requests(); got != 3 {
		t.Fatalf("requests = %d, want 3 (org lookup, user lookup, token)", got)
	}
	app = mustApp(t, a.SecretData(map[string]string{githubapp.KeyAppInstallationID: "", githubapp.KeyAppInstallationOwner: "nobody"}))
	if _, err := (&githubapp.Tokens{}).Token(t.Context(), app, http.DefaultClient); !errors.Is(err, githubapp.ErrAPI) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown owner: err = %v, want ErrAPI naming HTTP 404", err)
	}
}

// TestConcurrentCallersShareOneExchange: eight reconciles asking for one
// App's token at once cause one request.
func TestConcurrentCallersShareOneExchange(t *testing.T) {
	t.Parallel()
	a := testenv.NewGitHubAPI(t)
	release := make(chan struct{})
	a.TokenAnswer = func(http.ResponseWriter) bool { <-release; return false }
	app := mustApp(t, a.SecretData(nil))
	tokens := &githubapp.Tokens{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := tokens.Token(t.Context(), app, http.DefaultClient)
			errs <- err
		})
	}
	for a.Requests() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := a.Requests(); got != 1 {
		t.Fatalf("requests = %d, want 1", got)
	}
}

// TestHostileAPIAnswersAreRefused: the API URL is a tenant's choice. An
// endless answer is cut at MaxResponseBytes, errors and non-JSON answers
// are ErrAPI, a server that never answers ends with the caller's deadline;
// nothing is cached from any of them.
func TestHostileAPIAnswersAreRefused(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		answer func(w http.ResponseWriter) bool
		want   string
	}{
		{"endless answer", func(w http.ResponseWriter) bool {
			w.WriteHeader(http.StatusCreated)
			chunk := []byte(strings.Repeat("x", 4096))
			for {
				if _, err := w.Write(chunk); err != nil {
					return true
				}
			}
		}, "over 65536 bytes"},
		{"server error", func(w http.ResponseWriter) bool { w.WriteHeader(http.StatusBadGateway); return true }, "HTTP 502"},
		{"not JSON", func(w http.ResponseWriter) bool {
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte("<html>"))
			return true
		}, "not JSON"},
		{"no token", func(w http.ResponseWriter) bool {
			w.WriteHeader(http.StatusCreated)
			_, _ = w.Write([]byte(`{}`))
			return true
		}, "no token or expiry"},
	} {
		a := testenv.NewGitHubAPI(t)
		a.TokenAnswer = tc.answer
		tokens := &githubapp.Tokens{}
		_, err := tokens.Token(t.Context(), mustApp(t, a.SecretData(nil)), http.DefaultClient)
		if !errors.Is(err, githubapp.ErrAPI) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrAPI with %q", tc.name, err, tc.want)
		}
		if tokens.Len() != 0 {
			t.Errorf("%s: a failed exchange was cached", tc.name)
		}
	}

	hung := testenv.NewGitHubAPI(t)
	stop := make(chan struct{})
	defer close(stop)
	hung.TokenAnswer = func(http.ResponseWriter) bool { <-stop; return true }
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := (&githubapp.Tokens{}).Token(ctx, mustApp(t, hung.SecretData(nil)), http.DefaultClient); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung server: err = %v, want the caller's deadline", err)
	}
}

// TestTokenCacheIsBounded: with room for two Apps, a third drops the token
// closest to expiry.
func TestTokenCacheIsBounded(t *testing.T) {
	t.Parallel()
	tokens := &githubapp.Tokens{MaxApps: 2}
	var apps []*githubapp.App
	var servers []*testenv.GitHubAPI
	for i := range 3 {
		a := testenv.NewGitHubAPI(t)
		a.Expires = time.Now().Add(time.Duration(i+1) * time.Hour)
		if i == 0 {
			a.Expires = time.Now().Add(3 * time.Hour)
		}
		servers, apps = append(servers, a), append(apps, mustApp(t, a.SecretData(nil)))
		if _, err := tokens.Token(t.Context(), apps[i], http.DefaultClient); err != nil {
			t.Fatal(err)
		}
	}
	if tokens.Len() != 2 {
		t.Fatalf("cached Apps = %d, want 2", tokens.Len())
	}
	// App 1 (expiring in 2h) was dropped; apps 0 (3h) and 2 (3h) remain.
	for i, want := range []int64{1, 2, 1} {
		if _, err := tokens.Token(t.Context(), apps[i], http.DefaultClient); err != nil {
			t.Fatal(err)
		}
		if got := servers[i].Requests(); got != want {
			t.Errorf("app %d: requests = %d, want %d", i, got, want)
		}
	}
}

// TestSecretsThatAreNoApp: each missing or malformed key is named, and no
// message carries the private key.
func TestSecretsThatAreNoApp(t *testing.T) {
	t.Parallel()
	a := testenv.NewGitHubAPI(t)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecDER, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit map[string]string
		want string
	}{
		{"no app id", map[string]string{githubapp.KeyAppID: ""}, "githubAppID is required"},
		{"app id not a number", map[string]string{githubapp.KeyAppID: "abc"}, "githubAppID is not a positive number"},
		{"neither installation", map[string]string{githubapp.KeyAppInstallationID: ""}, "githubAppInstallationID or githubAppInstallationOwner is required"},
		{"both installations", map[string]string{githubapp.KeyAppInstallationOwner: "octocat"}, "not both"},
		{"owner with a path", map[string]string{githubapp.KeyAppInstallationID: "", githubapp.KeyAppInstallationOwner: "a/../b"}, "not an account name"},
		{"no key", map[string]string{githubapp.KeyAppPrivateKey: ""}, "githubAppPrivateKey is not a PEM private key"},
		{"not RSA", map[string]string{githubapp.KeyAppPrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))}, "not an RSA key"},
		{"file URL", map[string]string{githubapp.KeyAppBaseURL: "file:///etc/passwd"}, "githubAppBaseURL must be"},
		{"URL with credentials", map[string]string{githubapp.KeyAppBaseURL: "https://u:p@ghe.example/api/v3"}, "githubAppBaseURL must be"},
	} {
		data := a.SecretData(tc.edit)
		_, err := githubapp.FromSecretData(data)
		if !errors.Is(err, githubapp.ErrInvalidApp) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrInvalidApp with %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("%s: the error carries key material: %v", tc.name, err)
		}
	}
}
