// Package charts holds imagegate's Helm chart (charts/imagegate) and, in
// its tests, the checks that keep it honest: helm lint is clean for every
// values file; every object `helm template` renders, for each values case,
// is accepted by a real API server (server-side dry run, with the
// cert-manager and prometheus-operator CRDs of internal/testenv/testdata/crds/thirdparty); the
// rendered service accounts hold the permissions the binaries need and no
// more; the webhook configuration matches what internal/admission builds
// and the container flags match config/'s; and the chart's copies of
// config/'s CRDs and monitoring assets are current. The tests run the helm
// binary that `make test-deps` builds (env IMAGEGATE_HELM) and nothing
// else. It has no Go API; nothing may import it.
package charts
