package gate

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/githubapp"
	"github.com/imagegate/imagegate/internal/gitrepo"
)

// transport fills in how cfg reaches the GitRepository's server, as
// source-controller does: spec.proxySecretRef's proxy, and credentials from
// spec.secretRef, which for provider: github hold a GitHub App whose
// installation token is the password. Both Secrets are read from the
// GitRepository's namespace.
func (r *Reconciler) transport(ctx context.Context, repo *sourcev1.GitRepository, cfg *gitrepo.Config) error {
	if ref := repo.Spec.ProxySecretRef; ref != nil {
		data, err := r.secretData(ctx, repo.Namespace, ref.Name)
		if err != nil {
			return err
		}
		if cfg.Proxy, err = gitrepo.ProxyFromSecretData(data); err != nil {
			return stalled(igv1.ReasonInvalidSource, "GitRepository %s/%s spec.proxySecretRef %s: %v", repo.Namespace, repo.Name, ref.Name, err)
		}
	}
	var data map[string][]byte
	if ref := repo.Spec.SecretRef; ref != nil {
		var err error
		if data, err = r.secretData(ctx, repo.Namespace, ref.Name); err != nil {
			return err
		}
		cfg.Auth = gitrepo.AuthFromSecretData(data)
	}
	switch repo.Spec.Provider {
	case "", sourcev1.GitProviderGeneric:
		return nil
	case sourcev1.GitProviderGitHub:
		return r.githubApp(ctx, repo, data, cfg)
	default:
		return stalled(igv1.ReasonInvalidSource, "GitRepository %s/%s: provider %q is not supported by imagegate; use provider generic (or github) with spec.secretRef", repo.Namespace, repo.Name, repo.Spec.Provider)
	}
}

// githubApp exchanges the GitHub App in the Secret for an installation
// token (cached until shortly before it expires), reached through the
// GitRepository's proxy and CA, within one Git operation's timeout.
func (r *Reconciler) githubApp(ctx context.Context, repo *sourcev1.GitRepository, data map[string][]byte, cfg *gitrepo.Config) error {
	if repo.Spec.SecretRef == nil {
		return stalled(igv1.ReasonInvalidSource, "GitRepository %s/%s: provider github needs spec.secretRef naming a Secret with the GitHub App's %s, %s and %s", repo.Namespace, repo.Name, githubapp.KeyAppID, githubapp.KeyAppInstallationID, githubapp.KeyAppPrivateKey)
	}
	app, err := githubapp.FromSecretData(data)
	if err != nil {
		return stalled(igv1.ReasonInvalidSource, "GitRepository %s/%s Secret %s: %v", repo.Namespace, repo.Name, repo.Spec.SecretRef.Name, err)
	}
	client, err := apiClient(cfg)
	if err != nil {
		return stalled(igv1.ReasonInvalidSource, "GitRepository %s/%s Secret %s: %v", repo.Namespace, repo.Name, repo.Spec.SecretRef.Name, err)
	}
	ctx, cancel := context.WithTimeout(ctx, cmp.Or(cfg.Timeout, gitrepo.DefaultTimeout))
	defer cancel()
	tok, err := r.GitHubTokens.Token(ctx, app, client)
	if err != nil {
		if errors.Is(err, githubapp.ErrInvalidApp) {
			return stalled(igv1.ReasonInvalidSource, "GitRepository %s/%s: %v", repo.Namespace, repo.Name, err)
		}
		return failed(igv1.ReasonGitOperationFailed, fmt.Errorf("GitRepository %s/%s: %w", repo.Namespace, repo.Name, err))
	}
	cfg.Auth.Username, cfg.Auth.Password, cfg.Auth.BearerToken = githubapp.Username, tok.Value, ""
	return nil
}

// apiClient reaches the GitHub API as the Git operations reach the Git
// server: through the proxy Secret's proxy (else the environment's), trusting
// ca.crt on top of the system roots.
func apiClient(cfg *gitrepo.Config) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DisableKeepAlives = true // one exchange an hour per App: nothing to keep alive
	if cfg.Proxy != nil {
		tr.Proxy = http.ProxyURL(cfg.Proxy.URLWithCredentials())
	}
	if len(cfg.Auth.CAFile) > 0 {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(cfg.Auth.CAFile) {
			return nil, errors.New("ca.crt holds no PEM certificate")
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr}, nil
}
