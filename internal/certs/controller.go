package certs

import (
	"context"
	"errors"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	ctrl "sigs.k8s.io/controller-runtime"
	ctrlcache "sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// maxRequeue bounds the wait between two checks, so that a clock jump or a
// missed event cannot leave a certificate unrenewed for long.
const maxRequeue = time.Hour

// CacheOptions restrict the manager's informers for the two objects the
// controller watches to exactly those objects: RBAC then only needs to
// grant list and watch on them by name.
func CacheOptions(opts Options) map[client.Object]ctrlcache.ByObject {
	return map[client.Object]ctrlcache.ByObject{
		&corev1.Secret{}: {
			Namespaces: map[string]ctrlcache.Config{opts.Namespace: {}},
			Field:      fields.OneTermEqualSelector("metadata.name", opts.SecretName),
		},
		&admissionregistrationv1.ValidatingWebhookConfiguration{}: {
			Field: fields.OneTermEqualSelector("metadata.name", opts.WebhookConfiguration),
		},
	}
}

// SetupWithManager runs Ensure whenever the Secret or the webhook
// configuration changes (someone re-applied it without the CA bundle) and
// when renewal is due. The manager's cache must include CacheOptions.
func (m *Manager) SetupWithManager(mgr ctrl.Manager) error {
	key := types.NamespacedName{Namespace: m.opts.Namespace, Name: m.opts.SecretName}
	always := handler.EnqueueRequestsFromMapFunc(func(context.Context, client.Object) []reconcile.Request {
		return []reconcile.Request{{NamespacedName: key}}
	})
	return ctrl.NewControllerManagedBy(mgr).
		Named("webhook-certificates").
		Watches(&corev1.Secret{}, always).
		Watches(&admissionregistrationv1.ValidatingWebhookConfiguration{}, always).
		Complete(m)
}

// Reconcile implements reconcile.Reconciler.
func (m *Manager) Reconcile(ctx context.Context, _ reconcile.Request) (reconcile.Result, error) {
	next, err := m.Ensure(ctx)
	if errors.Is(err, ErrNoWebhookConfiguration) {
		log.FromContext(ctx).Info("no webhook configuration to inject the CA bundle into yet; waiting for it", "certificates", m.String())
		err = nil
	}
	if err != nil {
		return reconcile.Result{}, err
	}
	wait := min(next.Sub(m.opts.Clock.Now()), maxRequeue)
	return reconcile.Result{RequeueAfter: max(wait, time.Second)}, nil
}
