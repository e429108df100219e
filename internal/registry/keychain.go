package registry

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"path"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// ErrInvalidDockerConfig means a pull-secret payload is not a usable
// .dockerconfigjson (or legacy .dockercfg) document.
var ErrInvalidDockerConfig = errors.New("invalid docker config")

// dockerConfigEntry is one "auths" entry of a .dockerconfigjson.
type dockerConfigEntry struct {
	Auth          string `json:"auth"`
	Username      string `json:"username"`
	Password      string `json:"password"`
	IdentityToken string `json:"identitytoken"`
	RegistryToken string `json:"registrytoken"`
}

// credential is one parsed entry, with the key it matches against.
type credential struct {
	key  registryKey
	auth authn.AuthConfig
}

// dockerConfigKeychain holds the entries of each payload in the order given.
type dockerConfigKeychain struct {
	configs [][]credential
}

// KeychainFromDockerConfigJSON builds a keychain from one or more
// `.dockerconfigjson` payloads (Kubernetes pull secrets, in the order of the
// ServiceAccount's or Pod's imagePullSecrets). The first payload with a
// matching entry wins; within a payload the most specific key wins, as in
// the kubelet's keyring. Keys may carry a scheme, a port, a path prefix and
// "*" wildcards in host labels ("*.example.com"); "docker.io",
// "index.docker.io" and "https://index.docker.io/v1/" all mean Docker Hub.
// Legacy .dockercfg payloads (without "auths") are accepted too. Errors name
// the payload's position, never its content.
func KeychainFromDockerConfigJSON(configs ...[]byte) (authn.Keychain, error) {
	kc := &dockerConfigKeychain{}
	for i, raw := range configs {
		creds, err := parseDockerConfig(raw)
		if err != nil {
			return nil, fmt.Errorf("pull secret %d of %d: %w", i+1, len(configs), err)
		}
		kc.configs = append(kc.configs, creds)
	}
	return kc, nil
}

func parseDockerConfig(raw []byte) ([]credential, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("%w: not a JSON object%s", ErrInvalidDockerConfig, jsonOffset(err))
	}
	entries := map[string]dockerConfigEntry{}
	if auths, ok := doc["auths"]; ok {
		if err := json.Unmarshal(auths, &entries); err != nil {
			return nil, fmt.Errorf("%w: \"auths\" is not a map of registry entries%s", ErrInvalidDockerConfig, jsonOffset(err))
		}
	} else if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("%w: neither .dockerconfigjson nor .dockercfg%s", ErrInvalidDockerConfig, jsonOffset(err))
	}
	creds := make([]credential, 0, len(entries))
	for k, e := range entries {
		key, err := parseRegistryKey(k)
		if err != nil {
			return nil, err
		}
		auth, err := e.authConfig()
		if err != nil {
			return nil, fmt.Errorf("entry %q: %w", k, err)
		}
		creds = append(creds, credential{key: key, auth: auth})
	}
	return creds, nil
}

// jsonOffset reports where a JSON document broke without quoting it: the
// bytes around the error may be a password.
func jsonOffset(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf(" (syntax error at byte %d)", se.Offset)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Sprintf(" (%s where %s was expected, at byte %d)", te.Value, te.Type, te.Offset)
	}
	return ""
}

func (e dockerConfigEntry) authConfig() (authn.AuthConfig, error) {
	ac := authn.AuthConfig{
		Username: e.Username, Password: e.Password,
		IdentityToken: e.IdentityToken, RegistryToken: e.RegistryToken,
	}
	if e.Auth == "" {
		return ac, nil
	}
	dec, err := base64.StdEncoding.DecodeString(e.Auth)
	if err != nil {
		return ac, fmt.Errorf("%w: \"auth\" is not base64", ErrInvalidDockerConfig)
	}
	user, pass, ok := strings.Cut(string(dec), ":")
	if !ok {
		return ac, fmt.Errorf("%w: \"auth\" is not user:password", ErrInvalidDockerConfig)
	}
	ac.Username, ac.Password = user, pass
	return ac, nil
}

// Resolve returns the credentials of the first payload with an entry
// matching target, else anonymous (a public image needs none).
func (kc *dockerConfigKeychain) Resolve(target authn.Resource) (authn.Authenticator, error) {
	host, repoPath := splitResource(target)
	for _, creds := range kc.configs {
		if c, ok := bestMatch(creds, host, repoPath); ok {
			return authn.FromConfig(c.auth), nil
		}
	}
	return authn.Anonymous, nil
}

// splitResource returns the registry host and repository path of target
// ("" for a registry-wide resource).
func splitResource(target authn.Resource) (host, repoPath string) {
	host = normalizeHost(target.RegistryStr())
	rest := strings.TrimPrefix(target.String(), target.RegistryStr())
	return host, strings.TrimPrefix(rest, "/")
}

func bestMatch(creds []credential, host, repoPath string) (credential, bool) {
	var best credential
	found := false
	for _, c := range creds {
		if c.key.matches(host, repoPath) && (!found || c.key.specificity() > best.key.specificity()) {
			best, found = c, true
		}
	}
	return best, found
}

// registryKey is a parsed "auths" key: host (maybe with wildcards and a
// port) and an optional repository path prefix.
type registryKey struct {
	host string
	path string
}

func parseRegistryKey(k string) (registryKey, error) {
	s := strings.TrimSpace(k)
	if i := strings.Index(s, "://"); i >= 0 {
		s = s[i+3:]
	}
	host, p, _ := strings.Cut(s, "/")
	if host == "" {
		return registryKey{}, fmt.Errorf("%w: entry %q names no registry", ErrInvalidDockerConfig, k)
	}
	host = normalizeHost(host)
	if host == dockerHub {
		p = "" // "https://index.docker.io/v1/" is the whole of Docker Hub
	}
	return registryKey{host: host, path: strings.Trim(p, "/")}, nil
}

const dockerHub = "index.docker.io"

func normalizeHost(h string) string {
	h = strings.ToLower(h)
	switch h {
	case "docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return dockerHub
	}
	return h
}

func (k registryKey) matches(host, repoPath string) bool {
	if !hostMatches(k.host, host) {
		return false
	}
	return k.path == "" || repoPath == k.path || strings.HasPrefix(repoPath, k.path+"/")
}

// hostMatches compares label by label so "*" matches one label only, and
// ports must be equal, as the kubelet does.
func hostMatches(pattern, host string) bool {
	pHost, pPort := splitHostPort(pattern)
	hHost, hPort := splitHostPort(host)
	if pPort != hPort {
		return false
	}
	pl, hl := strings.Split(pHost, "."), strings.Split(hHost, ".")
	if len(pl) != len(hl) {
		return false
	}
	for i := range pl {
		if ok, err := path.Match(pl[i], hl[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

// specificity orders matching keys: a longer path, then a host without
// wildcards, wins.
func (k registryKey) specificity() int {
	s := len(k.path) * 4
	if !strings.Contains(k.host, "*") {
		s += 2
	}
	return s
}

func splitHostPort(s string) (host, port string) {
	if h, p, err := net.SplitHostPort(s); err == nil {
		return h, p
	}
	return s, ""
}
