package trustroot_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/trustroot"
)

var cp *testenv.ControlPlane

func TestMain(m *testing.M) { testenv.RunMain(m, &cp) }

// fixture is a local TUF repository whose trusted_root.json target is the
// trusted root of a TestSigstore, and the Secret store of a namespace of
// the test's own.
type fixture struct {
	t     *testing.T
	repo  *testenv.TUFRepo
	ss    *testenv.TestSigstore
	store *trustroot.SecretStore
}

func newFixture(t *testing.T, ns string) *fixture {
	t.Helper()
	ss := testenv.NewTestSigstore(t)
	repo := testenv.NewTUFRepo(t, map[string][]byte{trustroot.TargetName: ss.TrustedRootJSON(t)})
	testenv.EnsureNamespace(t.Context(), t, cp.Client, ns, nil)
	store := &trustroot.SecretStore{Reader: cp.Client, Writer: cp.Client, Namespace: ns, Name: trustroot.DefaultSecretName}
	return &fixture{t: t, repo: repo, ss: ss, store: store}
}

// source makes a Source of the fixture's repository, persisting to store
// (nil: nothing) with its clock at now.
func (f *fixture) source(store trustroot.Store, now time.Time, opts ...func(*trustroot.Options)) *trustroot.Source {
	f.t.Helper()
	o := trustroot.Options{Mirror: f.repo.URL(), Root: f.repo.Root(), CacheDir: f.t.TempDir(), Now: func() time.Time { return now }}
	if store != nil {
		o.Store = store
	}
	for _, opt := range opts {
		opt(&o)
	}
	s, err := trustroot.New(o)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { _ = s.Close() })
	return s
}
func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

var hashPrefix = regexp.MustCompile(`/targets/[0-9a-f]{64}\.`)

// wantRequests compares the paths the repository answered, target hashes
// written as H.
func wantRequests(t *testing.T, repo *testenv.TUFRepo, want ...string) {
	t.Helper()
	got := repo.Requests()
	for i, r := range got {
		got[i] = hashPrefix.ReplaceAllString(r, "/targets/H.")
	}
	if !slices.Equal(got, want) {
		t.Errorf("TUF requests (%d):\n  %s\nwant (%d):\n  %s", len(got), strings.Join(got, "\n  "), len(want), strings.Join(want, "\n  "))
	}
}

// metrics gathers the Source's metrics by name.
func metrics(t *testing.T, s *trustroot.Source) map[string]float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	for _, c := range s.Collectors() {
		reg.MustRegister(c)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		m := mf.GetMetric()[0]
		switch {
		case m.GetGauge() != nil:
			out[mf.GetName()] = m.GetGauge().GetValue()
		case m.GetCounter() != nil:
			out[mf.GetName()] = m.GetCounter().GetValue()
		}
	}
	return out
}

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// TestRefreshPicksUpANewTrustedRoot: a cold start asks the repository
// for everything once (root 2 is not there, so root 1 stays); a new
// trusted_root.json version is picked up by the next refresh, which
// reads only the changed metadata and the new target; a refresh with
// nothing new costs two requests. The current root follows, and the
// Secret holds what was last verified.
func TestRefreshPicksUpANewTrustedRoot(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "tuf-refresh")
	changes := 0
	s := f.source(f.store, t0, func(o *trustroot.Options) { o.OnChange = func() { changes++ } })
	if err := s.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantRequests(t, f.repo, "/2.root.json", "/timestamp.json", "/1.snapshot.json", "/1.targets.json", "/targets/H.trusted_root.json")
	pg := s.PublicGood()
	if pg.Err != nil || pg.Root == nil || pg.Digest != digestOf(f.ss.TrustedRootJSON(t)) || !pg.RefreshedAt.Equal(t0) {
		t.Fatalf("after a cold start: %+v", pg)
	}

	next := testenv.NewTestSigstore(t)
	f.repo.SetTarget(trustroot.TargetName, next.TrustedRootJSON(t))
	if err := s.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantRequests(t, f.repo, "/2.root.json", "/timestamp.json", "/2.snapshot.json", "/2.targets.json", "/targets/H.trusted_root.json")
	if pg := s.PublicGood(); pg.Err != nil || pg.Digest != digestOf(next.TrustedRootJSON(t)) {
		t.Fatalf("after the new target: %+v", pg)
	}

	if err := s.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantRequests(t, f.repo, "/2.root.json", "/timestamp.json")
	if changes != 2 {
		t.Errorf("OnChange called %d times, want 2 (the first root, the new one)", changes)
	}

	st, err := f.store.Load(t.Context())
	if err != nil || st == nil {
		t.Fatalf("persisted state: %v, %v", st, err)
	}
	if !bytes.Equal(st.Files[trustroot.TargetName], next.TrustedRootJSON(t)) || st.Mirror != f.repo.URL() || !st.RefreshedAt.Equal(t0) {
		t.Errorf("persisted state holds mirror %q, refreshed %s, root %s", st.Mirror, st.RefreshedAt, digestOf(st.Files[trustroot.TargetName]))
	}
	m := metrics(t, s)
	if m["imagegate_trust_root_last_refresh_timestamp_seconds"] != float64(t0.Unix()) || m["imagegate_trust_root_stale"] != 0 ||
		m["imagegate_trust_root_refresh_failures_total"] != 0 || m["imagegate_trust_root_tuf_requests_total"] != 12 {
		t.Errorf("metrics %v, want the last refresh at %d, not stale, no failure, 12 requests", m, t0.Unix())
	}
}

// TestExpiredTimestampKeepsTheLastGoodRoot: a mirror serving expired
// timestamp metadata (frozen, or replayed by an attacker) fails the
// refresh; the last good root stays in use, marked stale, the failure is
// counted, and the persisted state is not touched.
func TestExpiredTimestampKeepsTheLastGoodRoot(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "tuf-expired")
	s := f.source(f.store, t0)
	if err := s.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.repo.Requests()
	before, err := f.store.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}

	f.repo.ExpireTimestamp()
	err = s.Refresh(t.Context())
	if err == nil || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("refresh error %v, want expired timestamp metadata", err)
	}
	wantRequests(t, f.repo, "/2.root.json", "/timestamp.json")
	pg := s.PublicGood()
	if pg.Root == nil || pg.Err == nil || pg.Digest != digestOf(f.ss.TrustedRootJSON(t)) || !pg.RefreshedAt.Equal(t0) {
		t.Fatalf("after a failed refresh: %+v, want the last good root, stale", pg)
	}
	m := metrics(t, s)
	if m["imagegate_trust_root_stale"] != 1 || m["imagegate_trust_root_refresh_failures_total"] != 1 || m["imagegate_trust_root_last_refresh_timestamp_seconds"] != float64(t0.Unix()) {
		t.Errorf("metrics %v, want stale, one failure, the last refresh at %d", m, t0.Unix())
	}
	after, err := f.store.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !after.RefreshedAt.Equal(before.RefreshedAt) || !bytes.Equal(after.Files["timestamp.json"], before.Files["timestamp.json"]) {
		t.Error("a failed refresh rewrote the persisted state")
	}
}

// TestColdStartFromTheSecret: a Pod started with the mirror down finds
// the state another Pod persisted. Refreshed within the interval, it
// verifies offline (the metadata against the anchor's keys, the target
// against its hash) without a single request and is current; refreshed
// longer ago, the one request to the mirror fails and the persisted root
// is used as the last good one, stale.
func TestColdStartFromTheSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "tuf-cold")
	if err := f.source(f.store, t0).Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.repo.Requests()
	f.repo.SetDown(true)
	want := digestOf(f.ss.TrustedRootJSON(t))

	fresh := f.source(f.store, t0.Add(trustroot.DefaultInterval-time.Minute))
	if err := fresh.Init(t.Context()); err != nil {
		t.Fatalf("cold start within the interval: %v", err)
	}
	wantRequests(t, f.repo)
	if pg := fresh.PublicGood(); pg.Err != nil || pg.Root == nil || pg.Digest != want || !pg.RefreshedAt.Equal(t0) {
		t.Fatalf("cold start within the interval: %+v", pg)
	}

	old := f.source(f.store, t0.Add(trustroot.DefaultInterval+time.Minute))
	if err := old.Init(t.Context()); err == nil {
		t.Fatal("cold start after the interval with the mirror down: no error")
	}
	wantRequests(t, f.repo, "/2.root.json")
	pg := old.PublicGood()
	if pg.Err == nil || pg.Root == nil || pg.Digest != want || !pg.RefreshedAt.Equal(t0) {
		t.Fatalf("cold start after the interval: %+v, want the persisted root, stale", pg)
	}
	if m := metrics(t, old); m["imagegate_trust_root_stale"] != 1 || m["imagegate_trust_root_refresh_failures_total"] != 1 ||
		m["imagegate_trust_root_last_refresh_timestamp_seconds"] != float64(t0.Unix()) {
		t.Errorf("metrics %v, want stale, one failure, the last refresh when the Secret was written (%d)", m, t0.Unix())
	}
}

// TestNoNetworkNoCache: with the mirror down and nothing persisted there
// is no root; PublicGood says why, and the one request is counted.
func TestNoNetworkNoCache(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "tuf-none")
	f.repo.SetDown(true)
	s := f.source(f.store, t0)
	if err := s.Init(t.Context()); err == nil {
		t.Fatal("no error without network and cache")
	}
	wantRequests(t, f.repo, "/2.root.json")
	if pg := s.PublicGood(); pg.Root != nil || pg.Err == nil || !strings.Contains(pg.Err.Error(), "503") {
		t.Fatalf("without network and cache: %+v, want no root and the mirror's 503", pg)
	}
	if st, err := f.store.Load(t.Context()); st != nil || err != nil {
		t.Errorf("persisted %+v, %v; want nothing", st, err)
	}
}

// TestMirrorFileBound: a mirror serving a target over MaxFileBytes (its
// signed length says so, or a lying length) is refused after one read of
// at most MaxFileBytes+1 bytes; the root stays the last good one.
func TestMirrorFileBound(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "tuf-bound")
	s := f.source(nil, t0)
	if err := s.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.repo.Requests()
	f.repo.SetTarget(trustroot.TargetName, bytes.Repeat([]byte{' '}, trustroot.MaxFileBytes+1))
	err := s.Refresh(t.Context())
	if err == nil || !strings.Contains(err.Error(), "imagegate reads at most 524288 per TUF file") {
		t.Fatalf("refresh error %v, want the file bound", err)
	}
	wantRequests(t, f.repo, "/2.root.json", "/timestamp.json", "/2.snapshot.json", "/2.targets.json", "/targets/H.trusted_root.json")
	if pg := s.PublicGood(); pg.Digest != digestOf(f.ss.TrustedRootJSON(t)) || pg.Err == nil {
		t.Errorf("after a refused target: %+v, want the last good root, stale", pg)
	}
}

// TestTamperedTrustedRootIsRefused: a mirror serving other bytes than the
// signed hash of trusted_root.json (an attacker's Fulcio CA, say) gives a
// client without that target cached no root at all; a persisted Secret
// whose trusted root was replaced is not used either, even with the
// mirror down: the anchor's targets keys do not vouch for it, so there is
// no root (Unavailable) rather than a planted one.
func TestTamperedTrustedRootIsRefused(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "tuf-tampered")
	if err := f.source(f.store, t0).Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.repo.Requests()
	planted := testenv.NewTestSigstore(t).TrustedRootJSON(t)
	f.repo.TamperTarget(trustroot.TargetName, planted)
	fresh := f.source(nil, t0)
	err := fresh.Init(t.Context())
	if err == nil || !strings.Contains(err.Error(), "hash") && !strings.Contains(err.Error(), "length") {
		t.Fatalf("cold start against a tampered target: %v, want a hash or length mismatch", err)
	}
	wantRequests(t, f.repo, "/2.root.json", "/timestamp.json", "/2.snapshot.json", "/2.targets.json", "/targets/H.trusted_root.json")
	if pg := fresh.PublicGood(); pg.Root != nil {
		t.Fatalf("cold start against a tampered target: %+v, want no root", pg)
	}

	st, err := f.store.Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	st.Files[trustroot.TargetName] = planted
	if err := f.store.Save(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	f.repo.SetDown(true)
	cold := f.source(f.store, t0.Add(trustroot.DefaultInterval+time.Minute))
	if err := cold.Init(t.Context()); err == nil {
		t.Fatal("a cold start with a planted root and the mirror down succeeded")
	}
	if pg := cold.PublicGood(); pg.Root != nil || pg.Digest == digestOf(planted) {
		t.Fatalf("cold start with a planted root: %+v, want no root", pg)
	}
}

// TestStartRefreshesOnItsSchedule: the runnable refreshes every interval
// (here 20 ms) and picks up a new trusted root without being asked; it
// calls OnChange and returns when its context ends. The test waits for the
// new root, asserting nothing about time.
func TestStartRefreshesOnItsSchedule(t *testing.T) {
	t.Parallel()
	f := newFixture(t, "tuf-schedule")
	changed := make(chan struct{}, 8)
	s, err := trustroot.New(trustroot.Options{
		Mirror: f.repo.URL(), Root: f.repo.Root(), CacheDir: t.TempDir(), Interval: 20 * time.Millisecond,
		OnChange: func() { changed <- struct{}{} },
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-changed
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- s.Start(ctx) }()
	next := testenv.NewTestSigstore(t)
	f.repo.SetTarget(trustroot.TargetName, next.TrustedRootJSON(t))
	select {
	case <-changed:
	case <-time.After(time.Minute): // bounds a broken test only
		t.Fatal("the new root was never picked up")
	}
	if pg := s.PublicGood(); pg.Digest != digestOf(next.TrustedRootJSON(t)) || pg.Err != nil {
		t.Errorf("after the scheduled refresh: %+v", pg)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Start returned %v", err)
	}
}
