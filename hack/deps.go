//go:build tools

// Package hack pins the module graph while packages are written in parallel.
package hack

import (
	_ "github.com/fluxcd/image-automation-controller/api/v1"
	_ "github.com/fluxcd/image-reflector-controller/api/v1"
	_ "github.com/fluxcd/pkg/runtime/conditions"
	_ "github.com/fluxcd/pkg/runtime/patch"
	_ "github.com/fluxcd/source-controller/api/v1"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/go-git/go-git/v5/plumbing/transport/http"
	_ "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	_ "github.com/ProtonMail/go-crypto/openpgp"
	_ "github.com/google/go-containerregistry/pkg/registry"
	_ "github.com/google/go-containerregistry/pkg/v1/remote"
	_ "github.com/google/go-containerregistry/pkg/v1/random"
	_ "github.com/google/go-containerregistry/pkg/v1/mutate"
	_ "github.com/google/go-containerregistry/pkg/authn"
	_ "github.com/sigstore/cosign/v2/pkg/cosign"
	_ "github.com/sigstore/cosign/v2/pkg/oci/remote"
	_ "github.com/sigstore/cosign/v2/pkg/oci/mutate"
	_ "github.com/sigstore/cosign/v2/pkg/oci/static"
	_ "github.com/sigstore/cosign/v2/pkg/signature"
	_ "github.com/sigstore/sigstore-go/pkg/verify"
	_ "github.com/sigstore/sigstore-go/pkg/sign"
	_ "github.com/sigstore/sigstore-go/pkg/root"
	_ "github.com/sigstore/sigstore-go/pkg/bundle"
	_ "github.com/sigstore/sigstore-go/pkg/testing/ca"
	_ "github.com/sigstore/sigstore/pkg/signature"
	_ "k8s.io/client-go/kubernetes"
	_ "sigs.k8s.io/controller-runtime"
	_ "sigs.k8s.io/controller-runtime/pkg/envtest"
	_ "sigs.k8s.io/controller-runtime/pkg/webhook/admission"
	_ "sigs.k8s.io/kustomize/kyaml/yaml"
	_ "golang.org/x/sync/singleflight"
	_ "github.com/prometheus/client_golang/prometheus"
)
