#!/usr/bin/env bash
# Builds the etcd and kube-apiserver binaries that envtest starts, from the
# pinned Go modules in hack/controlplane/, into $1 (default bin/k8s).
# Nothing is downloaded but Go modules; binaries already present at the
# pinned versions are kept, so a warm run costs a version check.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/bin/k8s}
etcd_version=3.6.16
kube_version=v1.37.2
mkdir -p "$out"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
source "$root/hack/version.sh"

if ! reports_version "etcd Version: $etcd_version" "$out/etcd" --version; then
  echo "control-plane: building etcd $etcd_version into $out"
  (cd "$root/hack/controlplane/etcd" &&
    go build -trimpath -o "$out/etcd" go.etcd.io/etcd/server/v3)
fi

if ! reports_version "Kubernetes $kube_version" "$out/kube-apiserver" --version; then
  echo "control-plane: building kube-apiserver $kube_version into $out (about 9 minutes cold)"
  v=k8s.io/component-base/version
  (cd "$root/hack/controlplane/apiserver" &&
    go build -trimpath -o "$out/kube-apiserver" \
      -ldflags "-s -w -X $v.gitVersion=$kube_version -X $v.gitMajor=1 -X $v.gitMinor=37" \
      k8s.io/kubernetes/cmd/kube-apiserver)
fi
etcd_reports=$("$out/etcd" --version)
echo "control-plane: ${etcd_reports%%$'\n'*}; $("$out/kube-apiserver" --version)"
