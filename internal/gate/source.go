package gate

import (
	"cmp"
	"context"
	"fmt"
	"strings"

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
	checkout, from, err := checkoutRef(g, &repo)
	if err != nil {
		return cfg, err
	}
	cfg.Checkout = checkout
	if err := r.transport(ctx, &repo, &cfg); err != nil {
		return cfg, err
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
	if _, isBranch := checkout.Branch(); !isBranch && cfg.PushBranch == "" {
		return cfg, stalled(igv1.ReasonInvalidSource, "%s checks out %s, which cannot be committed to: set spec.git.push.branch to the branch the gate creates from it and commits to", from, checkout)
	}
	return cfg, nil
}

// checkoutRef reads what to check out, and where it is written: the
// gate's spec.git.checkout.ref, else the GitRepository's spec.ref, read
// with source-controller's precedence (commit, name, semver, tag, branch)
// and its default branch.
func checkoutRef(g *igv1.ImageGate, repo *sourcev1.GitRepository) (gitrepo.Ref, string, error) {
	from := fmt.Sprintf("GitRepository %s/%s spec.ref", repo.Namespace, repo.Name)
	ref := repo.Spec.Reference
	if c := g.Spec.GitSpec.Checkout; c != nil {
		from, ref = "spec.git.checkout.ref", &c.Reference
	}
	out := gitrepo.BranchRef(defaultBranch)
	switch {
	case ref == nil:
	case ref.Commit != "":
		out = gitrepo.CommitRef(ref.Commit, ref.Branch)
	case ref.Name != "":
		branch, isBranch := strings.CutPrefix(ref.Name, "refs/heads/")
		tag, isTag := strings.CutPrefix(ref.Name, "refs/tags/")
		switch {
		case isBranch:
			out = gitrepo.BranchRef(branch)
		case isTag:
			out = gitrepo.TagRef(tag)
		default:
			return out, from, stalled(igv1.ReasonInvalidSource, "%s names %q: only refs/heads/ and refs/tags/ names can be checked out to commit on; name a branch or tag", from, ref.Name)
		}
	case ref.SemVer != "":
		out = gitrepo.SemVerRef(ref.SemVer)
	case ref.Tag != "":
		out = gitrepo.TagRef(ref.Tag)
	case ref.Branch != "":
		out = gitrepo.BranchRef(ref.Branch)
	}
	if err := out.Validate(); err != nil {
		return out, from, stalled(igv1.ReasonInvalidSource, "%s: %v", from, err)
	}
	return out, from, nil
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
