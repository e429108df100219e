package policy

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/util/yaml"
	sigsyaml "sigs.k8s.io/yaml"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// ErrNoSecrets is returned when a policy read from a file names a Secret:
// files have no cluster to read it from.
var ErrNoSecrets = errors.New("policies read from files cannot use secretRef; put the PEM key in key.data")

// Decode reads every YAML document of r as a TrustPolicy or
// ClusterTrustPolicy (imagegate.dev/v1alpha1) and compiles it. Errors name
// the source, the document (1-based) and the field.
func Decode(ctx context.Context, source string, r io.Reader) ([]*Policy, error) {
	reader := yaml.NewYAMLReader(bufio.NewReader(r))
	var out []*Policy
	for doc := 1; ; doc++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, doc, err)
		}
		var probe map[string]any
		if err := sigsyaml.Unmarshal(raw, &probe); err == nil && len(probe) == 0 {
			doc-- // an empty document, such as a trailing "---"
			continue
		}
		p, err := decodeDocument(ctx, raw)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", source, doc, err)
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w: no TrustPolicy or ClusterTrustPolicy documents", source, ErrInvalidPolicy)
	}
	return out, nil
}

type typeHeader struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

func decodeDocument(ctx context.Context, raw []byte) (*Policy, error) {
	var h typeHeader
	if err := sigsyaml.Unmarshal(raw, &h); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
	}
	if h.APIVersion != igv1.GroupVersion.String() {
		return nil, fmt.Errorf("%w: apiVersion %q, want %s", ErrInvalidPolicy, h.APIVersion, igv1.GroupVersion)
	}
	if h.Metadata.Name == "" {
		return nil, fmt.Errorf("%w: metadata.name is required", ErrInvalidPolicy)
	}
	var spec *igv1.TrustPolicySpec
	ref := Ref{Kind: h.Kind, Name: h.Metadata.Name}
	switch h.Kind {
	case "TrustPolicy":
		var tp igv1.TrustPolicy
		if err := sigsyaml.UnmarshalStrict(raw, &tp); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrInvalidPolicy, ref.Name, err)
		}
		ref.Namespace = tp.Namespace
		if ref.Namespace == "" {
			ref.Namespace = "default"
		}
		spec = &tp.Spec
	case "ClusterTrustPolicy":
		var ctp igv1.ClusterTrustPolicy
		if err := sigsyaml.UnmarshalStrict(raw, &ctp); err != nil {
			return nil, fmt.Errorf("%w %s: %w", ErrInvalidPolicy, ref.Name, err)
		}
		spec = &ctp.Spec
	default:
		return nil, fmt.Errorf("%w: kind %q, want TrustPolicy or ClusterTrustPolicy", ErrInvalidPolicy, h.Kind)
	}
	return Compile(ctx, ref, spec, noSecrets{})
}

type noSecrets struct{}

func (noSecrets) SecretValue(context.Context, string, string, string) ([]byte, error) {
	return nil, ErrNoSecrets
}
