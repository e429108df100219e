package registry

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// deadlineBody keeps the request's deadline alive while the body is read, so
// a registry that stalls mid-body fails like one that stalls before the
// headers, and releases it at EOF or Close.
type deadlineBody struct {
	rc     io.ReadCloser
	ctx    context.Context
	cancel context.CancelFunc
	cause  error
	where  string
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	switch {
	case err == nil:
	case errors.Is(err, io.EOF):
		// net/http has put the connection back before Read returns EOF,
		// so ending the deadline now does not cost the connection.
		b.cancel()
	case b.ctx.Err() != nil && errors.Is(context.Cause(b.ctx), b.cause):
		err = fmt.Errorf("reading %s: %w", b.where, b.cause)
	}
	return n, err
}

func (b *deadlineBody) Close() error {
	err := b.rc.Close()
	b.cancel()
	return err
}

// limitedBody fails with ErrManifestTooLarge once more than limit bytes
// arrive, having buffered no more than limit+1 of them.
type limitedBody struct {
	rc        io.ReadCloser
	remaining int64
	limit     int64
	where     string
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.remaining < 0 {
		return 0, b.tooLarge()
	}
	if int64(len(p)) > b.remaining+1 {
		p = p[:b.remaining+1]
	}
	n, err := b.rc.Read(p)
	if int64(n) > b.remaining {
		// p holds at most remaining+1 bytes: the last one is over.
		b.remaining = -1
		return n - 1, b.tooLarge()
	}
	b.remaining -= int64(n)
	return n, err
}

func (b *limitedBody) tooLarge() error {
	return fmt.Errorf("%w: %s sent more than %d bytes", ErrManifestTooLarge, b.where, b.limit)
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// truncatedBody ends an error body early: its first bytes carry the message.
type truncatedBody struct {
	io.ReadCloser
	r io.Reader
}

func (b truncatedBody) Read(p []byte) (int, error) { return b.r.Read(p) }

// digestBody hashes a manifest fetched by digest and turns EOF into
// ErrDigestMismatch when the bytes do not match, so every reader (ggcr,
// cosign, Probe) gets the check, whatever it does with the bytes.
type digestBody struct {
	rc    io.ReadCloser
	want  v1.Hash
	h     hash.Hash
	where string
	err   error
}

// digestCheck wraps rc when ref is a digest of an algorithm we can compute;
// anything else is left to the reader (ggcr refuses unknown algorithms).
func digestCheck(rc io.ReadCloser, ref, where string) io.ReadCloser {
	want, err := v1.NewHash(ref)
	if err != nil {
		return rc
	}
	var h hash.Hash
	switch want.Algorithm {
	case "sha256":
		h = sha256.New()
	case "sha512":
		h = sha512.New()
	default:
		return rc
	}
	return &digestBody{rc: rc, want: want, h: h, where: where}
}

func (b *digestBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.rc.Read(p)
	b.h.Write(p[:n])
	if errors.Is(err, io.EOF) {
		if got := hex.EncodeToString(b.h.Sum(nil)); got != b.want.Hex {
			b.err = fmt.Errorf("%w: %s sent content hashing to %s:%s", ErrDigestMismatch, b.where, b.want.Algorithm, got)
			return n, b.err
		}
	}
	return n, err
}

func (b *digestBody) Close() error { return b.rc.Close() }
