package gitrepo

import (
	"fmt"
	"net/url"
	"strings"
)

// Keys of a Flux proxy Secret (a GitRepository's spec.proxySecretRef).
const (
	ProxyKeyAddress  = "address"
	ProxyKeyUsername = "username"
	ProxyKeyPassword = "password"
)

// Proxy is the proxy every HTTP(S) operation on the remote goes through, as
// a GitRepository's spec.proxySecretRef says; it takes precedence over the
// process's HTTPS_PROXY and friends.
type Proxy struct {
	URL      *url.URL // http, https or socks5, without credentials
	Username string
	Password string
}

// ProxyFromSecretData reads a Flux proxy Secret. Errors name the key at
// fault, never the values.
func ProxyFromSecretData(data map[string][]byte) (*Proxy, error) {
	raw := strings.TrimSpace(string(data[ProxyKeyAddress]))
	if raw == "" {
		return nil, fmt.Errorf("%w: proxy secret: %s is required", ErrInvalidConfig, ProxyKeyAddress)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5") {
		return nil, fmt.Errorf("%w: proxy secret: %s must be an http://, https:// or socks5:// URL with a host", ErrInvalidConfig, ProxyKeyAddress)
	}
	p := &Proxy{URL: u, Username: string(data[ProxyKeyUsername]), Password: string(data[ProxyKeyPassword])}
	if u.User != nil {
		// Credentials in the address are used when the keys are absent, and
		// kept out of the URL so that no message carries them.
		if p.Username == "" {
			p.Username = u.User.Username()
		}
		if pw, ok := u.User.Password(); ok && p.Password == "" {
			p.Password = pw
		}
		u.User = nil
	}
	return p, nil
}

// URLWithCredentials is the proxy URL with its credentials, for an
// http.Transport's Proxy function (which sends them as
// Proxy-Authorization). Never print it.
func (p *Proxy) URLWithCredentials() *url.URL {
	u := *p.URL
	if p.Username != "" || p.Password != "" {
		u.User = url.UserPassword(p.Username, p.Password)
	}
	return &u
}

// String names the proxy without its credentials.
func (p *Proxy) String() string { return p.URL.Redacted() }
