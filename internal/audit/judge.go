package audit

import (
	"fmt"
	"slices"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/setters"
)

// introduced is a reference the commit wrote that its first parent did
// not hold in the files the commit changed.
type introduced struct {
	ref
	image     policy.Image
	canonical string
}

// judge is called for every commit whose first-parent diff touches the
// path: it reads the old and new versions of the changed files, and when
// image references changed, the commit, and records its entries.
func (a *auditor) judge(l loaded) error {
	d := l.diff
	seed := a.seed[d.commit]
	old, refs, marked, err := a.readChanges(l, seed)
	if err != nil {
		return err
	}
	raw := l.commit
	if !marked {
		return nil
	}
	c, err := parseCommit(raw)
	if err != nil {
		return fmt.Errorf("commit %s: %w", d.commit, err)
	}
	news := a.introducedRefs(d.commit, old, refs, seed)
	blocks := trailerBlocks(c.message)
	if len(news) == 0 && len(blocks) == 0 {
		return nil
	}
	sig := a.opts.Signers.verify(c)
	by := ByPerson
	if len(blocks) > 0 && sig.Status == SignatureAllowed {
		by = ByGate
	}
	base := Entry{
		Commit: d.commit, Author: c.author.String(), Committer: c.committer.String(),
		Date: c.committer.when, By: by, Signature: sig, Policies: []string{}, Findings: []Kind{},
	}
	var entries []Entry
	used := make([]bool, len(blocks))
	for _, n := range news {
		e := base
		e.File, e.Line, e.Image = n.file, n.line, n.canonical
		e.Findings = a.findings(n, blocks, used, len(blocks) > 0 && sig.Status != SignatureAllowed, &e)
		if len(e.Findings) > 0 && a.settled[n.canonical] {
			e.Findings, e.Settled = []Kind{}, true
		}
		if len(e.Findings) == 0 && !e.Settled && by == ByGate {
			a.settled[n.canonical] = true
		}
		entries = append(entries, e)
	}
	for i, b := range blocks {
		if used[i] {
			continue
		}
		e := base
		e.Image, e.Trailer, e.Policies = b.canonical(), b.raw, nonNil(b.policies)
		e.Findings = []Kind{TrailerMismatch}
		if sig.Status != SignatureAllowed {
			e.Findings = []Kind{UnsignedCommit, TrailerMismatch}
		}
		entries = append(entries, e)
	}
	if seed {
		return nil
	}
	a.report.Changed++
	for _, e := range entries {
		for _, k := range e.Findings {
			a.report.Findings[k]++
		}
	}
	a.report.Entries = append(a.report.Entries, entries...)
	return nil
}

// findings judges one introduced reference against the commit's trailer
// blocks, marking the block it matched (same repository and digest) as
// used.
func (a *auditor) findings(n introduced, blocks []block, used []bool, unsigned bool, e *Entry) []Kind {
	ks := []Kind{}
	if unsigned {
		ks = append(ks, UnsignedCommit)
	}
	match, sameRepo := -1, -1
	for i, b := range blocks {
		if !b.parsed || b.image.Repository != n.image.Repository {
			continue
		}
		if sameRepo < 0 {
			sameRepo = i
		}
		if n.image.Digest != "" && b.image.Digest == n.image.Digest {
			match = i
			break
		}
	}
	switch {
	case match >= 0:
		b := blocks[match]
		used[match] = true
		e.Trailer, e.Policies, e.Exception = b.raw, nonNil(b.policies), b.exception
		if b.exception != nil {
			if b.exception.Expires.Before(a.opts.Now) {
				ks = append(ks, ExpiredException)
			} else {
				ks = append(ks, ExceptionUsed)
			}
		}
	case sameRepo >= 0:
		used[sameRepo] = true
		e.Trailer = blocks[sameRepo].raw
		ks = append(ks, TrailerMismatch)
	default:
		ks = append(ks, MissingTrailer)
	}
	if n.image.Digest == "" {
		ks = append(ks, TagOnly)
	}
	slices.SortFunc(ks, func(x, y Kind) int { return slices.Index(AllKinds, x) - slices.Index(AllKinds, y) })
	return ks
}

func (b block) canonical() string {
	if b.parsed {
		return b.image.String()
	}
	return b.raw
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readChanges returns the canonical references of the old versions of the
// changed files and the references of their new versions, and whether any
// version held a marked reference at all. It takes the parses of the
// versions the job requested, in order; an old version not requested
// comes from the per-path cache. A file too big or not YAML is reported
// skipped; failing to read from git ends the walk.
func (a *auditor) readChanges(l loaded, seed bool) (old map[string]bool, refs []ref, marked bool, err error) {
	old = map[string]bool{}
	for i, f := range l.files {
		var oldRefs []ref
		switch {
		case f.readOld:
			v, err := a.readVersion(l.diff.commit, f.path, f.oldHash, l.old[i], false, seed)
			if err != nil {
				return nil, nil, false, err
			}
			oldRefs = v.refs
		case f.oldHash != "" && isRegularMode(f.oldMode):
			v, ok := a.lastNew[f.path]
			if !ok || v.hash != f.oldHash {
				return nil, nil, false, fmt.Errorf("commit %s: %s: no cached version %s; this is a bug, please report it", l.diff.commit, f.path, f.oldHash)
			}
			oldRefs = v.refs
		}
		for _, r := range oldRefs {
			if r.parseErr == nil {
				old[r.image.String()] = true
			}
		}
		marked = marked || len(oldRefs) > 0
		delete(a.lastNew, f.path)
		if f.readNew {
			v, err := a.readVersion(l.diff.commit, f.path, f.newHash, l.new[i], true, seed)
			if err != nil {
				return nil, nil, false, err
			}
			a.lastNew[f.path] = v
			refs = append(refs, v.refs...)
			marked = marked || len(v.refs) > 0
		}
	}
	return old, refs, marked, nil
}

// version is a file version's references, cached per path for the next
// commit that changes it.
type version struct {
	hash string
	refs []ref
}

func (a *auditor) readVersion(commit, path, hash string, p *parse, isNew, seed bool) (version, error) {
	rs, skip, err := p.wait()
	if err != nil {
		return version{}, fmt.Errorf("commit %s: %s: %w", commit, path, err)
	}
	if skip != "" && isNew && !seed {
		a.report.Skipped = append(a.report.Skipped, Skipped{Commit: commit, File: path, Reason: skip})
	}
	return version{hash: hash, refs: rs}, nil
}

// isSetterChange: a change to a file the gate would write.
func isSetterChange(ch fileChange) bool {
	return setters.IsSetterFile(ch.path) && (isRegularMode(ch.oldMode) || isRegularMode(ch.newMode))
}

// isRegularMode: regular and executable files; symlinks and submodules
// hold no YAML.
func isRegularMode(mode string) bool { return mode == "100644" || mode == "100755" }

// introducedRefs returns the new references not held before, first
// occurrence of each canonical reference only. A marked value that is not
// an image reference is reported skipped.
func (a *auditor) introducedRefs(commit string, old map[string]bool, refs []ref, seed bool) []introduced {
	var out []introduced
	seen := map[string]bool{}
	for _, r := range refs {
		img, err := r.image, r.parseErr
		if err != nil {
			if !seed {
				a.report.Skipped = append(a.report.Skipped, Skipped{Commit: commit, File: fmt.Sprintf("%s:%d", r.file, r.line), Reason: err.Error()})
			}
			continue
		}
		c := img.String()
		if old[c] || seen[c] {
			continue
		}
		seen[c] = true
		out = append(out, introduced{ref: r, image: img, canonical: c})
	}
	return out
}
