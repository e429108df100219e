package githubapp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/imagegate/imagegate/internal/githubapp"
)

// api is a GitHub REST API stand-in: it checks the App's JWT as GitHub
// does (RS256 by the App's key, issuer the App ID, at most 10 minutes) and
// answers the installation lookup and token endpoints.
type api struct {
	*httptest.Server
	key       *rsa.PrivateKey
	appID     int64
	requests  atomic.Int64
	token     string
	expires   time.Time
	orgs      map[string]int64
	users     map[string]int64
	tokenCall func(w http.ResponseWriter) bool // overrides the token answer when it returns true
}

func newAPI(t *testing.T) *api {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	a := &api{key: key, appID: 4242, token: "ghs_installation_token", expires: time.Now().Add(time.Hour), orgs: map[string]int64{}, users: map[string]int64{}}
	a.Server = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.Close)
	return a
}

func (a *api) serve(w http.ResponseWriter, r *http.Request) {
	a.requests.Add(1)
	if err := a.checkJWT(r); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	switch parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); {
	case r.Method == http.MethodPost && len(parts) == 4 && parts[0] == "app" && parts[1] == "installations" && parts[3] == "access_tokens":
		if a.tokenCall != nil && a.tokenCall(w) {
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"token": a.token + "-" + parts[2], "expires_at": a.expires})
	case r.Method == http.MethodGet && len(parts) == 3 && parts[2] == "installation" && (parts[0] == "orgs" || parts[0] == "users"):
		ids := a.orgs
		if parts[0] == "users" {
			ids = a.users
		}
		id, ok := ids[parts[1]]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string]any{"id": id})
	default:
		http.NotFound(w, r)
	}
}

func (a *api) checkJWT(r *http.Request) error {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return errors.New("no bearer token")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return err
	}
	var c jwt.Claims
	if err := tok.Claims(&a.key.PublicKey, &c); err != nil {
		return err
	}
	if c.Issuer != strconv.FormatInt(a.appID, 10) || c.Expiry.Time().Sub(c.IssuedAt.Time()) > 10*time.Minute {
		return fmt.Errorf("claims %+v", c)
	}
	return nil
}

func (a *api) secret(extra map[string]string) map[string][]byte {
	data := map[string][]byte{
		githubapp.KeyAppID:             []byte(strconv.FormatInt(a.appID, 10)),
		githubapp.KeyAppPrivateKey:     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(a.key)}),
		githubapp.KeyAppBaseURL:        []byte(a.URL),
		githubapp.KeyAppInstallationID: []byte("77"),
	}
	for k, v := range extra {
		if v == "" {
			delete(data, k)
			continue
		}
		data[k] = []byte(v)
	}
	return data
}

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
	a := newAPI(t)
	app := mustApp(t, a.secret(nil))
	now := time.Now()
	tokens := &githubapp.Tokens{Now: func() time.Time { return now }}

	for range 3 {
		tok, err := tokens.Token(t.Context(), app, http.DefaultClient)
		if err != nil || tok.Value != "ghs_installation_token-77" {
			t.Fatalf("Token = %+v, %v", tok, err)
		}
	}
	if got := a.requests.Load(); got != 1 {
		t.Fatalf("requests after three calls = %d, want 1", got)
	}
	now = a.expires.Add(-4 * time.Minute)
	if _, err := tokens.Token(t.Context(), app, http.DefaultClient); err != nil {
		t.Fatal(err)
	}
	if got := a.requests.Load(); got != 2 {
		t.Fatalf("requests once the token is within 5 minutes of expiry = %d, want 2", got)
	}
}

// TestInstallationIsFoundByOwner: an owner is looked up as an organisation,
// then as a user, as Flux does.
func TestInstallationIsFoundByOwner(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	a.users["octocat"] = 9001
	app := mustApp(t, a.secret(map[string]string{githubapp.KeyAppInstallationID: "", githubapp.KeyAppInstallationOwner: "octocat"}))
	tok, err := (&githubapp.Tokens{}).Token(t.Context(), app, http.DefaultClient)
	if err != nil || tok.Value != "ghs_installation_token-9001" {
		t.Fatalf("Token = %+v, %v", tok, err)
	}
	if got := a.requests.Load(); got != 3 {
		t.Fatalf("requests = %d, want 3 (org lookup, user lookup, token)", got)
	}
	app = mustApp(t, a.secret(map[string]string{githubapp.KeyAppInstallationID: "", githubapp.KeyAppInstallationOwner: "nobody"}))
	if _, err := (&githubapp.Tokens{}).Token(t.Context(), app, http.DefaultClient); !errors.Is(err, githubapp.ErrAPI) || !strings.Contains(err.Error(), "404") {
		t.Fatalf("unknown owner: err = %v, want ErrAPI naming HTTP 404", err)
	}
}

// TestConcurrentCallersShareOneExchange: eight reconciles asking for one
// App's token at once cause one request.
func TestConcurrentCallersShareOneExchange(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
	release := make(chan struct{})
	a.tokenCall = func(http.ResponseWriter) bool { <-release; return false }
	app := mustApp(t, a.secret(nil))
	tokens := &githubapp.Tokens{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := tokens.Token(t.Context(), app, http.DefaultClient)
			errs <- err
		})
	}
	for a.requests.Load() == 0 {
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
	if got := a.requests.Load(); got != 1 {
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
		a := newAPI(t)
		a.tokenCall = tc.answer
		tokens := &githubapp.Tokens{}
		_, err := tokens.Token(t.Context(), mustApp(t, a.secret(nil)), http.DefaultClient)
		if !errors.Is(err, githubapp.ErrAPI) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrAPI with %q", tc.name, err, tc.want)
		}
		if tokens.Len() != 0 {
			t.Errorf("%s: a failed exchange was cached", tc.name)
		}
	}

	hung := newAPI(t)
	stop := make(chan struct{})
	defer close(stop)
	hung.tokenCall = func(http.ResponseWriter) bool { <-stop; return true }
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := (&githubapp.Tokens{}).Token(ctx, mustApp(t, hung.secret(nil)), http.DefaultClient); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung server: err = %v, want the caller's deadline", err)
	}
}

// TestTokenCacheIsBounded: with room for two Apps, a third drops the token
// closest to expiry.
func TestTokenCacheIsBounded(t *testing.T) {
	t.Parallel()
	tokens := &githubapp.Tokens{MaxApps: 2}
	var apps []*githubapp.App
	var servers []*api
	for i := range 3 {
		a := newAPI(t)
		a.expires = time.Now().Add(time.Duration(i+1) * time.Hour)
		if i == 0 {
			a.expires = time.Now().Add(3 * time.Hour)
		}
		servers, apps = append(servers, a), append(apps, mustApp(t, a.secret(nil)))
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
		if got := servers[i].requests.Load(); got != want {
			t.Errorf("app %d: requests = %d, want %d", i, got, want)
		}
	}
}

// TestSecretsThatAreNoApp: each missing or malformed key is named, and no
// message carries the private key.
func TestSecretsThatAreNoApp(t *testing.T) {
	t.Parallel()
	a := newAPI(t)
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
		data := a.secret(tc.edit)
		_, err := githubapp.FromSecretData(data)
		if !errors.Is(err, githubapp.ErrInvalidApp) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want ErrInvalidApp with %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "PRIVATE KEY") {
			t.Errorf("%s: the error carries key material: %v", tc.name, err)
		}
	}
}
