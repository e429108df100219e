package audit

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path"
	"strings"
	"time"
)

// DefaultMaxFileBytes is the largest file version read, as the gate's
// setters.DefaultLimits.MaxFileBytes: a bigger file is reported skipped.
const DefaultMaxFileBytes = 4 << 20

// maxCommitBytes bounds one commit object (message and signature).
const maxCommitBytes = 1 << 20

// Options say what to audit.
type Options struct {
	// Repo is a local clone (a working tree or a bare repository).
	Repo string
	// Branch is the revision whose first-parent line is walked.
	Branch string
	// Path restricts the audit to files under it ("" or "." for all).
	Path string
	// Since, when set, is a commit of that line: it and its first-parent
	// ancestors (with the commits their merges brought in) seed the
	// settled set and are not reported.
	Since string
	// Signers are the keys whose signature makes a commit the gate's.
	Signers *Signers
	// MaxFileBytes bounds each file version read; 0 is DefaultMaxFileBytes.
	MaxFileBytes int64
	// Now decides which exceptions have expired; zero is time.Now.
	Now time.Time
	// AllImages reads, besides setter-marked fields, every field of the
	// Kubernetes objects in changed files that names an image the kubelet
	// pulls (containers, init and ephemeral containers, image volumes of
	// Pods and the workload kinds' pod templates).
	AllImages bool
	// Reader is ReaderGit, ReaderGoGit, or "" for the git CLI when it is
	// on PATH and go-git otherwise.
	Reader string
}

// History readers.
const (
	ReaderGit   = "git"    // the git CLI: rev-list, diff-tree, cat-file
	ReaderGoGit = "go-git" // in-process, for hosts without git
)

func openHistory(opts Options) (history, error) {
	reader := opts.Reader
	if reader == "" {
		reader = ReaderGoGit
		if _, err := exec.LookPath("git"); err == nil {
			reader = ReaderGit
		}
	}
	switch reader {
	case ReaderGit:
		return gitCmd{dir: opts.Repo}, nil
	case ReaderGoGit:
		return openGoGit(opts.Repo)
	}
	return nil, fmt.Errorf("%w: history reader %q: want %s or %s", ErrUsage, reader, ReaderGit, ReaderGoGit)
}

// ErrUsage marks errors in the options (bad repository, revision or
// path): the caller's to fix, nothing was judged.
var ErrUsage = errors.New("usage")

// Run walks the first-parent line of opts.Branch oldest first and judges
// every commit whose diff against its first parent changes a marked image
// reference under opts.Path.
func Run(ctx context.Context, opts Options) (*Report, error) {
	a, steps, err := newAuditor(ctx, opts)
	if err != nil {
		return nil, err
	}
	cat, err := a.hist.objects(ctx)
	if err != nil {
		return nil, err
	}
	a.cat = cat
	walkErr := a.walk(ctx, steps)
	closeErr := cat.close()
	if walkErr != nil {
		return nil, walkErr
	}
	if closeErr != nil {
		return nil, closeErr
	}
	a.report.Commits = len(steps) - len(a.seed)
	return a.report, nil
}

// auditor holds one walk's state: the settled set grows with the number
// of distinct references introduced cleanly, never with history length.
type auditor struct {
	opts    Options
	hist    history
	cat     objectSource
	seed    map[string]bool    // commits before and at Since
	settled map[string]bool    // canonical references introduced cleanly
	lastNew map[string]version // path -> references of its last version read
	report  *Report
}

func newAuditor(ctx context.Context, opts Options) (*auditor, []step, error) {
	if opts.Signers == nil {
		opts.Signers = &Signers{}
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = DefaultMaxFileBytes
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	if opts.Branch == "" {
		opts.Branch = "HEAD"
	}
	hist, err := openHistory(opts)
	if err != nil {
		return nil, nil, err
	}
	a := &auditor{opts: opts, hist: hist, seed: map[string]bool{}, settled: map[string]bool{}, lastNew: map[string]version{}}
	if err := a.hist.check(ctx); err != nil {
		return nil, nil, fmt.Errorf("%w: --repo %s is not a git repository: %w", ErrUsage, opts.Repo, err)
	}
	p, err := cleanPath(opts.Path)
	if err != nil {
		return nil, nil, err
	}
	head, err := a.hist.resolve(ctx, opts.Branch)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --branch: %w", ErrUsage, err)
	}
	steps, err := a.hist.firstParents(ctx, head)
	if err != nil {
		return nil, nil, err
	}
	if steps, err = withMergedCommits(ctx, a.hist, head, steps); err != nil {
		return nil, nil, err
	}
	for _, s := range steps {
		if s.side {
			a.seed[s.commit] = true
		}
	}
	a.report = &Report{Branch: opts.Branch, Head: head, Path: p, Entries: []Entry{}, Skipped: []Skipped{}, Findings: map[Kind]int{}}
	if opts.Since != "" {
		since, err := a.hist.resolve(ctx, opts.Since)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: --since: %w", ErrUsage, err)
		}
		i := indexOf(steps, since)
		if i < 0 || steps[i].side {
			return nil, nil, fmt.Errorf("%w: --since %s is not on the first-parent line of %s", ErrUsage, opts.Since, opts.Branch)
		}
		for _, s := range steps[:i+1] {
			a.seed[s.commit] = true
		}
		a.report.Since = since
	}
	return a, steps, nil
}

func indexOf(steps []step, commit string) int {
	for i, s := range steps {
		if s.commit == commit {
			return i
		}
	}
	return -1
}

// cleanPath makes --path a slash path relative to the top of the
// repository; it is passed as ":(top,literal)PATH" so neither the working
// directory nor glob characters change what it names.
func cleanPath(p string) (string, error) {
	p = strings.Trim(path.Clean("/"+strings.ReplaceAll(p, "\\", "/")), "/")
	if strings.Contains(p, "\x00") {
		return "", fmt.Errorf("%w: --path holds a NUL byte", ErrUsage)
	}
	return p, nil
}
