#!/usr/bin/env bash
# Builds the cosign v3 CLI that internal/testenv's SignBundle runs, into $1
# (default bin/tools). It is a test fixture only: the project never imports
# cosign v3 (its go line and dependency tree are not the project's), so it is
# built in module mode with `go install pkg@version`, outside the project's
# go.mod. A binary already reporting the pinned version is kept, so a warm run
# costs one version check; a cold build takes about 4.5 minutes on 2 cores.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/bin/tools}
version=v3.1.3
mkdir -p "$out"
out=$(cd "$out" && pwd)
source "$root/hack/version.sh"

if reports_version "GitVersion: *$version" "$out/cosign" version; then
  exit 0
fi

echo "cosign: building $version into $out (about 4.5 minutes cold)"
# Run from a scratch directory so no go.mod (the project's or a parent's)
# takes part: `go install pkg@version` then resolves cosign's own go.mod only.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
(cd "$scratch" &&
  CGO_ENABLED=0 GOFLAGS= GOWORK=off GOBIN="$out" \
    go install -trimpath "github.com/sigstore/cosign/v3/cmd/cosign@$version")
"$out/cosign" version 2>/dev/null | grep "GitVersion"
