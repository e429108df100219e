package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// parseDiffTree reads `git diff-tree -z --stdin` output. Fields end in
// NUL; a record line starts with ':' and is always followed by its path,
// so a path that itself starts with ':' is read as a path. At most
// maxCommits headers are accepted (one per step fed).
func parseDiffTree(r *bufio.Reader, maxCommits int, fn func(commitDiff) error) error {
	var cur *commitDiff
	seen := 0
	flush := func() error {
		if cur == nil {
			return nil
		}
		d := *cur
		cur = nil
		return fn(d)
	}
	for {
		tok, err := r.ReadString(0)
		if errors.Is(err, io.EOF) && tok == "" {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("git diff-tree output: %w", err)
		}
		tok = strings.TrimSuffix(tok, "\x00")
		if !strings.HasPrefix(tok, ":") {
			if err := flush(); err != nil {
				return err
			}
			if seen++; seen > maxCommits || !isHash(tok) {
				return fmt.Errorf("git diff-tree output: unexpected %q", tok)
			}
			cur = &commitDiff{commit: tok}
			continue
		}
		f := strings.Fields(tok[1:])
		if cur == nil || len(f) != 5 {
			return fmt.Errorf("git diff-tree output: unexpected %q", tok)
		}
		path, err := r.ReadString(0)
		if err != nil {
			return fmt.Errorf("git diff-tree output: path of %q: %w", tok, err)
		}
		c := fileChange{path: strings.TrimSuffix(path, "\x00"), oldMode: f[0], newMode: f[1], oldHash: f[2], newHash: f[3]}
		if strings.HasPrefix(c.oldHash, nullHashPrefix) && strings.Trim(c.oldHash, "0") == "" {
			c.oldHash = ""
		}
		if strings.HasPrefix(c.newHash, nullHashPrefix) && strings.Trim(c.newHash, "0") == "" {
			c.newHash = ""
		}
		cur.changes = append(cur.changes, c)
	}
}

// isHash accepts SHA-1 and SHA-256 object names.
func isHash(s string) bool {
	if len(s) != 40 && len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
