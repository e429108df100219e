package certs

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// writeFiles puts the serving pair into dir, the key first: the webhook
// server reloads on either file's change and keeps its current pair while
// the two do not match, so it never serves half of an update. Unchanged
// files are not touched. Each file is replaced by a rename, never seen
// half-written.
func writeFiles(dir string, data map[string][]byte) error {
	for _, k := range []string{KeyKey, KeyCert} {
		path := filepath.Join(dir, k)
		cur, err := os.ReadFile(path) //nolint:gosec // dir is the webhook's own --cert-dir.
		if err == nil && bytes.Equal(cur, data[k]) {
			continue
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("reading %s: %w", path, err)
		}
		if err := writeAtomic(dir, k, data[k]); err != nil {
			return err
		}
	}
	return nil
}

func writeAtomic(dir, name string, b []byte) error {
	f, err := os.CreateTemp(dir, "."+name+"-*")
	if err != nil {
		return fmt.Errorf("writing %s into %s (is --cert-dir writable?): %w", name, dir, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) //nolint:errcheck // gone after the rename; best effort otherwise.
	if _, err := f.Write(b); err != nil {
		_ = f.Close()
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("replacing %s in %s: %w", name, dir, err)
	}
	return nil
}
