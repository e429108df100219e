package gitrepo

import (
	"fmt"
	"strings"
)

// Keys of a Flux GitRepository secret (source.toolkit.fluxcd.io), read the
// way source-controller reads them.
const (
	SecretKeyUsername    = "username"
	SecretKeyPassword    = "password"
	SecretKeyBearerToken = "bearerToken"
	SecretKeyIdentity    = "identity"
	SecretKeyKnownHosts  = "known_hosts"
	SecretKeyCACert      = "ca.crt"
	// SecretKeyCAFile is the deprecated name of ca.crt that source-controller
	// still reads when ca.crt is absent.
	SecretKeyCAFile = "caFile"
)

// Auth holds the credentials for one remote. Which fields are used depends on
// the URL's scheme: HTTP(S) uses BearerToken, else Username/Password, and
// CAFile; SSH uses SSHPrivateKey, SSHPassphrase and KnownHosts (required: the
// server's host key is always checked).
type Auth struct {
	Username      string
	Password      string
	BearerToken   string
	SSHPrivateKey []byte
	SSHPassphrase string
	KnownHosts    []byte
	CAFile        []byte // PEM bundle trusted for HTTPS, on top of the system roots
}

// AuthFromSecretData maps a Flux GitRepository secret's data to Auth, as
// source-controller does: over SSH the `password` key is the passphrase of
// `identity`; `identity.pub` is not needed (the public key is derived from
// the private one); `ca.crt` wins over the deprecated `caFile`.
func AuthFromSecretData(data map[string][]byte) Auth {
	a := Auth{
		Username:      string(data[SecretKeyUsername]),
		Password:      string(data[SecretKeyPassword]),
		BearerToken:   string(data[SecretKeyBearerToken]),
		SSHPrivateKey: data[SecretKeyIdentity],
		KnownHosts:    data[SecretKeyKnownHosts],
		CAFile:        data[SecretKeyCACert],
	}
	if len(a.CAFile) == 0 {
		a.CAFile = data[SecretKeyCAFile]
	}
	if len(a.SSHPrivateKey) > 0 {
		a.SSHPassphrase = a.Password
	}
	return a
}

// String names which credentials are set without revealing them, so that a
// Config printed by mistake leaks nothing.
func (a Auth) String() string {
	var set []string
	if a.Username != "" {
		set = append(set, "username="+a.Username)
	}
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"password", a.Password != ""},
		{"bearerToken", a.BearerToken != ""},
		{"sshPrivateKey", len(a.SSHPrivateKey) > 0},
		{"sshPassphrase", a.SSHPassphrase != ""},
		{"knownHosts", len(a.KnownHosts) > 0},
		{"caFile", len(a.CAFile) > 0},
	} {
		if f.set {
			set = append(set, f.name+"=<redacted>")
		}
	}
	return fmt.Sprintf("Auth{%s}", strings.Join(set, ", "))
}

// GoString keeps %#v as discreet as %v.
func (a Auth) GoString() string { return a.String() }
