package gate

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestNoCrossNamespaceRefsRefusesAnotherNamespacesRepository: with the
// flag, an ImageGate cannot push through a GitRepository (and its
// credentials) of another namespace; without it, the same gate commits.
func TestNoCrossNamespaceRefsRefusesAnotherNamespacesRepository(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t, "web")
	other := w.ns + "-source"
	w.create(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: other}})
	w.create(testenv.GitRepository(other, "fleet", w.git.URL()+"/"+w.repo, "main"))
	var g igv1.ImageGate
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: "gate"}, &g); err != nil {
		t.Fatal(err)
	}
	g.Spec.SourceRef.Namespace = other
	if err := cp.Client.Update(ctx, &g); err != nil {
		t.Fatal(err)
	}
	w.publishSigned("web", "v1")
	before := len(w.log())

	w.rec.NoCrossNamespaceRefs = true
	if _, err := w.reconcile(); err != nil {
		t.Fatalf("a refused sourceRef is a condition, not a reconcile error: %v", err)
	}
	c := condition(w.gate(), igv1.ReadyCondition)
	if c == nil || c.Status != metav1.ConditionFalse || c.Reason != igv1.ReasonAccessDenied {
		t.Fatalf("Ready: %+v, want False/AccessDenied", c)
	}
	if s := condition(w.gate(), igv1.StalledCondition); s == nil || s.Status != metav1.ConditionTrue {
		t.Fatalf("Stalled: %+v", s)
	}
	if n := len(w.log()) - before; n != 0 {
		t.Fatalf("%d commits through another namespace's repository", n)
	}

	w.rec.NoCrossNamespaceRefs = false
	w.mustReconcile()
	if n := len(w.log()) - before; n != 1 {
		t.Fatalf("without the flag: %d commits, want 1 (the setup must work for the refusal to mean anything)", n)
	}
}
