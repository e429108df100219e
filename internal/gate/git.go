package gate

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/setters"
)

// writeToGit applies the admitted selections to the repository in one
// commit. Selections that were not admitted have no entry in the setters'
// map, so their fields keep the value already in Git.
func (r *Reconciler) writeToGit(ctx context.Context, rn *run, cfg gitrepo.Config) error {
	images := map[setters.Policy]setters.Image{}
	byPolicy := map[setters.Policy]*selection{}
	for i := range rn.selections {
		s := &rn.selections[i]
		if !s.admitted() {
			continue
		}
		key := setters.Policy{Namespace: s.policy.Namespace, Name: s.policy.Name}
		images[key] = s.image()
		byPolicy[key] = s
	}
	if len(images) == 0 {
		return nil
	}
	path := "."
	if u := rn.gate.Spec.Update; u != nil && u.Path != "" {
		path = filepath.Clean(u.Path)
	}
	ic := r.newIdleCheck(rn, cfg, path)
	if !r.NoIdleCheck && ic.artifactShowsTip(r.gitRepository(ctx, rn.gate)) {
		rn.gate.Status.LastIdleCheck = ic.record(gitrepo.Result{}, idleSkippedArtifact)
		return nil
	}
	if !r.NoIdleCheck {
		cfg.Unchanged = ic.unchanged
	}
	var applied setters.Result
	change := func(ctx context.Context, dir string) (string, bool, error) {
		res, err := r.setterBudget().Apply(ctx, dir, path, images)
		applied = res
		if err != nil {
			return "", false, fmt.Errorf("rewriting %s: %w", path, err)
		}
		if len(res.Changes) == 0 {
			return "", false, nil
		}
		msg, err := commitMessage(rn.gate, res, path, byPolicy)
		return msg, err == nil, err
	}
	res, err := r.git().Update(ctx, cfg, change)
	r.reportSkipped(rn.gate, applied)
	if errors.Is(err, gitrepo.ErrInvalidConfig) {
		return stalled(igv1.ReasonInvalidSource, "writing to %s: %v", cfg.URL, err)
	}
	if err != nil {
		r.Metrics.countPush(false)
		return failed(igv1.ReasonGitOperationFailed, fmt.Errorf("writing to %s: %w", cfg.URL, err))
	}
	if res.Skipped {
		rn.gate.Status.LastIdleCheck = ic.record(res, idleSkippedListed)
		return nil
	}
	rn.gate.Status.LastIdleCheck = ic.record(res, "")
	if res.Pushed {
		r.Metrics.countPush(true)
		rn.gate.Status.LastPushCommit = res.Commit
		rn.gate.Status.LastPushTime = &metav1.Time{Time: r.now()}
		r.reportCommit(rn.gate, revision(branchOf(cfg), res.Commit), applied, byPolicy)
	}
	return nil
}

func (r *Reconciler) setterBudget() *setters.Budget {
	if r.Setters != nil {
		return r.Setters
	}
	return setters.DefaultBudget()
}

func (r *Reconciler) reportSkipped(g *igv1.ImageGate, res setters.Result) {
	for _, s := range res.Skipped {
		r.gateEvent(g, nil, corev1.EventTypeWarning, EventFileSkipped, "%s holds an image policy marker but was left unchanged: %s", s.File, s.Reason)
	}
}

func branchOf(cfg gitrepo.Config) string {
	if cfg.PushBranch != "" {
		return cfg.PushBranch
	}
	branch, _ := cfg.Checkout.Branch()
	return branch
}
