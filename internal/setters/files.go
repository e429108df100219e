package setters

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
)

// token is what a file must contain to be parsed at all.
var token = []byte(markerKey)

// readResult is a screened file: its bytes (the first limit+1 of them
// when larger) and whether it holds the token.
type readResult struct {
	data   []byte
	marked bool
}

// read reads base in dir into buf (reused across files) and screens it;
// name is the file's path for messages. At most limit+1 bytes are held in
// memory (Limits.MaxFileBytes: a bigger marked file is skipped anyway);
// the rest of a bigger file is screened in chunks.
func read(dir *os.Root, base, name string, buf []byte, limit int) (readResult, error) {
	f, err := dir.Open(base)
	if err != nil {
		return readResult{}, fmt.Errorf("opening %s: %w", name, err)
	}
	defer func() { _ = f.Close() }() // read-only: a close error loses nothing
	info, err := f.Stat()
	if err != nil {
		return readResult{}, fmt.Errorf("reading %s: %w", name, err)
	}
	var res readResult
	if !info.Mode().IsRegular() {
		return res, nil
	}
	// One read fills a buffer sized from the stat; +512 leaves room to
	// see EOF, or a file that grew.
	want := limit + 512
	if size := info.Size(); size >= 0 && size < int64(limit) {
		want = int(size) + 512
	}
	if cap(buf) < want {
		buf = make([]byte, 0, want)
	}
	buf, err = readUpTo(f, buf[:0], limit+1)
	if err != nil {
		return readResult{}, fmt.Errorf("reading %s: %w", name, err)
	}
	res.data = buf
	if len(buf) > limit {
		res.marked, err = streamContains(f, buf)
		if err != nil {
			return readResult{}, fmt.Errorf("reading %s: %w", name, err)
		}
		return res, nil
	}
	res.marked = bytes.Contains(buf, token)
	return res, nil
}

// readUpTo appends from r to buf until EOF or limit bytes.
func readUpTo(r io.Reader, buf []byte, limit int) ([]byte, error) {
	for len(buf) < limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := r.Read(buf[len(buf):min(cap(buf), limit)])
		buf = buf[:len(buf)+n]
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// streamContains reports whether head, followed by the rest of r, holds
// the token, reading r in chunks so a huge file costs no memory.
func streamContains(r io.Reader, head []byte) (bool, error) {
	if bytes.Contains(head, token) {
		return true, nil
	}
	keep := len(token) - 1
	chunk := make([]byte, keep+64<<10)
	n := copy(chunk, head[len(head)-keep:])
	for {
		m, err := r.Read(chunk[n:])
		if bytes.Contains(chunk[:n+m], token) {
			return true, nil
		}
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		n = copy(chunk, chunk[n+m-keep:n+m])
	}
}

// writeInPlace overwrites name with data, keeping its inode and mode.
//
// Not a temporary file and a rename: on ext4 (auto_da_alloc) replacing a
// file by rename or by truncation to zero forces its data to disk, which
// measured 25 times slower here than overwriting. The worktree belongs to
// the gate, which resets it after an error or a crash, so a torn file is
// never committed. A failed write still puts the old bytes back when it
// can (shorter content needs no new blocks).
func writeInPlace(dir *os.Root, base, name string, data, old []byte) error {
	f, err := dir.OpenFile(base, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if err = overwrite(f, data); err != nil {
		if rerr := overwrite(f, old); rerr != nil {
			err = fmt.Errorf("%w; restoring the old content failed too, reset the worktree: %w", err, rerr)
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	return nil
}

func overwrite(f *os.File, data []byte) error {
	if _, err := f.WriteAt(data, 0); err != nil {
		return err
	}
	return f.Truncate(int64(len(data)))
}
