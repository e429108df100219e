//go:build tools

// Package tools pins etcd's server module so that hack/control-plane.sh can
// build the etcd binary that envtest starts.
package tools

import _ "go.etcd.io/etcd/server/v3"
