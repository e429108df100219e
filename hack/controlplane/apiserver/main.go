//go:build tools

// Package tools pins kube-apiserver so that hack/control-plane.sh can build
// the API server binary that envtest starts.
package tools

import _ "k8s.io/kubernetes/cmd/kube-apiserver"
