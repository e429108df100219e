package policy

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

type secretMap map[string][]byte

func (m secretMap) SecretValue(_ context.Context, ns, name, key string) ([]byte, error) {
	v, ok := m[ns+"/"+name+"/"+key]
	if !ok {
		return nil, errors.New("not found")
	}
	return v, nil
}

func publicPEM(t *testing.T) []byte {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cryptoutils.MarshalPublicKeyToPEM(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keySpec(pem string) *igv1.TrustPolicySpec {
	return &igv1.TrustPolicySpec{
		Images:      []igv1.ImageGlob{{Glob: "registry.example/**"}},
		Authorities: []igv1.Authority{{Name: "release", Key: &igv1.KeyAuthority{Data: pem}}},
	}
}

func TestCompileDefaults(t *testing.T) {
	t.Parallel()
	p, err := Compile(context.Background(), Ref{Kind: "ClusterTrustPolicy", Name: "p"}, keySpec(string(publicPEM(t))), nil)
	if err != nil {
		t.Fatal(err)
	}
	if p.Require.Mode != RequireAll || p.TLog != TLogOffline || p.Mode != ModeEnforce || p.Authorities[0].Key == nil {
		t.Fatalf("defaults: %+v", p)
	}
	if !strings.HasPrefix(p.Hash, "sha256:") || len(p.Hash) != 71 {
		t.Fatalf("hash %q", p.Hash)
	}
}

func TestHashChangesWithRulesAndSecrets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ref := Ref{Kind: "TrustPolicy", Namespace: "apps", Name: "p"}
	pemA, pemB := publicPEM(t), publicPEM(t)
	spec := keySpec(string(pemA))
	h1, _ := Compile(ctx, ref, spec, nil)
	h2, _ := Compile(ctx, ref, keySpec(string(pemA)), nil)
	if h1.Hash != h2.Hash {
		t.Fatal("equal specs hash differently")
	}
	spec.RequireDigest = true
	h3, _ := Compile(ctx, ref, spec, nil)
	if h3.Hash == h1.Hash {
		t.Fatal("changing requireDigest kept the hash")
	}
	other, _ := Compile(ctx, Ref{Kind: "TrustPolicy", Namespace: "apps", Name: "q"}, keySpec(string(pemA)), nil)
	if other.Hash == h1.Hash {
		t.Fatal("two policies share a hash")
	}
	// The same spec naming a Secret hashes differently when the key in the Secret rotates.
	secretSpec := &igv1.TrustPolicySpec{
		Images:      []igv1.ImageGlob{{Glob: "registry.example/**"}},
		Authorities: []igv1.Authority{{Name: "release", Key: &igv1.KeyAuthority{SecretRef: &igv1.SecretKeyRef{Name: "k", Key: "cosign.pub"}}}},
	}
	s1, err := Compile(ctx, ref, secretSpec, secretMap{"apps/k/cosign.pub": pemA})
	if err != nil {
		t.Fatal(err)
	}
	s2, _ := Compile(ctx, ref, secretSpec, secretMap{"apps/k/cosign.pub": pemB})
	if s1.Hash == s2.Hash {
		t.Fatal("rotating the key in the Secret kept the hash")
	}
}

func TestCompileErrorsNameTheField(t *testing.T) {
	t.Parallel()
	pem := string(publicPEM(t))
	three := int32(3)
	cases := []struct {
		name  string
		ref   Ref
		spec  func(*igv1.TrustPolicySpec)
		field string
	}{
		{"no images", clusterRef, func(s *igv1.TrustPolicySpec) { s.Images = nil }, "spec.images"},
		{"bad glob", clusterRef, func(s *igv1.TrustPolicySpec) { s.Images[0].Glob = "a b" }, "spec.images[0].glob"},
		{"no authorities", clusterRef, func(s *igv1.TrustPolicySpec) { s.Authorities = nil }, "spec.authorities"},
		{"two kinds", clusterRef, func(s *igv1.TrustPolicySpec) { s.Authorities[0].Static = &igv1.StaticAuthority{Action: "pass"} }, "spec.authorities[0]"},
		{"bad pem", clusterRef, func(s *igv1.TrustPolicySpec) { s.Authorities[0].Key.Data = "nope" }, "spec.authorities[0]: key"},
		{"threshold too high", clusterRef, func(s *igv1.TrustPolicySpec) { s.Require = &igv1.Require{Mode: "threshold", Threshold: &three} }, "spec.require.threshold"},
		{"bad regexp", clusterRef, func(s *igv1.TrustPolicySpec) {
			s.Authorities[0] = igv1.Authority{Name: "ci", Keyless: &igv1.KeylessAuthority{Identities: []igv1.Identity{{Issuer: "x", SubjectRegExp: "("}}}}
		}, "spec.authorities[0]: keyless: identities[0]: subjectRegExp"},
		{"secret from another namespace", Ref{Kind: "TrustPolicy", Namespace: "apps", Name: "p"}, func(s *igv1.TrustPolicySpec) {
			s.Authorities[0].Key = &igv1.KeyAuthority{SecretRef: &igv1.SecretKeyRef{Name: "k", Namespace: "flux-system", Key: "cosign.pub"}}
		}, "may read Secrets only from its own namespace"},
		{"bad platform", clusterRef, func(s *igv1.TrustPolicySpec) {
			s.Pullability = &igv1.Pullability{Platforms: []string{"linux/amd64/v8/extra"}}
		}, "spec.pullability.platforms[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := keySpec(pem)
			tc.spec(s)
			_, err := Compile(context.Background(), tc.ref, s, secretMap{})
			if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err = %v, want ErrInvalidPolicy naming %q", err, tc.field)
			}
		})
	}
}

var clusterRef = Ref{Kind: "ClusterTrustPolicy", Name: "p"}

func TestDecodeFiles(t *testing.T) {
	t.Parallel()
	pem := strings.ReplaceAll(strings.TrimSpace(string(publicPEM(t))), "\n", "\n          ")
	good := fmt.Sprintf(`apiVersion: imagegate.dev/v1alpha1
kind: ClusterTrustPolicy
metadata: {name: signed}
spec:
  images: [{glob: "registry.example/**"}]
  authorities:
    - name: release
      key:
        data: |
          %s
---
apiVersion: imagegate.dev/v1alpha1
kind: TrustPolicy
metadata: {name: team, namespace: apps}
spec:
  images: [{glob: "registry.example/team/**"}]
  authorities: [{name: ok, static: {action: pass}}]
---
`, pem)
	ps, err := Decode(context.Background(), "p.yaml", strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Ref.Name != "signed" || ps[1].Ref.Namespace != "apps" {
		t.Fatalf("decoded %+v", ps)
	}
	bad := good + "apiVersion: imagegate.dev/v1alpha1\nkind: ClusterTrustPolicy\nmetadata: {name: x}\nspec:\n  images: [{glob: a}]\n  authorities: [{name: s, statik: {action: pass}}]\n"
	_, err = Decode(context.Background(), "p.yaml", strings.NewReader(bad))
	if err == nil || !strings.Contains(err.Error(), "p.yaml: document 3") || !strings.Contains(err.Error(), "statik") {
		t.Fatalf("err = %v, want file, document 3 and the unknown field", err)
	}
}
