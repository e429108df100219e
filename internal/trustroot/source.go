package trustroot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sigstore/sigstore-go/pkg/root"
	"github.com/sigstore/sigstore-go/pkg/tuf"

	"github.com/imagegate/imagegate/internal/policy"
)

// Defaults.
const (
	// DefaultMirror is Sigstore's public-good TUF repository.
	DefaultMirror = tuf.DefaultMirror
	// DefaultInterval is how often the repository is asked again, as
	// sigstore-go's live trusted root does; its timestamp metadata stays
	// valid for days, so a day of outage costs nothing.
	DefaultInterval = 24 * time.Hour
	// retryInterval is how soon a failed refresh is tried again (or the
	// interval, when shorter).
	retryInterval = 5 * time.Minute
)

// Options configure a Source.
type Options struct {
	// Mirror is the TUF repository's base URL (DefaultMirror).
	Mirror string
	// Root is the TUF trust anchor, a root.json every update starts from
	// (default: the public-good root sigstore-go embeds).
	Root []byte
	// Interval between refreshes (DefaultInterval).
	Interval time.Duration
	// Store persists the state across restarts; nil persists nothing.
	Store Store
	// CacheDir is where the TUF client's temporary directory is made
	// (default: os.TempDir()).
	CacheDir string
	// HTTPClient sends the requests to the mirror (default: a client of
	// its own with the proxy settings of the environment).
	HTTPClient *http.Client
	// Now is the clock that stamps refreshes (default time.Now). The TUF
	// client checks metadata expiry against the real time.
	Now func() time.Time
	// Log receives refresh failures and persistence errors.
	Log *slog.Logger
	// OnChange is called after a refresh that changed the root, so that
	// compiled policies can be rebuilt at once.
	OnChange func()
}

// Source provides the public-good trusted root: Init obtains it once,
// Start refreshes it every interval, PublicGood returns the current one.
type Source struct {
	opts    Options
	cache   cache
	metrics *metrics

	refreshMu sync.Mutex // one update of the cache at a time

	mu  sync.RWMutex
	cur policy.PublicGoodRoot
	raw []byte // trusted_root.json of cur.Root
}

var _ policy.PublicGoodSource = (*Source)(nil)

// New makes a Source and its cache directory; it sends nothing yet.
func New(opts Options) (*Source, error) {
	if opts.Mirror == "" {
		opts.Mirror = DefaultMirror
	}
	if len(opts.Root) == 0 {
		opts.Root = tuf.DefaultRoot()
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	dir, err := os.MkdirTemp(opts.CacheDir, "imagegate-tuf-")
	if err != nil {
		return nil, fmt.Errorf("TUF cache directory: %w", err)
	}
	s := &Source{opts: opts, cache: cache{dir: dir, mirror: opts.Mirror}, metrics: newMetrics()}
	s.cur.Err = errors.New("the public-good trusted root was not obtained yet")
	s.metrics.stale.Set(1)
	return s, nil
}

// Collectors returns the Source's metrics for registration.
func (s *Source) Collectors() []prometheus.Collector { return s.metrics.collectors() }

// Close removes the cache directory.
func (s *Source) Close() error { return os.RemoveAll(s.cache.dir) }

// PublicGood returns the current root, the last good one when refreshes
// fail, or none.
func (s *Source) PublicGood() policy.PublicGoodRoot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cur
}

// Init obtains the root at start: from the persisted state without a
// request when the state was refreshed within the interval and still
// verifies; otherwise from the mirror; when the mirror cannot be reached,
// the persisted root is used as the last good one (stale). It returns the
// refresh error, if any; the Source is usable either way.
func (s *Source) Init(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	st := s.loadState(ctx)
	if st != nil {
		if err := s.cache.seed(st); err != nil {
			return fmt.Errorf("seeding the TUF cache: %w", err)
		}
		// The persisted root is the last good one until something better
		// comes, if the anchor's targets keys vouch for it.
		b, err := s.lastGood(st)
		if err == nil {
			err = s.set(b, st.RefreshedAt, errors.New("the persisted root was not confirmed yet"))
		}
		if err != nil {
			s.opts.Log.ErrorContext(ctx, "the persisted Sigstore trusted root is not usable; ignoring it", "store", s.opts.Store, "error", err)
		}
		if s.opts.Now().Before(st.RefreshedAt.Add(s.opts.Interval)) {
			b, err := s.update(ctx, true)
			if err == nil {
				return s.set(b, st.RefreshedAt, nil)
			}
			s.opts.Log.InfoContext(ctx, "the persisted TUF metadata does not verify offline; asking the mirror", "error", err)
		}
	}
	return s.refresh(ctx)
}

// Refresh asks the mirror for a new root now. On failure the current root
// stays, marked stale.
func (s *Source) Refresh(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	return s.refresh(ctx)
}

func (s *Source) refresh(ctx context.Context) error {
	b, err := s.update(ctx, false)
	if err == nil {
		now := s.opts.Now()
		if err = s.set(b, now, nil); err == nil {
			s.persist(ctx, now)
			return nil
		}
	}
	s.metrics.failures.Inc()
	s.mu.Lock()
	s.cur.Err = err
	s.mu.Unlock()
	s.metrics.stale.Set(1)
	s.opts.Log.ErrorContext(ctx, "refreshing the Sigstore public-good trusted root failed; keyless authorities keep the last good root, if any", "mirror", s.opts.Mirror, "error", err)
	return err
}

// set parses a trusted root and makes it current.
func (s *Source) set(b []byte, refreshedAt time.Time, stale error) error {
	tr, err := root.NewTrustedRootFromJSON(b)
	if err != nil {
		return fmt.Errorf("%s from %s: not a Sigstore trusted root: %w", TargetName, s.opts.Mirror, err)
	}
	sum := sha256.Sum256(b)
	s.mu.Lock()
	changed := !bytes.Equal(s.raw, b)
	s.raw = b
	s.cur = policy.PublicGoodRoot{Root: tr, Digest: "sha256:" + hex.EncodeToString(sum[:]), RefreshedAt: refreshedAt, Err: stale}
	s.mu.Unlock()
	if !refreshedAt.IsZero() {
		s.metrics.lastRefresh.Set(float64(refreshedAt.Unix()))
	}
	if stale == nil {
		s.metrics.stale.Set(0)
	}
	if changed && s.opts.OnChange != nil {
		s.opts.OnChange()
	}
	return nil
}

// loadState reads the persisted state; a state that cannot be read, is
// over the bound, or is of another mirror is ignored (and logged).
func (s *Source) loadState(ctx context.Context) *State {
	if s.opts.Store == nil {
		return nil
	}
	st, err := s.opts.Store.Load(ctx)
	switch {
	case err != nil:
		s.opts.Log.ErrorContext(ctx, "reading the persisted TUF state failed; starting without it", "error", err)
		return nil
	case st == nil:
		return nil
	case st.Mirror != s.opts.Mirror:
		s.opts.Log.InfoContext(ctx, "the persisted TUF state is of another mirror; ignoring it", "persisted", st.Mirror, "mirror", s.opts.Mirror)
		return nil
	}
	return st
}

// persist writes the verified cache after a successful refresh. A failure
// costs only the next cold start's offline ability, so it is logged.
func (s *Source) persist(ctx context.Context, at time.Time) {
	if s.opts.Store == nil {
		return
	}
	files, err := s.cache.collect()
	if err == nil {
		err = s.opts.Store.Save(ctx, &State{Mirror: s.opts.Mirror, RefreshedAt: at, Files: files})
	}
	if err != nil {
		s.opts.Log.ErrorContext(ctx, "persisting the TUF state failed; a restart will need the mirror", "store", s.opts.Store, "error", err)
	}
}

// Start refreshes every interval (sooner after a failure) until ctx ends;
// it is a manager.Runnable. Call Init first.
func (s *Source) Start(ctx context.Context) error {
	for {
		wait := s.opts.Interval
		pg := s.PublicGood()
		if pg.Err != nil {
			wait = min(wait, retryInterval)
		} else if next := pg.RefreshedAt.Add(s.opts.Interval).Sub(s.opts.Now()); next < wait {
			wait = max(next, 0)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		_ = s.Refresh(ctx)
	}
}

// NeedLeaderElection is false: every replica verifies, so every replica
// keeps its root current.
func (s *Source) NeedLeaderElection() bool { return false }
