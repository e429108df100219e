package setters

import (
	"context"
	"fmt"
	"os"
	"path"
	"strings"
)

// worker owns what one goroutine reuses across files: buffers and a
// handle on the directory of the last file.
type worker struct {
	ctx     context.Context
	root    *os.Root
	plan    plan
	budget  *Budget
	dir     *os.Root // the directory dirName, nil for the root itself
	dirName string
	buf     []byte // file contents
	out     []byte // rewritten contents
}

// dirOf returns a handle on name's directory and name's base. Files of a
// directory are listed together, so each directory is opened about once
// per worker, and opening a file resolves one path component, not all.
func (w *worker) dirOf(name string) (*os.Root, string, error) {
	dir, base := path.Split(name)
	dir = strings.TrimSuffix(dir, "/")
	if dir == "" {
		return w.root, base, nil
	}
	if w.dir == nil || dir != w.dirName {
		w.closeDir()
		d, err := w.root.OpenRoot(dir)
		if err != nil {
			return nil, "", fmt.Errorf("opening directory %s: %w", dir, err)
		}
		w.dir, w.dirName = d, dir
	}
	return w.dir, base, nil
}

func (w *worker) closeDir() {
	if w.dir != nil {
		_ = w.dir.Close() // a directory handle: closing loses nothing
		w.dir = nil
	}
}

// file screens, rewrites and writes back one regular file.
func (w *worker) file(name string) outcome {
	dir, base, err := w.dirOf(name)
	if err != nil {
		return outcome{err: err}
	}
	rr, err := read(dir, base, name, w.buf, w.budget.limits.MaxFileBytes)
	if err != nil {
		return outcome{err: err}
	}
	w.buf = rr.data[:0]
	switch {
	case !rr.marked:
		return outcome{}
	case !isYAMLName(name):
		return skip(name, "not a YAML file; image policy markers are applied only in *.yaml, *.yml and Kustomization files")
	}
	fe, err := w.rewrite(name, rr.data)
	switch {
	case err != nil:
		return outcome{err: fmt.Errorf("%s: %w", name, err)}
	case fe.skip != "":
		return skip(name, fe.skip)
	case len(fe.edits) == 0:
		return outcome{}
	}
	w.out = apply(rr.data, fe.edits, w.out)
	if err := writeInPlace(dir, base, name, w.out, rr.data); err != nil {
		return outcome{err: err}
	}
	return outcome{changes: fe.changes}
}

// rewrite parses data within the budget: a file over the limits is
// skipped unparsed, and parsing waits until the file fits in the budget.
func (w *worker) rewrite(name string, data []byte) (fileEdit, error) {
	weight, why := w.budget.admit(data)
	if why != "" {
		return fileEdit{skip: why}, nil
	}
	if err := w.budget.acquire(w.ctx, weight); err != nil {
		return fileEdit{}, err
	}
	defer w.budget.release(weight)
	return w.plan.rewrite(name, data), nil
}

func skip(name, reason string) outcome {
	return outcome{skipped: &Skipped{File: name, Reason: reason}}
}

// isYAMLName is Flux's choice of files to update.
func isYAMLName(name string) bool {
	ext := path.Ext(name)
	return ext == ".yaml" || ext == ".yml" || path.Base(name) == "Kustomization"
}
