#!/usr/bin/env bash
# Builds the Helm CLI that the chart tests run (helm lint, helm template),
# into $1 (default bin/tools). It is a test tool only: the project never
# imports Helm, so it is built in module mode with `go install pkg@version`,
# outside the project's go.mod. A binary already reporting the pinned version
# is kept, so a warm run costs one version check.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/bin/tools}
version=v3.22.0
mkdir -p "$out"
out=$(cd "$out" && pwd)
source "$root/hack/version.sh"

if reports_version "$version" "$out/helm" version --template '{{.Version}}'; then
  exit 0
fi

echo "helm: building $version into $out (a few minutes cold)"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" &&
  CGO_ENABLED=0 GOFLAGS= GOWORK=off GOBIN="$out" \
    go install -trimpath \
    -ldflags "-X helm.sh/helm/v3/internal/version.version=$version" \
    "helm.sh/helm/v3/cmd/helm@$version")
"$out/helm" version --template '{{.Version}}'; echo
