package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// goGit reads history in-process, for hosts without the git CLI. Its tree
// diff compares entries by hash and descends only into subtrees whose
// hashes differ, so a commit costs what it changed, not the size of the
// repository (go-git's generic object.DiffTree walks much more).
type goGit struct {
	repo *git.Repository
}

func openGoGit(dir string) (history, error) {
	repo, err := git.PlainOpenWithOptions(dir, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return goGit{}, nil //nolint:nilerr // check reports a directory without a repository as a usage error
	}
	return goGit{repo: repo}, nil
}

func (g goGit) check(context.Context) error {
	if g.repo == nil {
		return errors.New("go-git: no repository here")
	}
	return nil
}

func (g goGit) resolve(_ context.Context, rev string) (string, error) {
	if strings.HasPrefix(rev, "-") {
		return "", fmt.Errorf("revision %q may not start with '-'", rev)
	}
	h, err := g.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return "", fmt.Errorf("%q names no commit: %w", rev, err)
	}
	if _, err := g.repo.CommitObject(*h); err != nil {
		return "", fmt.Errorf("%q names no commit: %w", rev, err)
	}
	return h.String(), nil
}

func (g goGit) firstParents(ctx context.Context, head string) ([]step, error) {
	var steps []step
	h := plumbing.NewHash(head)
	for !h.IsZero() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, err := g.repo.CommitObject(h)
		if err != nil {
			return nil, fmt.Errorf("go-git: commit %s: %w", h, err)
		}
		s := step{commit: h.String()}
		h = plumbing.ZeroHash
		if len(c.ParentHashes) > 0 {
			h = c.ParentHashes[0]
			s.parent = h.String()
		}
		steps = append(steps, s)
	}
	slices.Reverse(steps)
	return steps, nil
}

func (g goGit) diffs(ctx context.Context, steps []step, path string, fn func(commitDiff) error) error {
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		newEntry, err := g.entryAt(s.commit, path)
		if err != nil {
			return err
		}
		oldEntry := treeEntry{}
		if s.parent != "" {
			if oldEntry, err = g.entryAt(s.parent, path); err != nil {
				return err
			}
		}
		d := commitDiff{commit: s.commit}
		if err := g.diffEntries(path, oldEntry, newEntry, &d.changes); err != nil {
			return fmt.Errorf("go-git: commit %s: %w", s.commit, err)
		}
		if len(d.changes) > 0 {
			if err := fn(d); err != nil {
				return err
			}
		}
	}
	return nil
}

// treeEntry is a path's object in one commit; a zero hash is "absent".
type treeEntry struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

// entryAt finds path ("" for the root tree) in a commit.
func (g goGit) entryAt(commit, path string) (treeEntry, error) {
	c, err := g.repo.CommitObject(plumbing.NewHash(commit))
	if err != nil {
		return treeEntry{}, fmt.Errorf("go-git: commit %s: %w", commit, err)
	}
	if path == "" {
		return treeEntry{hash: c.TreeHash, mode: filemode.Dir}, nil
	}
	t, err := c.Tree()
	if err != nil {
		return treeEntry{}, fmt.Errorf("go-git: tree of %s: %w", commit, err)
	}
	e, err := t.FindEntry(path)
	if errors.Is(err, object.ErrEntryNotFound) || errors.Is(err, object.ErrDirectoryNotFound) {
		return treeEntry{}, nil
	}
	if err != nil {
		return treeEntry{}, fmt.Errorf("go-git: %s in %s: %w", path, commit, err)
	}
	return treeEntry{hash: e.Hash, mode: e.Mode}, nil
}

// diffEntries appends the file changes between two versions of path,
// in git's order (byte order of full paths), as diff-tree -r reports
// them: a directory on one side only is all adds or all deletes, a
// type change is a delete and an add.
func (g goGit) diffEntries(path string, old, new treeEntry, out *[]fileChange) error {
	if old.hash == new.hash && old.mode == new.mode {
		return nil
	}
	oldDir, newDir := old.mode == filemode.Dir, new.mode == filemode.Dir
	if oldDir || newDir {
		oldKids, err := g.children(old, oldDir)
		if err != nil {
			return err
		}
		newKids, err := g.children(new, newDir)
		if err != nil {
			return err
		}
		names := make([]string, 0, len(oldKids)+len(newKids))
		for n := range oldKids {
			names = append(names, n)
		}
		for n := range newKids {
			if _, ok := oldKids[n]; !ok {
				names = append(names, n)
			}
		}
		// Sorting "name" as "name/" for directories gives git's order.
		key := func(n string) string {
			if oldKids[n].mode == filemode.Dir || newKids[n].mode == filemode.Dir {
				return n + "/"
			}
			return n
		}
		slices.SortFunc(names, func(a, b string) int { return strings.Compare(key(a), key(b)) })
		if !oldDir && !old.hash.IsZero() {
			*out = append(*out, fileChangeOf(path, old, treeEntry{}))
		}
		for _, n := range names {
			if err := g.diffEntries(joinPath(path, n), oldKids[n], newKids[n], out); err != nil {
				return err
			}
		}
		if !newDir && !new.hash.IsZero() {
			*out = append(*out, fileChangeOf(path, treeEntry{}, new))
		}
		return nil
	}
	*out = append(*out, fileChangeOf(path, old, new))
	return nil
}

func (g goGit) children(e treeEntry, isDir bool) (map[string]treeEntry, error) {
	kids := map[string]treeEntry{}
	if !isDir || e.hash.IsZero() {
		return kids, nil
	}
	t, err := g.repo.TreeObject(e.hash)
	if err != nil {
		return nil, fmt.Errorf("tree %s: %w", e.hash, err)
	}
	for _, te := range t.Entries {
		kids[te.Name] = treeEntry{hash: te.Hash, mode: te.Mode}
	}
	return kids, nil
}

func fileChangeOf(path string, old, new treeEntry) fileChange {
	c := fileChange{path: path, oldMode: "000000", newMode: "000000"}
	if !old.hash.IsZero() {
		c.oldHash, c.oldMode = old.hash.String(), fmt.Sprintf("%06o", uint32(old.mode))
	}
	if !new.hash.IsZero() {
		c.newHash, c.newMode = new.hash.String(), fmt.Sprintf("%06o", uint32(new.mode))
	}
	return c
}

func joinPath(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

func (g goGit) objects(context.Context) (objectSource, error) { return goGitObjects(g), nil }

// goGitObjects reads objects on demand: nothing is requested ahead.
type goGitObjects struct{ repo *git.Repository }

func (goGitObjects) request([]string) error { return nil }
func (goGitObjects) close() error           { return nil }

func (o goGitObjects) next(hash, typ string, limit int64) ([]byte, error) {
	t, err := plumbing.ParseObjectType(typ)
	if err != nil {
		return nil, err
	}
	obj, err := o.repo.Storer.EncodedObject(t, plumbing.NewHash(hash))
	if err != nil {
		return nil, fmt.Errorf("go-git: object %s: %w", hash, err)
	}
	if obj.Size() > limit {
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", errTooBig, obj.Size(), limit)
	}
	r, err := obj.Reader()
	if err != nil {
		return nil, fmt.Errorf("go-git: object %s: %w", hash, err)
	}
	defer func() { _ = r.Close() }() // read-only
	return io.ReadAll(io.LimitReader(r, limit+1))
}
