package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ImageVerificationSpec names what was verified under which rules.
type ImageVerificationSpec struct {
	// Image as it was asked for (name:tag or name@digest).
	// +kubebuilder:validation:MinLength=1
	// +required
	Image string `json:"image"`

	// Digest verified ("sha256:<hex>").
	// +kubebuilder:validation:Pattern=`^sha256:[a-f0-9]{64}$`
	// +required
	Digest string `json:"digest"`

	// Policy that decided.
	// +required
	Policy PolicyReference `json:"policy"`

	// PolicyHash of the policy's rules at verification.
	// +kubebuilder:validation:Pattern=`^sha256:[a-f0-9]{64}$`
	// +required
	PolicyHash string `json:"policyHash"`
}

// PolicyReference names a TrustPolicy or ClusterTrustPolicy.
type PolicyReference struct {
	// Kind TrustPolicy or ClusterTrustPolicy.
	// +kubebuilder:validation:Enum=TrustPolicy;ClusterTrustPolicy
	// +required
	Kind string `json:"kind"`
	// Namespace of a TrustPolicy.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Name of the policy.
	// +required
	Name string `json:"name"`
}

// VerificationResult is Verified, Denied or Exception.
// +kubebuilder:validation:Enum=Verified;Denied;Exception
type VerificationResult string

// Results recorded.
const (
	ResultVerified  VerificationResult = "Verified"
	ResultDenied    VerificationResult = "Denied"
	ResultException VerificationResult = "Exception"
)

// Signer is one authority that verified the image.
type Signer struct {
	// Authority name in the policy.
	Authority string `json:"authority"`
	// Format of the signature: bundle, legacy or static.
	// +optional
	Format string `json:"format,omitempty"`
	// Identity: the key fingerprint, or the keyless issuer and subject.
	// +optional
	Identity string `json:"identity,omitempty"`
}

// ImageVerificationStatus is the verdict.
type ImageVerificationStatus struct {
	// Result of the verification.
	// +optional
	Result VerificationResult `json:"result,omitempty"`
	// Reason code (Verified, NoSignature, ThresholdNotMet, Exception, ...).
	// +optional
	Reason string `json:"reason,omitempty"`
	// Message in plain words.
	// +optional
	Message string `json:"message,omitempty"`
	// Signers that verified.
	// +optional
	Signers []Signer `json:"signers,omitempty"`
	// RekorLogIndex of the transparency log entry, when there is one.
	// +optional
	RekorLogIndex *int64 `json:"rekorLogIndex,omitempty"`
	// VerifiedAt is when the verification ran.
	// +optional
	VerifiedAt *metav1.Time `json:"verifiedAt,omitempty"`
	// ExpiresAt is when the record stops approving images.
	// +optional
	ExpiresAt *metav1.Time `json:"expiresAt,omitempty"`
}

// ImageVerification records one verification of (digest, policy hash).
// imagegate alone writes it; the webhook denies writes by anyone else.
// Its name is derived from the digest and the policy hash.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:scope=Cluster,shortName=iv
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image`
// +kubebuilder:printcolumn:name="Result",type=string,JSONPath=`.status.result`
// +kubebuilder:printcolumn:name="Reason",type=string,JSONPath=`.status.reason`
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.spec.policy.name`
// +kubebuilder:printcolumn:name="Expires",type=string,JSONPath=`.status.expiresAt`,description="When the record stops approving the digest (RFC 3339; a date column would print future times as <invalid>)"
type ImageVerification struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ImageVerificationSpec   `json:"spec"`
	Status ImageVerificationStatus `json:"status,omitempty"`
}

// ImageVerificationList is a list of ImageVerification.
//
// +kubebuilder:object:root=true
type ImageVerificationList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ImageVerification `json:"items"`
}

func init() {
	register(&ImageVerification{}, &ImageVerificationList{})
}
