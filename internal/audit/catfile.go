package audit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strconv"
)

// catFile is one long-running `git cat-file --batch`: every commit and
// blob the audit reads goes through it, so a walk costs three processes
// whatever the number of commits.
type catFile struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	w   *bufio.Writer // over in; used by the requesting goroutine only
	out *bufio.Reader
}

// request asks for the objects; their answers are read with next, in
// this order.
func (c *catFile) request(hashes []string) error {
	for _, h := range hashes {
		if _, err := c.w.WriteString(h + "\n"); err != nil {
			return fmt.Errorf("git cat-file: %w", err)
		}
	}
	if err := c.w.Flush(); err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	return nil
}

func startCatFile(ctx context.Context, git gitCmd) (objectSource, error) {
	cmd := git.command(ctx, "cat-file", "--batch")
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start git cat-file: %w", err)
	}
	return &catFile{cmd: cmd, in: in, w: bufio.NewWriterSize(in, 4<<10), out: bufio.NewReaderSize(out, 64<<10)}, nil
}

// errTooBig is returned for an object larger than the caller's limit; its
// bytes were read and dropped, so the stream stays in step.
var errTooBig = errors.New("object too big")

// next reads the answer to the oldest request not yet read: the object
// named by hash, of kind typ, or errTooBig when it is larger than limit
// bytes. Requests are written by the reader of history (pipeline.go), so
// git never waits for a round trip.
func (c *catFile) next(hash, typ string, limit int64) ([]byte, error) {
	header, err := c.out.ReadString('\n')
	if err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	fields := bytes.Fields([]byte(header))
	if len(fields) != 3 || string(fields[0]) != hash {
		return nil, fmt.Errorf("git cat-file: object %s: %q", hash, header)
	}
	if string(fields[1]) != typ {
		return nil, fmt.Errorf("git cat-file: object %s is a %s, not a %s", hash, fields[1], typ)
	}
	size, err := strconv.ParseInt(string(fields[2]), 10, 64)
	if err != nil || size < 0 {
		return nil, fmt.Errorf("git cat-file: object %s: bad size %q", hash, fields[2])
	}
	if size > limit {
		if _, err := c.out.Discard(int(size) + 1); err != nil {
			return nil, fmt.Errorf("git cat-file: %w", err)
		}
		return nil, fmt.Errorf("%w: %d bytes, the limit is %d", errTooBig, size, limit)
	}
	buf := make([]byte, size+1)
	if _, err := io.ReadFull(c.out, buf); err != nil {
		return nil, fmt.Errorf("git cat-file: %w", err)
	}
	return buf[:size], nil
}

func (c *catFile) close() error {
	_ = c.in.Close()
	if err := c.cmd.Wait(); err != nil {
		return fmt.Errorf("git cat-file: %w", err)
	}
	return nil
}
