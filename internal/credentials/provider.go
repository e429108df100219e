package credentials

import (
	"context"
	"fmt"
	"net/url"
	"time"

	fluxauth "github.com/fluxcd/pkg/auth"
	authutils "github.com/fluxcd/pkg/auth/utils"
	fluxcache "github.com/fluxcd/pkg/cache"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/imagegate/internal/registry"
)

// Cloud providers an ImageRepository's spec.provider may name, as
// image-reflector-controller spells them.
const (
	ProviderGeneric = "generic"
	ProviderAWS     = "aws"
	ProviderAzure   = "azure"
	ProviderGCP     = "gcp"
)

// providerTokenTimeout bounds one exchange with a cloud's identity and
// registry-token endpoints (instance metadata, STS, ECR, ACR).
const providerTokenTimeout = 30 * time.Second

// cloudProvider is a spec.provider other than generic, with the registry
// host its credentials are for.
type cloudProvider struct {
	name  string // aws, azure, gcp
	impl  fluxauth.ArtifactRegistryCredentialsProvider
	image string // spec.image
	host  string // its registry, as go-containerregistry names it
}

// parseProvider checks spec.provider against spec.image the way Flux's
// auth library does (an ECR, ACR or Artifact Registry host for the
// provider), so a mismatch is a clear status now rather than a failed
// token exchange on every request. The zero value means no cloud provider.
func parseProvider(where, provider, image string) (cloudProvider, error) {
	switch provider {
	case "", ProviderGeneric:
		return cloudProvider{}, nil
	case ProviderAWS, ProviderAzure, ProviderGCP:
	default:
		return cloudProvider{}, fmt.Errorf("%w: %s: spec.provider %q is not one of generic, aws, azure, gcp", ErrInvalid, where, provider)
	}
	p, err := authutils.ProviderByName[fluxauth.ArtifactRegistryCredentialsProvider](provider)
	if err != nil {
		return cloudProvider{}, fmt.Errorf("%w: %s: spec.provider %q: %w", ErrInvalid, where, provider, err)
	}
	repo, err := name.NewRepository(image)
	if err != nil {
		return cloudProvider{}, fmt.Errorf("%w: %s spec.image %q: %w", ErrInvalid, where, image, err)
	}
	if _, err := p.ParseArtifactRepository(image); err != nil {
		return cloudProvider{}, fmt.Errorf("%w: %s: spec.provider %q cannot issue credentials for spec.image %q: %w", ErrInvalid, where, provider, image, err)
	}
	return cloudProvider{name: provider, impl: p, image: image, host: repo.RegistryStr()}, nil
}

// keychain answers for the provider's registry host with credentials the
// cloud issues to imagegate's own Pod (IRSA or EKS Pod Identity, Azure
// Workload Identity, GKE Workload Identity or the node's service account),
// obtained through Flux's auth library and kept in tokens until 80% of
// their lifetime has passed. Other hosts fall through to the next keychain.
func (p cloudProvider) keychain(where string, tokens *fluxcache.TokenCache, proxy *url.URL) authn.Keychain {
	// The involved object only labels the cache's metrics, which this
	// cache does not register.
	opts := []fluxauth.Option{fluxauth.WithCache(*tokens, fluxcache.InvolvedObject{})}
	if proxy != nil {
		opts = append(opts, fluxauth.WithProxyURL(*proxy))
	}
	return providerKeychain{host: p.host, auth: &providerAuthenticator{where: where, p: p, opts: opts}}
}

// providerKeychain resolves one registry host to a provider's credentials.
type providerKeychain struct {
	host string
	auth authn.Authenticator
}

func (k providerKeychain) Resolve(r authn.Resource) (authn.Authenticator, error) {
	if r.RegistryStr() != k.host {
		return authn.Anonymous, nil
	}
	return k.auth, nil
}

// providerAuthenticator asks the cloud for registry credentials each time
// go-containerregistry asks for an Authorization (once per token exchange
// with the registry); the token cache answers all but the first within a
// token's lifetime. Each exchange has a context of its own, because the
// authenticator outlives the reconcile or admission that built it.
type providerAuthenticator struct {
	where string
	p     cloudProvider
	opts  []fluxauth.Option
}

func (a *providerAuthenticator) Authorization() (*authn.AuthConfig, error) {
	ctx, cancel := context.WithTimeout(context.Background(), providerTokenTimeout)
	defer cancel()
	creds, err := fluxauth.GetArtifactRegistryCredentials(ctx, a.p.impl, a.p.image, a.opts...)
	if err != nil {
		// The cloud's identity or token endpoint failing is a registry
		// that cannot be reached yet: retried, never cached as a denial.
		return nil, fmt.Errorf("%w: %s: spec.provider %q: getting registry credentials for %s from the cloud: %w",
			registry.ErrUnavailable, a.where, a.p.name, a.p.host, err)
	}
	return creds.Authorization()
}
