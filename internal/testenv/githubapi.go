package testenv

import (
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
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// GitHubAPI stands in for GitHub's REST API as a GitHub App uses it: it
// checks the App's JWT as GitHub does (RS256 by the App's key, issuer the
// App ID, at most 10 minutes long) and answers the installation lookups
// (orgs/NAME/installation, users/NAME/installation) and the installation
// token endpoint with Token + "-" + the installation ID.
type GitHubAPI struct {
	srv      *httptest.Server
	Key      *rsa.PrivateKey
	AppID    int64
	Token    string
	Expires  time.Time
	Orgs     map[string]int64
	Users    map[string]int64
	requests atomic.Int64
	// TokenAnswer, when set, answers the token endpoint instead when it
	// returns true (hostile or failing servers).
	TokenAnswer func(w http.ResponseWriter) bool
}

// NewGitHubAPI starts the API on 127.0.0.1 with a fresh App key; tokens
// expire in an hour.
func NewGitHubAPI(t testing.TB) *GitHubAPI {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	a := &GitHubAPI{Key: key, AppID: 4242, Token: "ghs_installation_token", Expires: time.Now().Add(time.Hour), Orgs: map[string]int64{}, Users: map[string]int64{}}
	a.srv = httptest.NewServer(http.HandlerFunc(a.serve))
	t.Cleanup(a.srv.Close)
	return a
}

// URL is the API's base URL (githubAppBaseURL).
func (a *GitHubAPI) URL() string { return a.srv.URL }

// Requests counts the requests the API received.
func (a *GitHubAPI) Requests() int64 { return a.requests.Load() }

// SecretData is a Flux GitRepository Secret for the App, installation 77;
// extra keys are added, or removed when their value is "".
func (a *GitHubAPI) SecretData(extra map[string]string) map[string][]byte {
	data := map[string][]byte{
		"githubAppID":             []byte(strconv.FormatInt(a.AppID, 10)),
		"githubAppPrivateKey":     pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(a.Key)}),
		"githubAppBaseURL":        []byte(a.srv.URL),
		"githubAppInstallationID": []byte("77"),
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

func (a *GitHubAPI) serve(w http.ResponseWriter, r *http.Request) {
	a.requests.Add(1)
	if err := a.checkJWT(r); err != nil {
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	switch parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/"); {
	case r.Method == http.MethodPost && len(parts) == 4 && parts[0] == "app" && parts[1] == "installations" && parts[3] == "access_tokens":
		if a.TokenAnswer != nil && a.TokenAnswer(w) {
			return
		}
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"token": a.Token + "-" + parts[2], "expires_at": a.Expires})
	case r.Method == http.MethodGet && len(parts) == 3 && parts[2] == "installation" && (parts[0] == "orgs" || parts[0] == "users"):
		ids := a.Orgs
		if parts[0] == "users" {
			ids = a.Users
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

func (a *GitHubAPI) checkJWT(r *http.Request) error {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return errors.New("no bearer token")
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil {
		return err
	}
	var c jwt.Claims
	if err := tok.Claims(&a.Key.PublicKey, &c); err != nil {
		return err
	}
	if c.Issuer != strconv.FormatInt(a.AppID, 10) || c.IssuedAt == nil || c.Expiry == nil || c.Expiry.Time().Sub(c.IssuedAt.Time()) > 10*time.Minute {
		return fmt.Errorf("JWT claims %+v are not an App's", c)
	}
	return nil
}
