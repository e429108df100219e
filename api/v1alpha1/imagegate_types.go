package v1alpha1

import (
	imagev1 "github.com/fluxcd/image-automation-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImageGateSpec has the fields of Flux's ImageUpdateAutomation v1 spec,
// with its types, so that an ImageUpdateAutomation becomes an ImageGate by
// renaming the kind.
type ImageGateSpec struct {
	// SourceRef is the GitRepository whose URL, credentials and ref are used.
	// +required
	SourceRef imagev1.CrossNamespaceSourceReference `json:"sourceRef"`

	// GitSpec says how to check out, commit and push.
	// +optional
	GitSpec *imagev1.GitSpec `json:"git,omitempty"`

	// Interval between runs.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern="^([0-9]+(\\.[0-9]+)?(ms|s|m|h))+$"
	// +required
	Interval metav1.Duration `json:"interval"`

	// PolicySelector selects the ImagePolicies of the gate's namespace;
	// empty selects them all.
	// +optional
	PolicySelector *metav1.LabelSelector `json:"policySelector,omitempty"`

	// Update says where and how to write: strategy Setters under path.
	// +kubebuilder:default={"strategy":"Setters"}
	// +optional
	Update *imagev1.UpdateStrategy `json:"update,omitempty"`

	// Suspend stops the gate until set back to false.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// ImageGateStatus is what the gate last saw and did.
type ImageGateStatus struct {
	// ObservedGeneration is the generation last reconciled.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Policies has one row per selected ImagePolicy.
	// +optional
	// +listType=map
	// +listMapKey=policy
	Policies []PolicyStatus `json:"policies,omitempty"`

	// LastPushCommit is the commit last pushed.
	// +optional
	LastPushCommit string `json:"lastPushCommit,omitempty"`

	// LastPushTime is when it was pushed.
	// +optional
	LastPushTime *metav1.Time `json:"lastPushTime,omitempty"`

	// LastAutomationRunTime is when the last run started, whatever its
	// outcome, as in Flux's ImageUpdateAutomation.
	// +optional
	LastAutomationRunTime *metav1.Time `json:"lastAutomationRunTime,omitempty"`

	// ObservedPolicies maps each ImagePolicy the last successful run
	// considered to its selection (status.latestRef: name, tag and the
	// digest it reflected), as in Flux's ImageUpdateAutomation; whether
	// the gate admitted it is in Policies.
	// +optional
	ObservedPolicies imagev1.ObservedPolicies `json:"observedPolicies,omitempty"`

	// LastHandledReconcileAt is the last reconcile.fluxcd.io/requestedAt
	// value handled.
	// +optional
	LastHandledReconcileAt string `json:"lastHandledReconcileAt,omitempty"`

	// LastIdleCheck is what the last run compared to decide whether it
	// could skip the clone: the inputs and branch tips of the last run
	// that wrote to Git (or found Git already right), and the outcome.
	// +optional
	LastIdleCheck *IdleCheck `json:"lastIdleCheck,omitempty"`

	// Conditions: Ready, Blocked (some selection withheld), Stalled,
	// Reconciling.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// IdleCheck records the last run that wrote to Git, or found Git already
// holding its images, so that a later run with the same inputs skips the
// clone and the setters while the branches are still at the commits that
// run saw or pushed (docs/api.md).
type IdleCheck struct {
	// InputsHash is "sha256:<hex>" over what that run wrote from: the
	// gate's generation, the Git URL, branches, push refspec and update
	// path, the controller's setter limits, and each admitted selection (ImagePolicy, name, tag, digest)
	// with the trust policies that judged it and their hashes.
	// +optional
	InputsHash string `json:"inputsHash,omitempty"`
	// CheckoutBranch and CheckoutCommit: the branch cloned and the commit
	// it pointed at after that run.
	// +optional
	CheckoutBranch string `json:"checkoutBranch,omitempty"`
	// +optional
	CheckoutCommit string `json:"checkoutCommit,omitempty"`
	// PushBranch and PushCommit: the branch pushed to and the commit it
	// pointed at after that run (the pushed commit, or the tip found);
	// PushCommit is empty when the branch did not exist.
	// +optional
	PushBranch string `json:"pushBranch,omitempty"`
	// +optional
	PushCommit string `json:"pushCommit,omitempty"`
	// Result is the last run's outcome: "Skipped" with where the tips came
	// from (ls-remote, or the GitRepository's status.artifact.revision),
	// or "Ran" with why (first run, inputs changed, a branch moved, the
	// check turned off).
	// +optional
	Result string `json:"result,omitempty"`
}

// PolicyStatus is the gate's view of one ImagePolicy selection.
type PolicyStatus struct {
	// Policy is the ImagePolicy name.
	Policy string `json:"policy"`
	// LatestTag is the tag the ImagePolicy selected.
	// +optional
	LatestTag string `json:"latestTag,omitempty"`
	// LatestDigest is the digest that tag resolved to.
	// +optional
	LatestDigest string `json:"latestDigest,omitempty"`
	// Verified says whether LatestDigest verified.
	Verified bool `json:"verified"`
	// LastVerifiedRef is the last reference written to Git (name:tag@digest).
	// +optional
	LastVerifiedRef string `json:"lastVerifiedRef,omitempty"`
	// TrustPolicy that decided, "namespace/name" or a cluster policy name.
	// +optional
	TrustPolicy string `json:"trustPolicy,omitempty"`
	// Signers that verified, e.g. "release-key: key bundle sha256:...".
	// +optional
	Signers []string `json:"signers,omitempty"`
	// VerifiedAt is when LatestDigest was verified.
	// +optional
	VerifiedAt *metav1.Time `json:"verifiedAt,omitempty"`
	// Reason code of the last decision (Verified, NoSignature, ...).
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message says what happened and what to do.
	// +optional
	Message string `json:"message,omitempty"`
}

// ImageGate verifies each ImagePolicy selection before it writes
// name:tag@digest to Git.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=ig
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Blocked",type=string,JSONPath=`.status.conditions[?(@.type=="Blocked")].status`
// +kubebuilder:printcolumn:name="Status",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].message`
// +kubebuilder:printcolumn:name="Last Commit",type=string,JSONPath=`.status.lastPushCommit`,priority=1
// +kubebuilder:printcolumn:name="Last Run",type=string,JSONPath=`.status.lastAutomationRunTime`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type ImageGate struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ImageGateSpec   `json:"spec"`
	Status ImageGateStatus `json:"status,omitempty"`
}

// GetConditions returns the status conditions (fluxcd/pkg conditions.Getter).
func (g *ImageGate) GetConditions() []metav1.Condition { return g.Status.Conditions }

// SetConditions sets the status conditions (fluxcd/pkg conditions.Setter).
func (g *ImageGate) SetConditions(c []metav1.Condition) { g.Status.Conditions = c }

// ImageGateList is a list of ImageGate.
//
// +kubebuilder:object:root=true
type ImageGateList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageGate `json:"items"`
}

func init() {
	register(&ImageGate{}, &ImageGateList{})
}
