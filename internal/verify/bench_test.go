package verify_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// BenchmarkVerifyByDigest verifies a signed digest with a cold verifier per
// iteration: a new registry client (new connections, new /v2/ ping) and a
// new Verifier, against the loopback registry with the referrers API. It
// reports registry requests per verification.
func BenchmarkVerifyByDigest(b *testing.B) {
	for _, bc := range []struct {
		name string
		sign func(b *testing.B, d name.Digest, k *testenv.CosignKey)
	}{
		{"legacy", func(b *testing.B, d name.Digest, k *testenv.CosignKey) { testenv.SignLegacy(b, d, k) }},
		{"bundle", func(b *testing.B, d name.Digest, k *testenv.CosignKey) { testenv.SignBundle(b, d, k) }},
		{"both", func(b *testing.B, d name.Digest, k *testenv.CosignKey) {
			testenv.SignLegacy(b, d, k)
			testenv.SignBundle(b, d, k)
		}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			reg := testenv.NewRegistry(b, testenv.WithReferrersAPI())
			k := testenv.NewCosignKey(b)
			d := reg.PushImage(b, "app", "v1")
			bc.sign(b, d, k)
			p := newPolicy([]policy.Authority{keyAuthority(b, "a", k)})
			reg.ResetRequests()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				verifyCold(b, d, p)
			}
			b.ReportMetric(float64(len(reg.Requests()))/float64(b.N), "requests/op")
		})
	}
}

func verifyCold(b *testing.B, d name.Digest, p *policy.Policy) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	client := registry.New(registry.Options{AllowInsecure: true, Transport: tr})
	v := verify.New(client, verify.WithClock(func() time.Time { return fixedNow }))
	if out := v.Verify(b.Context(), d, p); out.Result != verify.ResultVerified {
		b.Fatalf("verify: %s %s", out.Reason, out.Message)
	}
}
