package gate

import (
	"cmp"
	"context"
	"fmt"

	iacv1 "github.com/fluxcd/image-automation-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/gitrepo"
)

// defaultBranch is source-controller's default when a GitRepository names
// no ref.
const defaultBranch = "master"

// source reads the GitRepository and Secrets an ImageGate writes with.
func (r *Reconciler) source(ctx context.Context, g *igv1.ImageGate) (gitrepo.Config, error) {
	var cfg gitrepo.Config
	ref := g.Spec.SourceRef
	if ref.Kind != "" && ref.Kind != sourcev1.GitRepositoryKind {
		return cfg, stalled(igv1.ReasonInvalidSource, "spec.sourceRef.kind %q: only GitRepository is supported", ref.Kind)
	}
	if g.Spec.Update != nil && g.Spec.Update.Strategy != "" && g.Spec.Update.Strategy != iacv1.UpdateStrategySetters {
		return cfg, stalled(igv1.ReasonInvalidUpdate, "spec.update.strategy %q: only Setters is supported", g.Spec.Update.Strategy)
	}
	if g.Spec.GitSpec == nil {
		return cfg, stalled(igv1.ReasonInvalidSource, "spec.git is required: it names the commit author")
	}
	ns := ref.Namespace
	if ns == "" {
		ns = g.Namespace
	}
	if r.NoCrossNamespaceRefs && ns != g.Namespace {
		return cfg, stalled(igv1.ReasonAccessDenied, "spec.sourceRef names GitRepository %s/%s in another namespace, which --no-cross-namespace-refs forbids: its credentials belong to that namespace", ns, ref.Name)
	}
	var repo sourcev1.GitRepository
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: ref.Name}, &repo); err != nil {
		if apierrors.IsNotFound(err) {
			return cfg, stalled(igv1.ReasonInvalidSource, "GitRepository %s/%s not found: create it or fix spec.sourceRef", ns, ref.Name)
		}
		return cfg, failed(igv1.ReasonInvalidSource, fmt.Errorf("reading GitRepository %s/%s: %w", ns, ref.Name, err))
	}
	cfg.URL = repo.Spec.URL
	if repo.Spec.Timeout != nil {
		// Each Git operation gets it on its own, as source-controller's
		// clones do; unset means gitrepo.DefaultTimeout, Flux's 60s.
		cfg.Timeout = repo.Spec.Timeout.Duration
	}
	if r.MaxGitTimeout > 0 {
		cfg.Timeout = min(cmp.Or(cfg.Timeout, gitrepo.DefaultTimeout), r.MaxGitTimeout)
	}
	cfg.CheckoutBranch = checkoutBranch(g, &repo)
	if cfg.CheckoutBranch == "" {
		return cfg, stalled(igv1.ReasonInvalidSource, "GitRepository %s/%s checks out a tag, semver or commit; set spec.git.checkout.ref.branch", ns, ref.Name)
	}
	if repo.Spec.SecretRef != nil {
		data, err := r.secretData(ctx, ns, repo.Spec.SecretRef.Name)
		if err != nil {
			return cfg, err
		}
		cfg.Auth = gitrepo.AuthFromSecretData(data)
	}
	commit := g.Spec.GitSpec.Commit
	cfg.Author = gitrepo.Signature{Name: commit.Author.Name, Email: commit.Author.Email}
	if commit.SigningKey != nil {
		data, err := r.secretData(ctx, g.Namespace, commit.SigningKey.SecretRef.Name)
		if err != nil {
			return cfg, err
		}
		signer, err := gitrepo.NewSignerFromSecretData(string(commit.SigningKey.Type), data)
		if err != nil {
			return cfg, stalled(igv1.ReasonInvalidSource, "spec.git.commit.signingKey: %v", err)
		}
		cfg.Signer = signer
	}
	if p := g.Spec.GitSpec.Push; p != nil {
		cfg.PushBranch, cfg.PushRefspec, cfg.PushOptions = p.Branch, p.Refspec, p.Options
	}
	return cfg, nil
}

func checkoutBranch(g *igv1.ImageGate, repo *sourcev1.GitRepository) string {
	if c := g.Spec.GitSpec.Checkout; c != nil {
		return c.Reference.Branch
	}
	if repo.Spec.Reference == nil {
		return defaultBranch
	}
	ref := repo.Spec.Reference
	if ref.Branch != "" {
		return ref.Branch
	}
	if ref.Tag == "" && ref.SemVer == "" && ref.Commit == "" && ref.Name == "" {
		return defaultBranch
	}
	return ""
}

// secrets returns the reader of Secrets (Reconciler.Secrets).
func (r *Reconciler) secrets() client.Reader {
	if r.Secrets != nil {
		return r.Secrets
	}
	return r.Client
}

func (r *Reconciler) secretData(ctx context.Context, ns, name string) (map[string][]byte, error) {
	var s corev1.Secret
	if err := r.secrets().Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &s); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, stalled(igv1.ReasonInvalidSource, "Secret %s/%s not found", ns, name)
		}
		return nil, failed(igv1.ReasonInvalidSource, fmt.Errorf("reading Secret %s/%s: %w", ns, name, err))
	}
	return s.Data, nil
}
