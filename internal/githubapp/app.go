package githubapp

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Secret keys, as Flux's GitRepository reads them for provider: github.
const (
	KeyAppID                = "githubAppID"
	KeyAppInstallationID    = "githubAppInstallationID"
	KeyAppInstallationOwner = "githubAppInstallationOwner"
	KeyAppPrivateKey        = "githubAppPrivateKey"
	KeyAppBaseURL           = "githubAppBaseURL"
)

// Username is the Git user name an installation token goes with.
const Username = "x-access-token"

// DefaultAPIURL is GitHub's REST API.
const DefaultAPIURL = "https://api.github.com/"

// ErrInvalidApp means the Secret does not describe a usable GitHub App.
var ErrInvalidApp = errors.New("invalid GitHub App secret")

// App is one GitHub App installation: who asks (the App's ID and key) and
// for which installation (its ID, or the account that installed it).
type App struct {
	id             int64
	installationID int64
	owner          string
	key            *rsa.PrivateKey
	api            *url.URL // ends in "/"
	fingerprint    string   // identifies the App, installation and key for the cache
}

// FromSecretData reads an App from a Secret's data. Errors name the key
// at fault, never a value.
func FromSecretData(data map[string][]byte) (*App, error) {
	a := &App{}
	var err error
	if a.id, err = positiveInt(data, KeyAppID); err != nil {
		return nil, err
	}
	_, hasID := data[KeyAppInstallationID]
	a.owner = strings.TrimSpace(string(data[KeyAppInstallationOwner]))
	switch {
	case hasID && a.owner != "":
		return nil, fmt.Errorf("%w: set %s or %s, not both", ErrInvalidApp, KeyAppInstallationID, KeyAppInstallationOwner)
	case hasID:
		if a.installationID, err = positiveInt(data, KeyAppInstallationID); err != nil {
			return nil, err
		}
	case a.owner == "":
		return nil, fmt.Errorf("%w: %s or %s is required", ErrInvalidApp, KeyAppInstallationID, KeyAppInstallationOwner)
	case strings.ContainsAny(a.owner, "/?#% "):
		return nil, fmt.Errorf("%w: %s is not an account name", ErrInvalidApp, KeyAppInstallationOwner)
	}
	if a.key, err = privateKey(data[KeyAppPrivateKey]); err != nil {
		return nil, err
	}
	if a.api, err = apiURL(string(data[KeyAppBaseURL])); err != nil {
		return nil, err
	}
	sum := sha256.New()
	fmt.Fprintf(sum, "%d\x00%d\x00%s\x00%s\x00", a.id, a.installationID, a.owner, a.api)
	sum.Write(x509.MarshalPKCS1PrivateKey(a.key))
	a.fingerprint = hex.EncodeToString(sum.Sum(nil))
	return a, nil
}

func positiveInt(data map[string][]byte, key string) (int64, error) {
	raw, ok := data[key]
	if !ok {
		return 0, fmt.Errorf("%w: %s is required", ErrInvalidApp, key)
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("%w: %s is not a positive number", ErrInvalidApp, key)
	}
	return n, nil
}

func privateKey(raw []byte) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(raw)
	if block == nil {
		return nil, fmt.Errorf("%w: %s is not a PEM private key", ErrInvalidApp, KeyAppPrivateKey)
	}
	if k, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %s does not parse as an RSA private key", ErrInvalidApp, KeyAppPrivateKey)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not an RSA key (GitHub Apps sign with RS256)", ErrInvalidApp, KeyAppPrivateKey)
	}
	return rk, nil
}

// apiURL parses githubAppBaseURL, the REST API's base, used as given (as
// Flux does): https://api.github.com by default, https://HOST/api/v3 for
// GitHub Enterprise Server.
func apiURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		raw = DefaultAPIURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: %s must be an http(s) URL without credentials, query or fragment", ErrInvalidApp, KeyAppBaseURL)
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/"
	}
	return u, nil
}

// String names the App without secrets, for messages.
func (a *App) String() string {
	if a.owner != "" {
		return fmt.Sprintf("GitHub App %d (installation of %s) at %s", a.id, a.owner, a.api.Host)
	}
	return fmt.Sprintf("GitHub App %d (installation %d) at %s", a.id, a.installationID, a.api.Host)
}
