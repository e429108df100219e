package verify_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	cbundle "github.com/sigstore/cosign/v2/pkg/cosign/bundle"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

func rekorURL(u string) policyOption {
	return func(p *policy.Policy) { p.RekorURL = u }
}

func wantMessage(t testing.TB, out verify.Outcome, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(out.Message, p) {
			t.Errorf("message %q does not say %q", out.Message, p)
		}
	}
}

func wantRekorRequests(t testing.TB, r *testenv.Rekor, v *verify.Verifier, want int64) {
	t.Helper()
	if got := r.Requests(); got != want {
		t.Errorf("Rekor answered %d requests, want %d", got, want)
	}
	if got := v.RekorRequests(); got != want {
		t.Errorf("Verifier.RekorRequests() = %d, want %d", got, want)
	}
}

// Offline mode requires the entry in the signature: a keyless signature of
// either format without one is denied, saying so, and nothing asks Rekor.
// Mode ignore verifies the same signatures by their RFC 3161 timestamps.
func TestVerifyTLogOfflineRequiresEntry(t *testing.T) {
	t.Parallel()
	ss := testenv.NewTestSigstore(t)
	id := policy.Identity{Issuer: issuer, Subject: subject}
	for _, tc := range []struct {
		name string
		sign func(*testing.T, name.Digest) // signs without an entry
		tlog policy.TLogMode
		want []string
	}{
		{"bundle, offline", signBundleWithoutEntry(ss), policy.TLogOffline, []string{"bundle sha256:", "carries no transparency log entry", "tlog mode offline requires one"}},
		{"bundle, online", signBundleWithoutEntry(ss), policy.TLogOnline, []string{"carries no transparency log entry", "looks up only legacy signatures"}},
		{"legacy, offline", signLegacyWithoutEntry(ss), policy.TLogOffline, []string{"legacy signature sha256:", "carries no transparency log entry", "tlog mode offline requires one"}},
		{"bundle, ignore", signBundleWithoutEntry(ss), policy.TLogIgnore, nil},
		{"legacy, ignore", signLegacyWithoutEntry(ss), policy.TLogIgnore, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rekor := testenv.NewRekor(t)
			e := newEnv(t, testenv.WithReferrersAPI())
			d := e.reg.PushImage(t, "app", "v1")
			tc.sign(t, d)
			p := newPolicy([]policy.Authority{keylessAuthority("ci", ss, id)}, tlogMode(tc.tlog), rekorURL(rekor.URL()))
			out, _ := e.verify(t, d, p)
			if tc.want == nil {
				wantOutcome(t, out, verify.ResultVerified, verify.ReasonVerified)
			} else {
				wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
				wantMessage(t, out, tc.want...)
			}
			wantRekorRequests(t, rekor, e.v, 0)
		})
	}
}

func signBundleWithoutEntry(ss *testenv.TestSigstore) func(*testing.T, name.Digest) {
	return func(t *testing.T, d name.Digest) { ss.SignBundleWithoutEntry(t, d, issuer, subject) }
}

func signLegacyWithoutEntry(ss *testenv.TestSigstore) func(*testing.T, name.Digest) {
	return func(t *testing.T, d name.Digest) { ss.SignLegacyWithoutEntry(t, d, issuer, subject) }
}

// onlineEnv is an image app:v1 with a legacy keyless signature that carries
// no entry, the entry the log holds for it, a Rekor fixture and a policy
// asking it (tlog mode online).
type onlineEnv struct {
	*env
	d     name.Digest
	ss    *testenv.TestSigstore
	rekor *testenv.Rekor
	entry testenv.RekorEntry
	p     *policy.Policy
}

func newOnlineEnv(t *testing.T) *onlineEnv {
	t.Helper()
	ss := testenv.NewTestSigstore(t)
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	o := &onlineEnv{env: e, d: d, ss: ss, rekor: testenv.NewRekor(t), entry: ss.SignLegacyWithoutEntry(t, d, issuer, subject)}
	o.p = newPolicy([]policy.Authority{keylessAuthority("ci", ss, policy.Identity{Issuer: issuer, Subject: subject})},
		tlogMode(policy.TLogOnline), rekorURL(o.rekor.URL()))
	return o
}

// Online mode looks the missing entry up in Rekor's v1 API and verifies it
// as a carried one: one Rekor request for the first verification, none
// for the second (cached by signature), and the registry requests are
// those of offline mode.
func TestVerifyTLogOnlineLooksUpEntry(t *testing.T) {
	t.Parallel()
	o := newOnlineEnv(t)
	o.rekor.Add(o.entry)
	d := o.d
	for i, wantRekor := range []int64{1, 1} {
		out, reqs := o.verify(t, d, o.p)
		wantOutcome(t, out, verify.ResultVerified, verify.ReasonVerified)
		if i == 0 {
			wantRequests(t, reqs, ping, legacyTag, payloadBlob, referrersAPI)
		} else {
			wantRequests(t, reqs, legacyTag, payloadBlob, referrersAPI)
		}
		wantRekorRequests(t, o.rekor, o.v, wantRekor)
		want := verify.Signer{Authority: "ci", Format: verify.FormatLegacy, Identity: issuer + " " + subject, RekorLogIndex: 1000}
		if len(out.Signers) != 1 || out.Signers[0] != want {
			t.Errorf("verification %d: signers = %+v, want [%+v]", i+1, out.Signers, want)
		}
	}
	if n := o.v.RekorCacheEntries(); n != 1 {
		t.Errorf("Rekor cache holds %d lookups, want 1", n)
	}
	// Offline mode does not look: the same signature is denied.
	offline := *o.p
	offline.TLog = policy.TLogOffline
	out, _ := o.verify(t, d, &offline)
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
	wantRekorRequests(t, o.rekor, o.v, 1)
}

// A signature Rekor has no entry for is denied, saying that Rekor was asked;
// the answer is cached like a found entry.
func TestVerifyTLogOnlineNotFound(t *testing.T) {
	t.Parallel()
	o := newOnlineEnv(t)
	d := o.d
	for range 2 {
		out, _ := o.verify(t, d, o.p)
		wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
		wantMessage(t, out, "has no entry for it either", "carries no transparency log entry")
	}
	wantRekorRequests(t, o.rekor, o.v, 1)
}

// A Rekor that cannot be asked makes the outcome Unavailable, never
// Denied, and its failure is not cached: once it answers, the entry is
// found.
func TestVerifyTLogOnlineRekorDown(t *testing.T) {
	t.Parallel()
	t.Run("503", func(t *testing.T) {
		t.Parallel()
		o := newOnlineEnv(t)
		o.rekor.Add(o.entry)
		d := o.d
		o.rekor.Answer(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
		})
		out, _ := o.verify(t, d, o.p)
		wantOutcome(t, out, verify.ResultUnavailable, verify.ReasonUnavailable)
		wantMessage(t, out, "transparency log unavailable", "HTTP 503")
		o.rekor.Answer(nil)
		out, _ = o.verify(t, d, o.p)
		wantOutcome(t, out, verify.ResultVerified, verify.ReasonVerified)
		wantRekorRequests(t, o.rekor, o.v, 2)
	})
	t.Run("stalled past the caller's deadline", func(t *testing.T) {
		t.Parallel()
		o := newOnlineEnv(t)
		o.rekor.Answer(func(_ http.ResponseWriter, r *http.Request) {
			// Reading the body lets the server notice the client hang up.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		})
		ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
		defer cancel()
		out := o.v.Verify(ctx, o.d, o.p)
		wantOutcome(t, out, verify.ResultUnavailable, verify.ReasonUnavailable)
		wantMessage(t, out, "transparency log unavailable")
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		o := newOnlineEnv(t)
		d := o.d
		o.rekor.Close()
		out, _ := o.verify(t, d, o.p)
		wantOutcome(t, out, verify.ResultUnavailable, verify.ReasonUnavailable)
		wantMessage(t, out, "transparency log unavailable", o.rekor.URL())
		if n := o.v.RekorCacheEntries(); n != 0 {
			t.Errorf("Rekor cache holds %d lookups after a refused connection, want 0", n)
		}
	})
}

// A Rekor that lies is denied, not believed: an entry for another
// signature, an entry whose signed entry timestamp does not verify, an
// entry missing the fields cosign dereferences, an answer longer than
// MaxRekorResponseBytes.
func TestVerifyTLogOnlineLyingRekor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		answer func(o *onlineEnv, t *testing.T) http.HandlerFunc
		want   string
	}{
		{"entry of another signature", func(o *onlineEnv, t *testing.T) http.HandlerFunc {
			other := o.reg.PushImage(t, "app", "v2")
			return testenv.AnswerWith(o.ss.SignLegacyWithoutEntry(t, other, issuer, subject))
		}, "signature in bundle does not match signature being verified"},
		{"bad signed entry timestamp", func(o *onlineEnv, _ *testing.T) http.HandlerFunc {
			e := o.entry
			set := append([]byte(nil), e.Entry.Verification.SignedEntryTimestamp...)
			set[len(set)/2] ^= 0xff
			v := *e.Entry.Verification
			v.SignedEntryTimestamp = set
			e.Entry.Verification = &v
			return testenv.AnswerWith(e)
		}, "unable to verify SET"},
		{"entry without integrated time", func(o *onlineEnv, _ *testing.T) http.HandlerFunc {
			e := o.entry
			e.Entry.IntegratedTime = nil
			return testenv.AnswerWith(e)
		}, "Rekor's answer is unusable"},
		{"answer over the bound", func(*onlineEnv, *testing.T) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`[{"x":"` + strings.Repeat("a", verify.MaxRekorResponseBytes) + `"}]`))
			}
		}, "answer longer than 65536 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOnlineEnv(t)
			o.rekor.Answer(tc.answer(o, t))
			out, _ := o.verify(t, o.d, o.p)
			wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
			wantMessage(t, out, tc.want)
			wantRekorRequests(t, o.rekor, o.v, 1)
		})
	}
}

// key.tlog: optional (the default) verifies key signatures with or without
// a Rekor entry and does not look at it; required verifies the entry
// offline against the authority's trusted root and denies a signature
// without one, or with one from a log the root does not list. Both
// formats; the key bundle without an entry is the cosign 3 CLI's
// (--tlog-upload=false).
func TestVerifyKeyTLog(t *testing.T) {
	t.Parallel()
	ss, other := testenv.NewTestSigstore(t), testenv.NewTestSigstore(t)
	key := testenv.NewCosignKey(t)
	legacyLogged := func(t *testing.T, d name.Digest) { ss.SignLegacyWithKey(t, d, key) }
	legacyUnlogged := func(t *testing.T, d name.Digest) { testenv.SignLegacy(t, d, key) }
	bundleLogged := func(t *testing.T, d name.Digest) { ss.SignBundleWithKey(t, d, key) }
	bundleUnlogged := func(t *testing.T, d name.Digest) { testenv.SignBundle(t, d, key) }
	legacyReqs := []string{ping, legacyTag, payloadBlob, referrersAPI}
	bundleReqs := []string{ping, legacyTag, referrersAPI, bundleMan, bundleBlob}
	for _, tc := range []struct {
		name     string
		sign     func(*testing.T, name.Digest)
		reqs     []string
		required bool
		root     *testenv.TestSigstore
		index    int64
		want     string // empty: verified
	}{
		{"legacy, optional, no entry", legacyUnlogged, legacyReqs, false, nil, -1, ""},
		{"legacy, optional, entry not looked at", legacyLogged, legacyReqs, false, nil, -1, ""},
		{"legacy, required, entry", legacyLogged, legacyReqs, true, ss, 2000, ""},
		{"legacy, required, no entry", legacyUnlogged, legacyReqs, true, ss, 0, "carries no transparency log entry (Rekor signed entry timestamp or inclusion proof); key.tlog required needs one"},
		{"legacy, required, entry of a log the root does not list", legacyLogged, legacyReqs, true, other, 0, "verifying bundle with trusted root"},
		{"bundle, optional, no entry", bundleUnlogged, bundleReqs, false, nil, -1, ""},
		{"bundle, optional, entry not looked at", bundleLogged, bundleReqs, false, nil, -1, ""},
		{"bundle, required, entry", bundleLogged, bundleReqs, true, ss, 0, ""},
		{"bundle, required, no entry", bundleUnlogged, bundleReqs, true, ss, 0, "carries no transparency log entry (Rekor signed entry timestamp or inclusion proof); key.tlog required needs one"},
		{"bundle, required, entry of a log the root does not list", bundleLogged, bundleReqs, true, other, 0, "not enough verified log entries"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, testenv.WithReferrersAPI())
			d := e.reg.PushImage(t, "app", "v1")
			tc.sign(t, d)
			a := keyAuthority(t, "release", key)
			a.Key.TLogRequired = tc.required
			if tc.root != nil {
				a.Key.TrustedRoot = tc.root.TrustedMaterial()
			}
			out, reqs := e.verify(t, d, newPolicy([]policy.Authority{a}))
			wantRequests(t, reqs, tc.reqs...)
			if tc.want != "" {
				wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
				wantMessage(t, out, tc.want)
				return
			}
			wantOutcome(t, out, verify.ResultVerified, verify.ReasonVerified)
			if len(out.Signers) != 1 || out.Signers[0].RekorLogIndex != tc.index {
				t.Errorf("signers = %+v, want one with RekorLogIndex %d", out.Signers, tc.index)
			}
		})
	}
}

// A keyless authority's trusted root does not make a key authority with
// tlog required trust its Fulcio certificates: a keyless signature is not
// a key signature.
func TestVerifyKeyTLogRequiredTrustsOnlyTheLog(t *testing.T) {
	t.Parallel()
	ss := testenv.NewTestSigstore(t)
	key := testenv.NewCosignKey(t)
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	ss.SignLegacy(t, d, issuer, subject)
	a := keyAuthority(t, "release", key)
	a.Key.TLogRequired, a.Key.TrustedRoot = true, ss.TrustedMaterial()
	out, _ := e.verify(t, d, newPolicy([]policy.Authority{a}))
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
}

// A Rekor bundle annotation whose body is not a string (the registry
// writes annotations) is refused with a reason; cosign would type-assert
// it and panic.
func TestVerifyTLogAnnotationBodyNotAString(t *testing.T) {
	t.Parallel()
	ss := testenv.NewTestSigstore(t)
	key := testenv.NewCosignKey(t)
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	testenv.SignLegacyWithRekorBundle(t, d, key, &cbundle.RekorBundle{
		SignedEntryTimestamp: []byte("set"),
		Payload:              cbundle.RekorPayload{Body: 42, LogID: "00"},
	})
	keyed := keyAuthority(t, "release", key)
	keyed.Key.TLogRequired, keyed.Key.TrustedRoot = true, ss.TrustedMaterial()
	for _, a := range []policy.Authority{keylessAuthority("ci", ss, policy.Identity{Issuer: issuer, Subject: subject}), keyed} {
		out, _ := e.verify(t, d, newPolicy([]policy.Authority{a}))
		wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
		wantMessage(t, out, "Rekor bundle annotation's body is not a base64 string")
	}
}

// Online mode asks Rekor only for signatures without an entry: a bundle
// and a legacy signature that carry theirs cost no Rekor request, and the
// registry requests are offline mode's.
func TestVerifyTLogOnlineSkipsCarriedEntries(t *testing.T) {
	t.Parallel()
	ss := testenv.NewTestSigstore(t)
	rekor := testenv.NewRekor(t)
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	ss.SignBundle(t, d, issuer, subject)
	ss.SignLegacy(t, d, issuer, subject)
	p := newPolicy([]policy.Authority{keylessAuthority("ci", ss, policy.Identity{Issuer: issuer, Subject: subject})},
		tlogMode(policy.TLogOnline), rekorURL(rekor.URL()))
	out, reqs := e.verify(t, d, p)
	wantOutcome(t, out, verify.ResultVerified, verify.ReasonVerified)
	wantRequests(t, reqs, ping, legacyTag, payloadBlob, referrersAPI, bundleMan, bundleBlob)
	wantRekorRequests(t, rekor, e.v, 0)
}

// Online mode looks up only signatures some keyless authority accepts:
// a signature without an entry by another identity, or from another
// Sigstore, costs no Rekor request (a hostile registry cannot make
// imagegate ask Rekor about them) and is denied.
func TestVerifyTLogOnlineLooksUpOnlyAcceptedCertificates(t *testing.T) {
	t.Parallel()
	ss, theirs := testenv.NewTestSigstore(t), testenv.NewTestSigstore(t)
	rekor := testenv.NewRekor(t)
	e := newEnv(t, testenv.WithReferrersAPI())
	d := e.reg.PushImage(t, "app", "v1")
	rekor.Add(ss.SignLegacyWithoutEntry(t, d, issuer, "intruder@example.com"))
	rekor.Add(theirs.SignLegacyWithoutEntry(t, d, issuer, subject))
	p := newPolicy([]policy.Authority{keylessAuthority("ci", ss, policy.Identity{Issuer: issuer, Subject: subject})},
		tlogMode(policy.TLogOnline), rekorURL(rekor.URL()))
	out, _ := e.verify(t, d, p)
	wantOutcome(t, out, verify.ResultDenied, verify.ReasonNoMatchingSignature)
	wantRekorRequests(t, rekor, e.v, 0)
}
