package trustroot

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"

	"github.com/sigstore/sigstore-go/pkg/tuf"
	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// TargetName is the TUF target holding the Sigstore trusted root.
const TargetName = "trusted_root.json"

// cache is the TUF client's directory (sigstore-go's layout: metadata in
// DIR/<mirror as a path>, targets below it). It lives in a temporary
// directory of the Pod; the Secret is what survives a restart.
type cache struct {
	dir    string
	mirror string
}

func (c cache) metadataDir() string { return filepath.Join(c.dir, tuf.URLToPath(c.mirror)) }

// path is where the client keeps a persisted file.
func (c cache) path(name string) string {
	if name == TargetName {
		return filepath.Join(c.metadataDir(), "targets", url.PathEscape(name))
	}
	return filepath.Join(c.metadataDir(), name)
}

// seed writes persisted files into the cache, where the client verifies
// them before use: the metadata against the anchor's keys, the target
// against the hash the targets metadata lists.
func (c cache) seed(st *State) error {
	for name, b := range st.Files {
		p := c.path(name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// collect reads the cache's persisted files after a successful update.
func (c cache) collect() (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, name := range persistedFiles {
		b, err := os.ReadFile(c.path(name))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}

// update runs sigstore-go's TUF client over the cache and returns the
// verified trusted root target. Offline, it only verifies what the cache
// holds (metadata signed by the anchor's keys, unexpired) and sends no
// request; online, it refreshes from the mirror as the TUF specification
// says: root versions after the anchor, timestamp, then snapshot and
// targets when they changed, then the target when its hash changed.
func (s *Source) update(ctx context.Context, offline bool) ([]byte, error) {
	opts := &tuf.Options{
		Root:              s.opts.Root,
		CachePath:         s.cache.dir,
		RepositoryBaseURL: s.opts.Mirror,
		ForceCache:        offline,
		Fetcher:           &fetcher{ctx: ctx, client: s.opts.HTTPClient, offline: offline, sent: s.metrics.request},
	}
	c, err := tuf.New(opts)
	if err != nil {
		return nil, fmt.Errorf("TUF repository %s: %w", s.opts.Mirror, err)
	}
	b, err := c.GetTarget(TargetName)
	if err != nil {
		return nil, fmt.Errorf("TUF repository %s: %w", s.opts.Mirror, err)
	}
	return b, nil
}

// lastGood checks a persisted trusted root before it is used without the
// mirror: the persisted targets metadata must be signed by the anchor's
// targets keys and list the target's length and hash. Expiry is not
// checked (the root is used because refreshing failed, and is reported
// stale), so a Secret holding a root the repository never signed is
// refused, not trusted for being in the install namespace.
func (s *Source) lastGood(st *State) ([]byte, error) {
	target, targets := st.Files[TargetName], st.Files["targets.json"]
	if target == nil || targets == nil {
		return nil, errors.New("the persisted state holds no trusted root")
	}
	anchor, err := metadata.Root().FromBytes(s.opts.Root)
	if err != nil {
		return nil, fmt.Errorf("the TUF anchor: %w", err)
	}
	tm, err := metadata.Targets().FromBytes(targets)
	if err != nil {
		return nil, fmt.Errorf("the persisted targets metadata: %w", err)
	}
	if err := anchor.VerifyDelegate(metadata.TARGETS, tm); err != nil {
		return nil, fmt.Errorf("the persisted targets metadata is not signed by the anchor's targets keys: %w", err)
	}
	tf, ok := tm.Signed.Targets[TargetName]
	if !ok {
		return nil, fmt.Errorf("the persisted targets metadata lists no %s", TargetName)
	}
	if err := tf.VerifyLengthHashes(target); err != nil {
		return nil, fmt.Errorf("the persisted %s does not match its targets metadata: %w", TargetName, err)
	}
	return target, nil
}
