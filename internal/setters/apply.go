package setters

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Apply rewrites every marked field under root/path (path "" or "." is
// the root) for the policies in images, writing changed files in place
// with the same mode. Policies without an entry in images are left alone:
// that is how a blocked, unverified selection keeps its last value in Git.
//
// Only files holding the bytes "$imagepolicy" are parsed. A marked file
// that is not YAML, does not parse, or has a marked value that cannot be
// rewritten exactly is reported in Result.Skipped and left byte-identical.
// Symlinks are never followed and .git directories are skipped.
//
// Errors wrap ErrInvalidImage or ErrInvalidPath for bad arguments (then
// nothing was written), or report an I/O failure; files changed before an
// I/O failure stay changed and are listed in the returned Result, and the
// caller should reset the worktree.
//
// Apply parses within DefaultLimits, sharing one Budget with every other
// call of the package-level Apply; Budget.Apply uses other limits.
func Apply(root, path string, images map[Policy]Image) (Result, error) {
	return defaultBudget.Apply(context.Background(), root, path, images)
}

// Apply is the package-level Apply within b: marked files over b's limits
// are skipped, and parsing waits while other files use the budget. If ctx
// ends during such a wait, Apply returns its error; files already
// written stay written, as after an I/O failure.
func (b *Budget) Apply(ctx context.Context, root, path string, images map[Policy]Image) (Result, error) {
	p, err := newPlan(images)
	if err != nil {
		return Result{}, err
	}
	start, err := cleanPath(path)
	if err != nil {
		return Result{}, err
	}
	r, err := os.OpenRoot(root)
	if err != nil {
		return Result{}, fmt.Errorf("%w: root %q: %w", ErrInvalidPath, root, err)
	}
	defer func() { _ = r.Close() }() // a directory handle: closing loses nothing
	names, err := listFiles(r, start)
	if err != nil {
		return Result{}, err
	}
	return merge(process(ctx, r, p, b, names))
}

// cleanPath turns the update path into an fs.FS path inside the root.
func cleanPath(p string) (string, error) {
	if filepath.IsAbs(p) {
		return "", fmt.Errorf("%w: %q is absolute; give a path relative to the repository root", ErrInvalidPath, p)
	}
	c := filepath.ToSlash(filepath.Clean(p))
	if !fs.ValidPath(c) {
		return "", fmt.Errorf("%w: %q leaves the repository root", ErrInvalidPath, p)
	}
	return c, nil
}

// listFiles returns the regular files under start in lexical order,
// without .git directories. Symlinks are not followed: the files they
// point to inside the root are listed on their own, and those outside
// must not be touched.
func listFiles(r *os.Root, start string) ([]string, error) {
	var names []string
	err := fs.WalkDir(r.FS(), start, func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil && name == start:
			return fmt.Errorf("%w: %q under %s: %w", ErrInvalidPath, name, r.Name(), err)
		case err != nil:
			return fmt.Errorf("walking %s: %w", name, err)
		case d.IsDir() && d.Name() == ".git":
			return fs.SkipDir
		case d.Type().IsRegular():
			names = append(names, name)
		}
		return nil
	})
	return names, err
}
