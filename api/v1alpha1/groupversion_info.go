// Package v1alpha1 holds the imagegate.dev/v1alpha1 API: TrustPolicy,
// ClusterTrustPolicy, ImageGate and ImageVerification. It has types,
// defaults and validation markers only; no logic.
//
// +kubebuilder:object:generate=true
// +groupName=imagegate.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "imagegate.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the API's types with a scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the API's types to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
