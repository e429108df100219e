// Package podspec owns what imagegate knows of where Kubernetes objects
// name the images the kubelet pulls: which kinds carry a pod spec and at
// which path (a Pod's spec, the pod template of the workload kinds, a
// CronJob's job template), and which fields of a pod spec name images.
// The webhook decodes admission requests with it and imagegate audit
// --all-images reads manifests in Git with it, so the two agree on every
// field. It is data only: it must not import Kubernetes, YAML or JSON
// packages.
package podspec
