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
		for _, p := range c.ParentHashes[min(1, len(c.ParentHashes)):] {
			s.merged = append(s.merged, p.String())
		}
		steps = append(steps, s)
	}
	slices.Reverse(steps)
	return steps, nil
}

func (g goGit) parents(ctx context.Context, head string) (map[string][]string, error) {
	m := map[string][]string{}
	todo := []plumbing.Hash{plumbing.NewHash(head)}
	for len(todo) > 0 {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		h := todo[len(todo)-1]
		todo = todo[:len(todo)-1]
		if _, ok := m[h.String()]; ok {
			continue
		}
		c, err := g.repo.CommitObject(h)
		if err != nil {
			return nil, fmt.Errorf("go-git: commit %s: %w", h, err)
		}
		ps := make([]string, len(c.ParentHashes))
		for i, p := range c.ParentHashes {
			ps[i] = p.String()
			todo = append(todo, p)
		}
		m[h.String()] = ps
	}
	return m, nil
}

func (g goGit) diffs(ctx context.Context, steps []step, path string, fn func(commitDiff) error) error {
	// On the first-parent line each commit's parent is the previous
	// step, whose entry is already known.
	var prev string
	var prevEntry treeEntry
	td := &treeDiff{repo: g.repo, prev: map[plumbing.Hash]*object.Tree{}, cur: map[plumbing.Hash]*object.Tree{}}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		newEntry, err := g.entryAt(s.commit, path)
		if err != nil {
			return err
		}
		oldEntry := treeEntry{}
		switch {
		case s.parent != "" && s.parent == prev:
			oldEntry = prevEntry
		case s.parent != "":
			if oldEntry, err = g.entryAt(s.parent, path); err != nil {
				return err
			}
		}
		prev, prevEntry = s.commit, newEntry
		d := commitDiff{commit: s.commit}
		if err := td.diffEntries(path, oldEntry, newEntry, &d.changes); err != nil {
			return fmt.Errorf("go-git: commit %s: %w", s.commit, err)
		}
		td.next()
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

// treeDiff diffs trees of consecutive commits; the trees decoded for one
// commit are kept for the next, whose parent it is, so an unchanged
// directory on the changed path is decoded once, not twice.
type treeDiff struct {
	repo      *git.Repository
	prev, cur map[plumbing.Hash]*object.Tree
}

func (d *treeDiff) tree(h plumbing.Hash) (*object.Tree, error) {
	if t, ok := d.cur[h]; ok {
		return t, nil
	}
	t, ok := d.prev[h]
	if !ok {
		var err error
		if t, err = d.repo.TreeObject(h); err != nil {
			return nil, fmt.Errorf("tree %s: %w", h, err)
		}
	}
	d.cur[h] = t
	return t, nil
}

// next ends one commit: its trees become the ones the next may reuse.
func (d *treeDiff) next() { d.prev, d.cur = d.cur, map[plumbing.Hash]*object.Tree{} }

// diffEntries appends the file changes between two versions of path,
// in git's order, as diff-tree -r reports them: a directory on one side
// only is all adds or all deletes, a type change is a delete and an add.
// Entries with equal hashes are skipped without being read.
func (d *treeDiff) diffEntries(path string, old, new treeEntry, out *[]fileChange) error {
	if old.hash == new.hash && old.mode == new.mode {
		return nil
	}
	oldDir, newDir := old.mode == filemode.Dir && !old.hash.IsZero(), new.mode == filemode.Dir && !new.hash.IsZero()
	if !oldDir && !newDir {
		*out = append(*out, fileChangeOf(path, old, new))
		return nil
	}
	if !oldDir && !old.hash.IsZero() {
		*out = append(*out, fileChangeOf(path, old, treeEntry{}))
	}
	var oldKids, newKids []object.TreeEntry
	if oldDir {
		t, err := d.tree(old.hash)
		if err != nil {
			return err
		}
		oldKids = t.Entries
	}
	if newDir {
		t, err := d.tree(new.hash)
		if err != nil {
			return err
		}
		newKids = t.Entries
	}
	// Tree entries are stored in git's order: merge the two lists.
	i, j := 0, 0
	for i < len(oldKids) || j < len(newKids) {
		var o, n treeEntry
		var name string
		switch c := compareEntries(oldKids, newKids, i, j); {
		case c < 0:
			name, o = oldKids[i].Name, entryOf(oldKids[i])
			i++
		case c > 0:
			name, n = newKids[j].Name, entryOf(newKids[j])
			j++
		default:
			name, o, n = oldKids[i].Name, entryOf(oldKids[i]), entryOf(newKids[j])
			i++
			j++
		}
		if err := d.diffEntries(joinPath(path, name), o, n, out); err != nil {
			return err
		}
	}
	if !newDir && !new.hash.IsZero() {
		*out = append(*out, fileChangeOf(path, treeEntry{}, new))
	}
	return nil
}

// compareEntries orders old[i] and new[j] by name, a directory's name
// compared as "name/" (git's tree order); an exhausted side sorts last.
// The same name on both sides compares equal whatever the modes, so a
// file replaced by a directory is one path.
func compareEntries(old, new []object.TreeEntry, i, j int) int {
	switch {
	case i >= len(old):
		return 1
	case j >= len(new):
		return -1
	case old[i].Name == new[j].Name:
		return 0
	}
	return strings.Compare(sortKey(old[i]), sortKey(new[j]))
}

func sortKey(e object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

func entryOf(e object.TreeEntry) treeEntry { return treeEntry{hash: e.Hash, mode: e.Mode} }

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
