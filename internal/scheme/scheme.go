// Package scheme builds the runtime scheme imagegate's clients use: the
// built-in Kubernetes types, imagegate's API, and the Flux types the gate
// reads (ImagePolicy, GitRepository).
package scheme

import (
	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// New returns a new scheme with every type imagegate uses.
func New() *k8sruntime.Scheme {
	s := k8sruntime.NewScheme()
	for _, add := range []func(*k8sruntime.Scheme) error{
		clientgoscheme.AddToScheme, igv1.AddToScheme, imagev1.AddToScheme, sourcev1.AddToScheme,
	} {
		if err := add(s); err != nil {
			// Registering static types fails only on a programming error.
			panic(err)
		}
	}
	return s
}
