package gate

import (
	"context"
	"strings"
	"testing"
	"time"

	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/setters"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestOverBudgetFileIsSkippedWithAWarning: a marked file over the setter
// budget is left as it is and named, with the limit, in a Warning event on
// the ImageGate, while the other marked files of the repository are still
// committed.
func TestOverBudgetFileIsSkippedWithAWarning(t *testing.T) {
	t.Parallel()
	w := newWorld(t, "web")
	budget, err := setters.NewBudget(setters.Limits{MaxFileBytes: 64 << 10, MaxFileNodes: 1000})
	if err != nil {
		t.Fatal(err)
	}
	w.rec.Setters = budget
	huge := strings.Repeat("# filler line\n", 5000) + strings.Replace(w.file("web"), "name: web", "name: huge", 1)
	w.git.PushCommit(t, w.repo, "main", map[string]string{"deploy/huge.yaml": huge}, "a file over the budget")
	d := w.publishSigned("web", "v1")

	w.mustReconcile()
	if got := w.file("web"); !strings.Contains(got, d.DigestStr()) {
		t.Errorf("deploy/web.yaml not updated:\n%s", got)
	}
	if got := w.git.File(t, w.repo, "main", "deploy/huge.yaml"); got != huge {
		t.Error("deploy/huge.yaml was rewritten despite the budget")
	}
	evs := w.events()
	if !hasEvent(evs, "Warning FileSkipped deploy/huge.yaml holds an image policy marker but was left unchanged: larger than the limit of 65536 bytes") {
		t.Errorf("events %q, want a FileSkipped warning naming deploy/huge.yaml and the byte limit", evs)
	}
}

// TestGitDeadlineFromGitRepository: the GitRepository's spec.timeout
// bounds each Git operation, up to the controller's --git-timeout-max;
// against a server that accepts and never answers, the reconcile fails
// (transient, retried) with a message naming the operation and the
// timeout instead of blocking its worker.
func TestGitDeadlineFromGitRepository(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		timeout, max  time.Duration
		wantInMessage string
	}{
		{"spec.timeout", time.Second, 0, "within the 1s timeout"},
		{"spec.timeout over the cap", 59 * time.Minute, time.Second, "within the 1s timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newWorld(t, "web")
			w.rec.MaxGitTimeout = tc.max
			w.publishSigned("web", "v1")
			pit := testenv.NewTarpit(t, "", nil)
			var repo sourcev1.GitRepository
			if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "fleet"}, &repo); err != nil {
				t.Fatal(err)
			}
			repo.Spec.URL = "http://" + pit.Addr() + "/fleet.git"
			repo.Spec.Timeout = &metav1.Duration{Duration: tc.timeout}
			if err := cp.Client.Update(ctx, &repo); err != nil {
				t.Fatal(err)
			}

			if _, err := w.reconcile(); err == nil {
				t.Fatal("reconcile against a tarpit succeeded")
			}
			c := condition(w.gate(), igv1.ReadyCondition)
			if c == nil || c.Status != metav1.ConditionFalse || c.Reason != igv1.ReasonGitOperationFailed ||
				!strings.Contains(c.Message, "git list") || !strings.Contains(c.Message, tc.wantInMessage) {
				t.Fatalf("Ready: %+v, want False/GitOperationFailed naming the list and %q", c, tc.wantInMessage)
			}
			if s := condition(w.gate(), igv1.StalledCondition); s != nil {
				t.Errorf("Stalled: %+v; a timeout is transient", s)
			}
			if pit.Stalled() != 1 {
				t.Errorf("%d connections to the tarpit, want 1", pit.Stalled())
			}
		})
	}
}
