package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// DefaultMaxCloneBytes bounds the pack CloneBare receives when
// CloneConfig.MaxBytes is zero. A GitOps repository of YAML manifests
// with years of history packs into tens of MiB; the bound is on the bytes
// received from the server, which a hostile or broken server could
// otherwise stream until the disk is full.
const DefaultMaxCloneBytes = 512 << 20

// ErrCloneTooBig is returned when the server sent more pack data than CloneConfig.MaxBytes.
var ErrCloneTooBig = errors.New("git clone exceeds the size limit")

// CloneConfig says what CloneBare fetches, and within which bounds.
type CloneConfig struct {
	URL  string // https://, http://, ssh:// or scp-like git@host:path
	Auth Auth
	// Branch is cloned with its whole history; "" clones the branch the
	// remote's HEAD names.
	Branch string
	// Timeout bounds the whole clone, connection included; default
	// DefaultTimeout.
	Timeout time.Duration
	// MaxBytes bounds the pack data received; default DefaultMaxCloneBytes.
	MaxBytes int64
}

// CloneBare clones one branch of cfg.URL with its full history into dir
// (absent or empty) as a bare repository that the git CLI can read: the
// branch at refs/heads/BRANCH and HEAD naming it. The remote's URL rules,
// credentials, known_hosts check and CA bundle are the ones Update uses;
// the clone ends with ErrTimeout after cfg.Timeout and with
// ErrCloneTooBig once the server has sent more than cfg.MaxBytes. It
// returns the commit the branch points to. On error dir may hold part of a
// repository: the caller removes it.
func CloneBare(ctx context.Context, cfg CloneConfig, dir string) (string, error) {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxBytes <= 0 {
		cfg.MaxBytes = DefaultMaxCloneBytes
	}
	var ref plumbing.ReferenceName
	if cfg.Branch != "" {
		ref = plumbing.NewBranchReferenceName(cfg.Branch)
		if err := ref.Validate(); err != nil {
			return "", fmt.Errorf("%w: invalid branch name %q: %w", ErrInvalidConfig, cfg.Branch, err)
		}
	}
	// known_hosts is written outside dir so the clone holds only what the
	// server sent.
	scratch, err := os.MkdirTemp("", "imagegate-clone-auth-")
	if err != nil {
		return "", err
	}
	defer func() { _ = os.RemoveAll(scratch) }()
	r, err := newRemote(cfg.URL, cfg.Auth, nil, cfg.Timeout, scratch)
	if err != nil {
		return "", err
	}
	st := &boundedStorage{Storage: filesystem.NewStorage(osfs.New(dir), cache.NewObjectLRUDefault()), max: cfg.MaxBytes}
	op := r.start(ctx)
	defer op.cancel()
	repo, err := git.CloneContext(op.ctx, st, nil, &git.CloneOptions{ //nolint:contextcheck // op.ctx is ctx bounded by the operation's timeout (remote.start)
		URL:           r.url,
		Auth:          r.auth,
		CABundle:      r.caBundle,
		ProxyOptions:  op.proxy,
		ReferenceName: ref,
		SingleBranch:  true,
		Tags:          git.NoTags,
	})
	if err != nil {
		if errors.Is(err, ErrCloneTooBig) {
			return "", &Error{Op: "clone", URL: r.display, Branch: cfg.Branch, Err: err}
		}
		kind, cause := op.classify(err)
		var noRef git.NoMatchingRefSpecError
		if kind == nil && (errors.Is(err, noRef) || errors.Is(err, plumbing.ErrReferenceNotFound)) {
			kind = ErrBranchNotFound
		}
		return "", &Error{Op: "clone", URL: r.display, Branch: cfg.Branch, Kind: kind, Err: cause}
	}
	head, err := repo.Head()
	if err != nil {
		return "", fmt.Errorf("read HEAD of the clone of %s: %w", r.display, err)
	}
	return head.Hash().String(), nil
}

// boundedStorage is go-git's on-disk storage whose pack writer refuses
// more than max bytes: every transport (HTTP and SSH) hands the received
// pack to PackfileWriter, so one bound covers both.
type boundedStorage struct {
	*filesystem.Storage
	max int64
}

// PackfileWriter implements storer.PackfileWriter.
func (s *boundedStorage) PackfileWriter() (io.WriteCloser, error) {
	w, err := s.Storage.PackfileWriter()
	if err != nil {
		return nil, err
	}
	return &limitedWriter{w: w, left: s.max, max: s.max}, nil
}

type limitedWriter struct {
	w         io.WriteCloser
	left, max int64
}

func (l *limitedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		return 0, fmt.Errorf("%w: the server sent more than %d bytes of pack data", ErrCloneTooBig, l.max)
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}

func (l *limitedWriter) Close() error { return l.w.Close() }
