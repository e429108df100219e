package admission

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// Names of the webhooks in the configuration.
const (
	WorkloadsWebhookName          = "workloads.imagegate.dev"
	ImageVerificationsWebhookName = "imageverifications.imagegate.dev"
	// TimeoutSeconds is the API server's deadline for one call.
	TimeoutSeconds = int32(MaxTimeout / 1e9)
)

// ConfigOptions describe where the webhook runs.
type ConfigOptions struct {
	// Name of the ValidatingWebhookConfiguration; default "imagegate".
	Name string
	// ServiceNamespace and ServiceName of the webhook's Service; default
	// "imagegate-system" and "imagegate-webhook".
	ServiceNamespace, ServiceName string
	// Path; default DefaultPath.
	Path string
	// Port of the Service; default 443.
	Port int32
	// CABundle that signed the serving certificate (cert-manager's
	// cainjector can fill it instead).
	CABundle []byte
	// PodsOnly routes only Pods (and ImageVerifications) to the webhook.
	PodsOnly bool
	// ExemptNamespaces are not sent to the webhook at all; default
	// kube-system and ServiceNamespace, so that the webhook's own Pods
	// can start while it is down.
	ExemptNamespaces []string
}

func (o *ConfigOptions) defaults() {
	if o.Name == "" {
		o.Name = "imagegate"
	}
	if o.ServiceNamespace == "" {
		o.ServiceNamespace = "imagegate-system"
	}
	if o.ServiceName == "" {
		o.ServiceName = "imagegate-webhook"
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.Port == 0 {
		o.Port = 443
	}
	if o.ExemptNamespaces == nil {
		o.ExemptNamespaces = []string{"kube-system", o.ServiceNamespace}
	}
}

// WebhookConfiguration returns the ValidatingWebhookConfiguration that
// routes Pods, the workload kinds and ImageVerifications to the webhook:
// failurePolicy Fail, sideEffects None (the records the webhook writes are
// not side effects of the admitted request, and none is written on dry
// runs), timeoutSeconds 10. ImageVerifications are cluster-scoped, so the
// namespace selector does not spare them.
func WebhookConfiguration(o ConfigOptions) *admissionregistrationv1.ValidatingWebhookConfiguration {
	o.defaults()
	svc := func() admissionregistrationv1.WebhookClientConfig {
		return admissionregistrationv1.WebhookClientConfig{
			Service:  &admissionregistrationv1.ServiceReference{Namespace: o.ServiceNamespace, Name: o.ServiceName, Path: ptr.To(o.Path), Port: ptr.To(o.Port)},
			CABundle: o.CABundle,
		}
	}
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta:   metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Name},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{
			withConditions(validatingWebhook(WorkloadsWebhookName, svc(), workloadRules(o.PodsOnly), &metav1.LabelSelector{
				MatchExpressions: []metav1.LabelSelectorRequirement{{
					Key: "kubernetes.io/metadata.name", Operator: metav1.LabelSelectorOpNotIn, Values: o.ExemptNamespaces,
				}},
			}), specChanged),
			validatingWebhook(ImageVerificationsWebhookName, svc(), []admissionregistrationv1.RuleWithOperations{
				rule([]admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update, admissionregistrationv1.Delete},
					igv1.GroupVersion.Group, igv1.GroupVersion.Version, "imageverifications", "imageverifications/status"),
			}, nil),
		},
	}
}

// specChanged lets the API server skip UPDATEs that leave spec alone
// (labels, annotations, finalizers, owner references): they cannot change
// an image, and with failurePolicy Fail a webhook outage would otherwise
// block them, finalizer removal during a namespace's deletion included.
var specChanged = admissionregistrationv1.MatchCondition{
	Name:       "spec-changed",
	Expression: "request.operation != 'UPDATE' || !has(object.spec) || !has(oldObject.spec) || object.spec != oldObject.spec",
}

func validatingWebhook(name string, cc admissionregistrationv1.WebhookClientConfig, rules []admissionregistrationv1.RuleWithOperations, ns *metav1.LabelSelector) admissionregistrationv1.ValidatingWebhook {
	return admissionregistrationv1.ValidatingWebhook{
		Name:                    name,
		ClientConfig:            cc,
		Rules:                   rules,
		FailurePolicy:           ptr.To(admissionregistrationv1.Fail),
		MatchPolicy:             ptr.To(admissionregistrationv1.Equivalent),
		NamespaceSelector:       ns,
		SideEffects:             ptr.To(admissionregistrationv1.SideEffectClassNone),
		TimeoutSeconds:          ptr.To(TimeoutSeconds),
		AdmissionReviewVersions: []string{"v1"},
	}
}

func withConditions(w admissionregistrationv1.ValidatingWebhook, cs ...admissionregistrationv1.MatchCondition) admissionregistrationv1.ValidatingWebhook {
	w.MatchConditions = cs
	return w
}

func workloadRules(podsOnly bool) []admissionregistrationv1.RuleWithOperations {
	ops := []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update}
	rules := []admissionregistrationv1.RuleWithOperations{
		rule(ops, "", "v1", "pods", "pods/ephemeralcontainers"),
	}
	if podsOnly {
		return rules
	}
	return append(rules,
		rule(ops, "", "v1", "replicationcontrollers"),
		rule(ops, "apps", "v1", "deployments", "replicasets", "statefulsets", "daemonsets"),
		rule(ops, "batch", "v1", "jobs", "cronjobs"),
	)
}

func rule(ops []admissionregistrationv1.OperationType, group, version string, resources ...string) admissionregistrationv1.RuleWithOperations {
	return admissionregistrationv1.RuleWithOperations{
		Operations: ops,
		Rule: admissionregistrationv1.Rule{
			APIGroups: []string{group}, APIVersions: []string{version}, Resources: resources,
			Scope: ptr.To(admissionregistrationv1.AllScopes),
		},
	}
}
