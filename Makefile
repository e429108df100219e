# imagegate - see README.md. Tools are built from the Go module proxy into
# bin/ (git-ignored) and pinned here; nothing is assumed on PATH but Go.

SHELL := /usr/bin/env bash -o pipefail
ROOT := $(shell pwd)
BIN := $(ROOT)/bin
export GOTOOLCHAIN := local
export GOBIN := $(BIN)/tools

CONTROLLER_GEN_VERSION := v0.23.0
GOLANGCI_LINT_VERSION := v2.15.0
CONTROLLER_GEN := $(GOBIN)/controller-gen
GOLANGCI_LINT := $(GOBIN)/golangci-lint
KUBEBUILDER_ASSETS ?= $(BIN)/k8s
export KUBEBUILDER_ASSETS
export IMAGEGATE_COSIGN ?= $(GOBIN)/cosign
export IMAGEGATE_HELM ?= $(GOBIN)/helm
FLUX_CRDS := internal/testenv/testdata/crds/flux
GO_TEST_FLAGS ?= -timeout 40m

.PHONY: all
all: build

.PHONY: build
build: ## Build the imagegate binary into bin/.
	CGO_ENABLED=0 go build -trimpath -o $(BIN)/imagegate ./cmd/imagegate

.PHONY: docker-build
docker-build: ## Build the container image (needs a Docker engine).
	docker build -t imagegate:dev .

##@ Tests

.PHONY: test
test: vet lint test-deps ## vet, lint, then every test against a real control plane.
	go test $(GO_TEST_FLAGS) ./...

.PHONY: test-deps
test-deps: control-plane cosign helm ## Build what the tests run: etcd, kube-apiserver, cosign CLI, helm.

.PHONY: control-plane
control-plane:
	hack/control-plane.sh $(KUBEBUILDER_ASSETS)

.PHONY: cosign
cosign:
	hack/cosign.sh $(GOBIN)

.PHONY: helm
helm:
	hack/helm.sh $(GOBIN)

.PHONY: vet
vet:
	go vet ./...

.PHONY: lint
lint: $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...

.PHONY: demo
# The demo's story is TestDemo's stdout. go test run with no package argument
# (local directory mode) streams a test's stdout as it runs; with a package
# argument it would hide a passing test's output, and -v would wrap the story
# in test-runner lines.
demo: control-plane ## The gate end to end on a local sandbox: signed tag committed, unsigned blocked, a hand-made commit caught by imagegate audit.
	cd e2e && go test -count=1 -run '^TestDemo$$'

.PHONY: bench
bench: test-deps ## Benchmarks (figures go to docs/benchmarks.md).
	go test -run '^$$' -bench . -benchmem ./...

##@ Generated files

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Deepcopy functions.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: $(CONTROLLER_GEN) flux-crds ## CRDs and RBAC.
	$(CONTROLLER_GEN) crd paths=./api/... output:crd:dir=config/crd/bases

.PHONY: flux-crds
flux-crds: $(CONTROLLER_GEN) ## Flux CRDs for tests, generated from the pinned API modules.
	go mod download github.com/fluxcd/image-reflector-controller/api github.com/fluxcd/source-controller/api github.com/fluxcd/image-automation-controller/api
	rm -rf $(FLUX_CRDS) && mkdir -p $(FLUX_CRDS)
	for m in image-reflector-controller source-controller image-automation-controller; do \
	  dir=$$(go list -m -f '{{.Dir}}' github.com/fluxcd/$$m/api) && \
	  (cd $$dir && $(CONTROLLER_GEN) crd paths=./... output:crd:dir=$(ROOT)/$(FLUX_CRDS)) || exit 1; \
	done

CHART := charts/imagegate
THIRDPARTY_CRDS := internal/testenv/testdata/crds/thirdparty
# module@version:package of the API types whose CRDs the chart tests install.
THIRDPARTY_CRD_APIS := github.com/cert-manager/cert-manager@v1.21.2:pkg/apis/certmanager/v1 \
	github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring@v0.95.2:v1 \
	github.com/fluxcd/kustomize-controller/api@v1.9.6:v1 \
	github.com/fluxcd/helm-controller/api@v1.6.5:v2

.PHONY: chart-files
chart-files: ## Copy config/'s CRDs and monitoring assets into the chart (Helm cannot read outside it).
	rm -f $(CHART)/crds/*.yaml && cp config/crd/bases/*.yaml $(CHART)/crds/
	cp config/monitoring/prometheusrule.yaml config/monitoring/dashboard.json $(CHART)/files/

.PHONY: thirdparty-crds
thirdparty-crds: $(CONTROLLER_GEN) ## CRDs of the cert-manager, prometheus-operator and Flux Kustomization/HelmRelease kinds config/, the chart and the docs use, for their tests.
	rm -rf $(THIRDPARTY_CRDS) && mkdir -p $(THIRDPARTY_CRDS)/all
	for api in $(THIRDPARTY_CRD_APIS); do \
	  mod=$${api%%:*} pkg=$${api#*:} && \
	  dir=$$(cd / && GOFLAGS= GOWORK=off go mod download $$mod && GOFLAGS= GOWORK=off go list -m -f '{{.Dir}}' $$mod) && \
	  (cd $$dir && GOFLAGS= GOWORK=off $(CONTROLLER_GEN) crd paths=./$$pkg/... output:crd:dir=$(ROOT)/$(THIRDPARTY_CRDS)/all) || exit 1; \
	done
	cd $(THIRDPARTY_CRDS) && mv all/cert-manager.io_certificates.yaml all/cert-manager.io_issuers.yaml \
	  all/monitoring.coreos.com_servicemonitors.yaml all/monitoring.coreos.com_podmonitors.yaml \
	  all/monitoring.coreos.com_prometheusrules.yaml \
	  all/kustomize.toolkit.fluxcd.io_kustomizations.yaml all/helm.toolkit.fluxcd.io_helmreleases.yaml . && rm -rf all

.PHONY: verify
verify: generate manifests chart-files ## Fails when generated files are not current.
	git diff --exit-code -- api config charts internal/testenv/testdata

$(CONTROLLER_GEN):
	go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_GEN_VERSION)

$(GOLANGCI_LINT):
	go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

.PHONY: clean
clean:
	rm -rf $(BIN)/imagegate
