package verify_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// fixedNow stamps outcomes so tests compare VerifiedAt exactly.
var fixedNow = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// env is a loopback registry, a fresh registry client (cold: its first
// request to a repository pings /v2/) and a verifier using it.
type env struct {
	reg    *testenv.Registry
	client *registry.Client
	v      *verify.Verifier
}

func newEnv(t testing.TB, opts ...testenv.RegistryOption) *env {
	t.Helper()
	reg := testenv.NewRegistry(t, opts...)
	client := registry.New(registry.Options{AllowInsecure: true})
	return &env{reg: reg, client: client, v: verify.New(client, verify.WithClock(func() time.Time { return fixedNow }))}
}

// verify runs one verification, counting only its requests.
func (e *env) verify(t testing.TB, d name.Digest, p *policy.Policy) (verify.Outcome, []string) {
	t.Helper()
	e.reg.ResetRequests()
	out := e.v.Verify(t.Context(), d, p)
	return out, normalize(e.reg.Requests(), d)
}

var anyDigest = regexp.MustCompile(`sha256:[0-9a-f]{64}`)

// normalize writes d's digest as D and any other digest as X (bundle
// manifests and payload blobs are random per run), and sorts, because the
// two signature formats are fetched concurrently.
func normalize(reqs []string, d name.Digest) []string {
	hex := strings.TrimPrefix(d.DigestStr(), "sha256:")
	out := make([]string, 0, len(reqs))
	for _, r := range reqs {
		r = strings.ReplaceAll(r, hex, "D")
		out = append(out, anyDigest.ReplaceAllString(r, "sha256:X"))
	}
	slices.Sort(out)
	return out
}

// Requests of the paths the verifier uses, written with normalize's D/X.
const (
	ping         = "GET /v2/"
	legacyTag    = "GET /v2/app/manifests/sha256-D.sig"
	payloadBlob  = "GET /v2/app/blobs/sha256:X"
	referrersAPI = "GET /v2/app/referrers/sha256:D"
	fallbackTag  = "GET /v2/app/manifests/sha256-D"
	bundleMan    = "GET /v2/app/manifests/sha256:X"
	bundleBlob   = "GET /v2/app/blobs/sha256:X"
)

func sorted(reqs ...string) []string {
	slices.Sort(reqs)
	return reqs
}

func wantRequests(t testing.TB, got []string, want ...string) {
	t.Helper()
	want = sorted(want...)
	if !slices.Equal(got, want) {
		t.Errorf("registry requests (%d):\n  %s\nwant (%d):\n  %s", len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
}

func wantOutcome(t testing.TB, out verify.Outcome, result verify.Result, reason verify.Reason) {
	t.Helper()
	if out.Result != result || out.Reason != reason {
		t.Errorf("outcome = %s/%s, want %s/%s; message: %s", out.Result, out.Reason, result, reason, out.Message)
	}
	if out.Result != verify.ResultVerified && out.Message == "" {
		t.Error("a failed outcome has no message")
	}
}

// signerFormats lists "authority/format" of the outcome's signers.
func signerFormats(out verify.Outcome) []string {
	var s []string
	for _, sg := range out.Signers {
		s = append(s, sg.Authority+"/"+string(sg.Format))
	}
	slices.Sort(s)
	return s
}

// Policy builders.

type policyOption func(*policy.Policy)

func newPolicy(auths []policy.Authority, opts ...policyOption) *policy.Policy {
	p := &policy.Policy{
		Ref:         policy.Ref{Kind: "ClusterTrustPolicy", Name: "test"},
		Authorities: auths,
		Require:     policy.Require{Mode: policy.RequireAll},
		TLog:        policy.TLogOffline,
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func requireMode(m policy.RequireMode, threshold int) policyOption {
	return func(p *policy.Policy) { p.Require = policy.Require{Mode: m, Threshold: threshold} }
}

func tlogMode(m policy.TLogMode) policyOption {
	return func(p *policy.Policy) { p.TLog = m }
}

func pullability(on bool) policyOption {
	return func(p *policy.Policy) { p.Pullability = policy.Pullability{Enabled: on} }
}

func keyAuthority(t testing.TB, name string, k *testenv.CosignKey) policy.Authority {
	t.Helper()
	return policy.Authority{Name: name, Key: &policy.KeyAuthority{PublicKey: k.PublicKey(t), PEM: k.PublicPEM}}
}

func keylessAuthority(name string, ss *testenv.TestSigstore, ids ...policy.Identity) policy.Authority {
	return policy.Authority{Name: name, Keyless: &policy.KeylessAuthority{Identities: ids, TrustedRoot: ss.TrustedMaterial()}}
}

func staticAuthority(name string, pass bool) policy.Authority {
	return policy.Authority{Name: name, Static: &policy.StaticAuthority{Pass: pass}}
}

// imageLayer returns the digest of the first layer of the image d.
func imageLayer(t testing.TB, d name.Digest) v1.Hash {
	t.Helper()
	img, err := remote.Image(d, remote.WithContext(t.Context()))
	if err != nil {
		t.Fatalf("image %s: %v", d, err)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) == 0 {
		t.Fatalf("layers of %s: %v", d, err)
	}
	h, err := layers[0].Digest()
	if err != nil {
		t.Fatalf("layer digest: %v", err)
	}
	return h
}
