package policy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"
)

// FuzzDecode: a policy file never panics the decoder; every error names
// the file; what decodes has a hash and decodes again to the same hashes.
func FuzzDecode(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	pub := strings.ReplaceAll(string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})), "\n", "\n          ")
	valid := `apiVersion: imagegate.dev/v1alpha1
kind: ClusterTrustPolicy
metadata: {name: release}
spec:
  images: [{glob: "registry.example/**"}]
  authorities:
    - name: release
      key:
        data: |
          ` + pub + `
`
	if ps, err := Decode(context.Background(), "seed.yaml", strings.NewReader(valid)); err != nil || len(ps) != 1 {
		f.Fatalf("the valid seed does not decode: %v", err)
	}
	for _, s := range []string{
		valid,
		valid + "---\n" + strings.Replace(strings.Replace(valid, "ClusterTrustPolicy", "TrustPolicy", 1), "{name: release}", "{name: app, namespace: apps}", 1),
		strings.Replace(valid, "data: |", "secretRef: {name: k, key: cosign.pub}\n        x: |", 1),
		"---\n---\n", "kind: [", "apiVersion: imagegate.dev/v1alpha1\nkind: Pod\nmetadata: {name: x}\n", "\x00\xff",
	} {
		f.Add([]byte(s))
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, b []byte) {
		ps, err := Decode(ctx, "policy.yaml", bytes.NewReader(b))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "policy.yaml:") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		again, err := Decode(ctx, "policy.yaml", bytes.NewReader(b))
		if err != nil || len(again) != len(ps) {
			t.Fatalf("decoded once, then: %d policies, %v", len(again), err)
		}
		for i, p := range ps {
			if !strings.HasPrefix(p.Hash, "sha256:") || again[i].Hash != p.Hash {
				t.Fatalf("policy %s: hash %q, then %q", p.Ref, p.Hash, again[i].Hash)
			}
		}
	})
}
