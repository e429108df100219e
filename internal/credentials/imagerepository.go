package credentials

import (
	"context"
	"fmt"
	"net/url"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	fluxsecrets "github.com/fluxcd/pkg/runtime/secrets"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/registry"
)

// ForPolicy returns the registry access of an ImagePolicy's selection:
// what its ImageRepository says, as image-reflector-controller reads it,
// with the process's credentials (--pull-secret, docker config) as the
// fallback.
//
// The ImageRepository is used only when it lives in the ImagePolicy's
// namespace: one in another namespace belongs to another tenant, whose
// credentials this ImagePolicy's owner may not be meant to use (Flux
// guards such references with accessFrom ACLs imagegate does not
// evaluate), so the selection is judged with the process's credentials
// alone. A missing ImageRepository means the same (a selection outlives
// its deletion by a reconcile or two).
func (r *Resolver) ForPolicy(ctx context.Context, ip *imagev1.ImagePolicy) (Access, error) {
	ref := ip.Spec.ImageRepositoryRef
	if ref.Name == "" || (ref.Namespace != "" && ref.Namespace != ip.Namespace) {
		return r.base(), nil
	}
	var repo imagev1.ImageRepository
	if err := r.opts.Reader.Get(ctx, client.ObjectKey{Namespace: ip.Namespace, Name: ref.Name}, &repo); err != nil {
		if apierrors.IsNotFound(err) {
			return r.base(), nil
		}
		return Access{}, fmt.Errorf("reading ImageRepository %s/%s: %w", ip.Namespace, ref.Name, err)
	}
	return r.ForRepository(ctx, &repo)
}

// ForRepository returns the registry access an ImageRepository describes.
// secretRef comes first, then the ServiceAccount's imagePullSecrets, then
// the process's credentials; every Secret named must exist (as in Flux).
func (r *Resolver) ForRepository(ctx context.Context, repo *imagev1.ImageRepository) (Access, error) {
	where := fmt.Sprintf("ImageRepository %s/%s", repo.Namespace, repo.Name)
	spec := repo.Spec
	cloud, err := parseProvider(where, spec.Provider, spec.Image)
	if err != nil {
		return Access{}, err
	}
	if cloud.name != "" && spec.ServiceAccountName != "" {
		// Flux reads this pair as object-level workload identity: the
		// controller mints tokens for the tenant's ServiceAccount. A gate
		// that could do that for every namespace would hold every
		// tenant's cloud identity; imagegate uses its own.
		return Access{}, fmt.Errorf("%w: %s: spec.serviceAccountName with spec.provider %q asks for object-level workload identity, which imagegate does not take on: remove spec.serviceAccountName to use imagegate's own cloud identity, or use spec.secretRef",
			ErrInvalid, where, cloud.name)
	}
	// Spec changes bump the generation; status updates (every scan) do not.
	f := newFingerprint("imagerepository")
	f.add("%s %s %s %d", repo.Namespace, repo.Name, repo.UID, repo.Generation)
	if cloud.name != "" {
		f.add("provider %s %s", cloud.name, cloud.host)
		f.used = true
	}
	var payloads [][]byte
	if spec.SecretRef != nil {
		sec, err := r.getSecret(ctx, f, repo.Namespace, spec.SecretRef.Name, where+" spec.secretRef")
		if err != nil {
			return Access{}, err
		}
		p, err := dockerConfig(sec, where+" spec.secretRef")
		if err != nil {
			return Access{}, err
		}
		payloads = append(payloads, p)
	}
	if spec.ServiceAccountName != "" {
		secs, err := r.serviceAccountPullSecrets(ctx, f, repo.Namespace, spec.ServiceAccountName, where+" spec.serviceAccountName", true)
		if err != nil {
			return Access{}, err
		}
		for _, sec := range secs {
			p, err := dockerConfig(sec, where+" spec.serviceAccountName")
			if err != nil {
				return Access{}, err
			}
			payloads = append(payloads, p)
		}
	}
	var certSecret, proxySecret *corev1.Secret
	if spec.CertSecretRef != nil {
		sec, err := r.getSecret(ctx, f, repo.Namespace, spec.CertSecretRef.Name, where+" spec.certSecretRef")
		if err != nil {
			return Access{}, err
		}
		certSecret = sec
	}
	if spec.ProxySecretRef != nil {
		sec, err := r.getSecret(ctx, f, repo.Namespace, spec.ProxySecretRef.Name, where+" spec.proxySecretRef")
		if err != nil {
			return Access{}, err
		}
		proxySecret = sec
	}
	var insecureHost string
	if spec.Insecure {
		rp, err := name.NewRepository(spec.Image)
		if err != nil {
			return Access{}, fmt.Errorf("%w: %s spec.image %q: %w", ErrInvalid, where, spec.Image, err)
		}
		insecureHost = rp.RegistryStr()
		f.add("insecure %s", insecureHost)
		f.used = true
	}
	if !f.used {
		return r.base(), nil
	}
	key := f.key()
	return r.access(key, func() (registry.Access, error) {
		a, err := repositoryAccess(ctx, where, payloads, certSecret, proxySecret, insecureHost)
		if err != nil || cloud.name == "" {
			return a, err
		}
		// A pull secret, when given, answers first (as in Flux, where
		// secretRef overrides the provider's credentials).
		kc := cloud.keychain(where, r.tokens, a.Proxy)
		if a.Keychain != nil {
			kc = authn.NewMultiKeychain(a.Keychain, kc)
		}
		a.Keychain = kc
		return a, nil
	})
}

// repositoryAccess parses what was read; it runs only when no client was
// kept for these objects' versions.
func repositoryAccess(ctx context.Context, where string, payloads [][]byte, certSecret, proxySecret *corev1.Secret, insecureHost string) (registry.Access, error) {
	a := registry.Access{InsecureHost: insecureHost}
	if len(payloads) > 0 {
		kc, err := registry.KeychainFromDockerConfigJSON(payloads...)
		if err != nil {
			return a, fmt.Errorf("%w: %s: %w", ErrInvalid, where, err)
		}
		a.Keychain = kc
	}
	if certSecret != nil {
		// ca.crt, tls.crt and tls.key (and the deprecated caFile,
		// certFile, keyFile) with Flux's own reader, so a Secret that
		// works for image-reflector-controller works here.
		cfg, err := fluxsecrets.TLSConfigFromSecret(ctx, certSecret)
		if err != nil {
			return a, fmt.Errorf("%w: %s spec.certSecretRef: Secret %s/%s: %w", ErrInvalid, where, certSecret.Namespace, certSecret.Name, err)
		}
		a.TLS = cfg
	}
	if proxySecret != nil {
		u, err := proxyURL(ctx, proxySecret)
		if err != nil {
			return a, fmt.Errorf("%w: %s spec.proxySecretRef: Secret %s/%s: %w", ErrInvalid, where, proxySecret.Namespace, proxySecret.Name, err)
		}
		a.Proxy = u
	}
	return a, nil
}

// proxyURL reads address, username and password with Flux's reader. Its
// errors may quote the address, which may carry user info: they are
// replaced by one that names the key only.
func proxyURL(ctx context.Context, sec *corev1.Secret) (*url.URL, error) {
	u, err := fluxsecrets.ProxyURLFromSecret(ctx, sec)
	if err != nil {
		if _, ok := sec.Data[fluxsecrets.KeyAddress]; !ok {
			return nil, fmt.Errorf("no %q key", fluxsecrets.KeyAddress)
		}
		return nil, fmt.Errorf("%q is not an http, https or socks5 URL of at most %d characters",
			fluxsecrets.KeyAddress, fluxsecrets.MaxProxyURLLength)
	}
	return u, nil
}
