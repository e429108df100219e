// Package testenv holds imagegate's test fixtures, one copy of each: a real
// control plane (envtest with etcd and kube-apiserver built by
// hack/control-plane.sh), an in-process OCI registry with signed images, a
// smart-HTTP git server, and cosign keys and signatures made at test time.
// Every fixture binds to 127.0.0.1 and cleans up after itself.
//
// Only tests import this package.
package testenv
