package policy

import (
	"context"
	"errors"
	"strings"
	"testing"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
)

// fixedRoot is a PublicGoodSource that counts its calls.
type fixedRoot struct {
	pg    PublicGoodRoot
	calls int
}

func (f *fixedRoot) PublicGood() PublicGoodRoot { f.calls++; return f.pg }

func publicGoodSpec(authorities int) *igv1.TrustPolicySpec {
	spec := &igv1.TrustPolicySpec{Images: []igv1.ImageGlob{{Glob: "ghcr.io/example/**"}}}
	for i := range authorities {
		spec.Authorities = append(spec.Authorities, igv1.Authority{Name: string(rune('a' + i)), Keyless: &igv1.KeylessAuthority{
			Identities: []igv1.Identity{{Issuer: "https://token.actions.githubusercontent.com", Subject: "https://github.com/example/app/.github/workflows/release.yaml@refs/heads/main"}},
		}})
	}
	return spec
}

// TestPublicGoodRootInCompile: keyless authorities without a trustedRoot
// share one snapshot of the public-good root per compile (one call for
// two authorities), its digest enters the hash (a new root, a new hash;
// the same root, the same hash), a stale root's error is kept for the
// status and verification, and without a source such a policy does not
// compile and says what to do. A policy that does not rely on the root
// never asks for it and hashes as before.
func TestPublicGoodRootInCompile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ref := Ref{Kind: "ClusterTrustPolicy", Name: "oss"}
	src := &fixedRoot{pg: PublicGoodRoot{Digest: "sha256:aaaa"}}
	p1, err := Compile(ctx, ref, publicGoodSpec(2), nil, WithPublicGood(src))
	if err != nil {
		t.Fatal(err)
	}
	if src.calls != 1 || p1.PublicGood() == nil || p1.Authorities[0].Keyless.PublicGood != p1.Authorities[1].Keyless.PublicGood {
		t.Fatalf("%d calls for two authorities, snapshots %p %p", src.calls, p1.Authorities[0].Keyless.PublicGood, p1.Authorities[1].Keyless.PublicGood)
	}
	same, _ := Compile(ctx, ref, publicGoodSpec(2), nil, WithPublicGood(src))
	src.pg = PublicGoodRoot{Digest: "sha256:bbbb", Err: errors.New("mirror down")}
	rotated, _ := Compile(ctx, ref, publicGoodSpec(2), nil, WithPublicGood(src))
	if same.Hash != p1.Hash || rotated.Hash == p1.Hash {
		t.Fatalf("hashes %s (same root %s, new root %s): want equal, then different", p1.Hash, same.Hash, rotated.Hash)
	}
	if pg := rotated.PublicGood(); pg.Err == nil || pg.Digest != "sha256:bbbb" {
		t.Fatalf("stale snapshot %+v", pg)
	}

	_, err = Compile(ctx, ref, publicGoodSpec(1), nil)
	if err == nil || !strings.Contains(err.Error(), "spec.authorities[0]: keyless: trustedRoot: not set, and the Sigstore public-good root is disabled here") {
		t.Fatalf("without a source: %v", err)
	}

	calls := src.calls
	key := keySpec(string(publicPEM(t)))
	withSrc, err := Compile(ctx, ref, key, nil, WithPublicGood(src))
	if err != nil {
		t.Fatal(err)
	}
	without, _ := Compile(ctx, ref, key, nil)
	if src.calls != calls || withSrc.PublicGood() != nil || withSrc.Hash != without.Hash {
		t.Fatalf("a key policy asked for the root (%d calls) or hashes differently (%s, %s)", src.calls-calls, withSrc.Hash, without.Hash)
	}
}
