package registry

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

// credentialsNote marks, on the request of a 401 or 403 answer, whether
// credentials were sent. The note travels in the error itself
// (transport.Error and PullError keep the request), so Classify can tell
// "credentials rejected" from "credentials missing" for errors of every
// path, cosign's included, without knowing which client made them.
type credentialsNote struct{}

// noteCredentials is called by the guarded transport for 401 and 403
// answers.
func (g *guardedTransport) noteCredentials(ctx context.Context, req *http.Request, resp *http.Response) {
	if resp.Request == nil {
		return
	}
	sent := g.credentialed(ctx, req)
	// ctx is the request's own context (the guarded transport's deadline).
	resp.Request = resp.Request.WithContext(context.WithValue(ctx, credentialsNote{}, sent))
}

// credentialed says whether req went out with credentials: basic auth, a
// token request that carries a password or refresh token (go-
// containerregistry POSTs only those), or a registry request for a
// repository the keychain has credentials for (a bearer token alone does
// not tell: registries hand out anonymous ones).
func (g *guardedTransport) credentialed(ctx context.Context, req *http.Request) bool {
	scheme, _, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	switch {
	case strings.EqualFold(scheme, "Basic"):
		return true
	case req.Method == http.MethodPost && !strings.HasPrefix(req.URL.Path, "/v2/"):
		return true
	}
	res, ok := resourceOf(req.URL)
	if !ok {
		return false
	}
	auth, err := authn.Resolve(ctx, g.keychain, res)
	if err != nil {
		return false
	}
	cfg, err := authn.Authorization(ctx, auth)
	return err == nil && cfg != nil && *cfg != (authn.AuthConfig{})
}

// resourceOf is the repository a /v2/<name>/<kind>/<ref> URL is about, or
// the registry of a /v2/ URL.
func resourceOf(u *url.URL) (authn.Resource, bool) {
	if rest, ok := strings.CutPrefix(u.Path, "/v2/"); ok && rest != "" {
		parts := strings.Split(rest, "/")
		if len(parts) >= 3 {
			repo, err := name.NewRepository(u.Host+"/"+strings.Join(parts[:len(parts)-2], "/"), name.WeakValidation)
			return repo, err == nil
		}
	}
	reg, err := name.NewRegistry(u.Host, name.WeakValidation)
	return reg, err == nil
}

// credentialsSent reads the note of a refused request; a request that did
// not pass the guarded transport counts as sent with credentials only if
// it carries basic auth.
func credentialsSent(req *http.Request) bool {
	if sent, ok := req.Context().Value(credentialsNote{}).(bool); ok {
		return sent
	}
	scheme, _, _ := strings.Cut(req.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Basic")
}
