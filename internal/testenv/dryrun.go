package testenv

import (
	"context"
	"fmt"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// strict refuses unknown and duplicate fields instead of dropping them
// with a warning (the API server's default), so that a misspelt field in
// a manifest fails the dry run.
const strict = client.FieldValidation(metav1.FieldValidationStrict)

// DryRunApply sends obj to the API server as a server-side dry run with
// strict field validation: schema, CRD validation (OpenAPI and CEL) and
// built-in admission all run, nothing is stored. An object that exists
// already (a CRD envtest installed, a namespace) is dry-run updated
// instead, which validates it the same way. obj is not modified.
func DryRunApply(ctx context.Context, c client.Client, obj *unstructured.Unstructured) error {
	err := c.Create(ctx, obj.DeepCopy(), client.DryRunAll, strict)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	cur := &unstructured.Unstructured{}
	cur.SetGroupVersionKind(obj.GroupVersionKind())
	if err := c.Get(ctx, client.ObjectKeyFromObject(obj), cur); err != nil {
		return fmt.Errorf("reading the existing %s %s: %w", obj.GetKind(), obj.GetName(), err)
	}
	upd := obj.DeepCopy()
	upd.SetResourceVersion(cur.GetResourceVersion())
	return c.Update(ctx, upd, client.DryRunAll, strict)
}

// EnsureNamespace creates a namespace for real unless it exists: dry-run
// creates of namespaced objects need it.
func EnsureNamespace(ctx context.Context, t testing.TB, c client.Client, name string, labels map[string]string) {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("creating namespace %s: %v", name, err)
	}
}
