package gate

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/setters"
)

// Outcomes of the idle check, in status.lastIdleCheck.result.
const (
	idleSkippedListed   = "Skipped: branch tips from ls-remote are those of the last run"
	idleSkippedArtifact = "Skipped: the GitRepository's status.artifact.revision is the tip of the last run"
	idleRanOff          = "Ran: the idle check is off (--git-idle-check=false)"
	idleRanFirst        = "Ran: no earlier run to compare with"
	idleRanInputs       = "Ran: the admitted selections, their verdicts, the spec or the Git target changed"
)

// idleCheck decides whether a run with admitted selections may skip the
// clone and the setters: only when its inputs are those of the last run
// that wrote to Git (or found Git already right) and the branches still
// point at the commits that run saw or pushed. Tips are compared as
// commit hashes, so a branch rewritten to the same-looking content under
// another commit runs in full; anything it cannot vouch for runs in full.
type idleCheck struct {
	key      string          // inputs hash of this run
	prev     *igv1.IdleCheck // the last run's record; nil: none
	checkout string          // branch names as written to status
	push     string          //
	result   string          // why the run ran, set by unchanged
}

func (r *Reconciler) newIdleCheck(rn *run, cfg gitrepo.Config, path string) *idleCheck {
	ic := &idleCheck{
		key: inputsHash(rn, cfg, path, r.setterBudget().Limits()), prev: rn.gate.Status.LastIdleCheck,
		checkout: checkoutName(cfg), push: cmp.Or(cfg.PushBranch, checkoutName(cfg)),
		result: idleRanOff,
	}
	return ic
}

// sameInputs reports whether the last run wrote from the same inputs,
// and records why not.
func (ic *idleCheck) sameInputs() bool {
	switch {
	case ic.prev == nil:
		ic.result = idleRanFirst
	case ic.prev.InputsHash != ic.key:
		ic.result = idleRanInputs
	default:
		return true
	}
	return false
}

// unchanged is gitrepo.Config.Unchanged: the inputs are the same and the
// listed tips are those the last run left.
func (ic *idleCheck) unchanged(t gitrepo.Tips) bool {
	if !ic.sameInputs() {
		return false
	}
	switch {
	case t.Checkout != ic.prev.CheckoutCommit:
		ic.result = moved(ic.checkout, ic.prev.CheckoutCommit, t.Checkout)
	case t.Push != ic.prev.PushCommit:
		ic.result = moved(ic.push, ic.prev.PushCommit, t.Push)
	default:
		return true
	}
	return false
}

func moved(branch, from, to string) string {
	return fmt.Sprintf("Ran: branch %s moved from %s to %s", branch, short(from), short(to))
}

func short(commit string) string {
	if commit == "" {
		return "(none)"
	}
	return commit[:min(len(commit), 12)]
}

// artifactShowsTip reports whether source-controller's last fetch saw the
// branch at the commit the last run left, when the gate checks out and
// pushes that one branch: then not even an ls-remote is needed. The
// artifact can lag the server by source-controller's interval; a branch
// moved since then is seen when the artifact moves, and the cluster
// deploys nothing the artifact does not show.
func (ic *idleCheck) artifactShowsTip(repo *sourcev1.GitRepository) bool {
	if repo == nil || ic.checkout != ic.push || ic.prev == nil || ic.prev.InputsHash != ic.key ||
		ic.prev.CheckoutCommit == "" || ic.prev.PushCommit != ic.prev.CheckoutCommit {
		return false
	}
	if a := repo.Status.Artifact; a == nil || repo.Status.ObservedGeneration != repo.Generation {
		return false
	}
	branch, commit, ok := parseRevision(repo.Status.Artifact.Revision)
	return ok && branch == ic.checkout && commit == ic.prev.CheckoutCommit
}

// parseRevision reads source-controller's artifact revision
// "<branch>@sha1:<hash>" (or "refs/heads/<branch>@sha1:<hash>").
func parseRevision(rev string) (branch, commit string, ok bool) {
	ref, digest, found := strings.Cut(rev, "@")
	if !found {
		return "", "", false
	}
	algo, commit, found := strings.Cut(digest, ":")
	if !found || (algo != "sha1" && algo != "sha256") || commit == "" {
		return "", "", false
	}
	return strings.TrimPrefix(ref, "refs/heads/"), commit, true
}

// record is the status a run that reached Git leaves: the tips it left
// with this run's inputs when it ran in full, the last record with the
// outcome when it skipped.
func (ic *idleCheck) record(res gitrepo.Result, skipped string) *igv1.IdleCheck {
	if skipped != "" {
		out := ic.prev.DeepCopy()
		out.Result = skipped
		return out
	}
	return &igv1.IdleCheck{
		InputsHash: ic.key, CheckoutBranch: ic.checkout, CheckoutCommit: res.Tips.Checkout,
		PushBranch: ic.push, PushCommit: res.Tips.Push, Result: ic.result,
	}
}

// checkoutName is the checkout branch, or for a tag, semver range or
// commit checkout its description ("tag v1.2.0"), as status shows it.
func checkoutName(cfg gitrepo.Config) string {
	if branch, ok := cfg.Checkout.Branch(); ok {
		return branch
	}
	return cfg.Checkout.String()
}

// inputsHash covers everything a full run writes from besides the
// repository's content: the gate's generation (its spec), the Git target,
// the setters' limits (a file skipped as too large may fit new ones), and
// each admitted selection with the trust policies that judged it and their
// hashes (a policy edited or a key rotated changes it).
func inputsHash(rn *run, cfg gitrepo.Config, path string, limits setters.Limits) string {
	h := sha256.New()
	line := func(fields ...string) {
		for _, f := range fields {
			h.Write([]byte(strconv.Quote(f)))
			h.Write([]byte{' '})
		}
		h.Write([]byte{'\n'})
	}
	line("imagegate idle check v1", strconv.FormatInt(rn.gate.Generation, 10))
	line(cfg.URL, cfg.Checkout.String(), cmp.Or(cfg.PushBranch, checkoutName(cfg)), cfg.PushRefspec, path)
	line("setters", strconv.Itoa(limits.MaxFileBytes), strconv.Itoa(limits.MaxFileNodes))
	for i := range rn.selections {
		s := &rn.selections[i]
		if !s.admitted() {
			continue
		}
		img := s.image()
		line("selection", s.policy.Namespace, s.policy.Name, img.Name, img.Tag, img.Digest)
		for _, d := range s.decisions {
			if d.Policy != nil {
				line("judged", d.Policy.Ref.String(), d.Policy.Hash)
			}
		}
	}
	return "sha256:" + hex.EncodeToString(h.Sum(nil))
}

// gitRepository reads the gate's GitRepository again for its artifact
// (from the informer cache in the controller); nil when it cannot.
func (r *Reconciler) gitRepository(ctx context.Context, g *igv1.ImageGate) *sourcev1.GitRepository {
	ns := cmp.Or(g.Spec.SourceRef.Namespace, g.Namespace)
	var repo sourcev1.GitRepository
	if err := r.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: g.Spec.SourceRef.Name}, &repo); err != nil {
		return nil
	}
	return &repo
}
