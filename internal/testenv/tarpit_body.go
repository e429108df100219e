package testenv

import (
	"context"
	"errors"
	"io"
	"net/http"
)

type stallKey struct{}

func withStall(r *http.Request, afterBytes int) context.Context {
	return context.WithValue(r.Context(), stallKey{}, afterBytes)
}

// stallingBody passes left bytes of a response body, then blocks until
// the request ends.
type stallingBody struct {
	rc   io.ReadCloser
	left int
	done <-chan struct{}
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		<-b.done
		return 0, errors.New("testenv: stalled response abandoned by the client")
	}
	n, err := b.rc.Read(p[:min(len(p), b.left)])
	b.left -= n
	return n, err
}

func (b *stallingBody) Close() error { return b.rc.Close() }
