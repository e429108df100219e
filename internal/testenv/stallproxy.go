package testenv

import (
	"context"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
)

// HTTPStall says which request a StallingProxy stalls: the Nth (from 1)
// whose "METHOD PATH" equals Request, and how: with AfterBytes < 0 no
// answer at all (the request is read and held until the client gives up);
// otherwise the headers and the first AfterBytes bytes of the server's
// body are sent, then nothing more.
type HTTPStall struct {
	Request    string // e.g. "POST /fleet.git/git-upload-pack"
	Nth        int
	AfterBytes int
}

// StallingProxy is an HTTP reverse proxy on 127.0.0.1 in front of a Git
// HTTP server that stalls one request as HTTPStall says.
type StallingProxy struct {
	srv *httptest.Server

	mu      sync.Mutex
	seen    map[string]int
	stalled int
}

// NewStallingProxy starts the proxy in front of upstream (a base URL such
// as GitServer.URL()); it is closed in t.Cleanup.
func NewStallingProxy(t testing.TB, upstream string, stall HTTPStall) *StallingProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatalf("testenv: stalling proxy: %v", err)
	}
	p := &StallingProxy{seen: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	// No pooled connections to the upstream: they would outlive the
	// request and look like leaked goroutines to a goroutine check.
	rp.Transport = &http.Transport{DisableKeepAlives: true}
	rp.FlushInterval = -1 // each write reaches the client at once
	rp.ErrorLog = log.New(io.Discard, "", 0)
	rp.ModifyResponse = func(res *http.Response) error {
		if after, ok := res.Request.Context().Value(stallKey{}).(int); ok {
			res.Body = &stallingBody{rc: res.Body, left: after, done: res.Request.Context().Done()}
		}
		return nil
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		key := r.Method + " " + r.URL.Path
		p.seen[key]++
		hit := key == stall.Request && p.seen[key] == stall.Nth
		if hit {
			p.stalled++
		}
		p.mu.Unlock()
		switch {
		case hit && stall.AfterBytes < 0:
			// Read the request first: net/http notices a client that
			// hangs up only once the body has been read.
			_, _ = io.Copy(io.Discard, r.Body)
			<-r.Context().Done()
		case hit:
			rp.ServeHTTP(w, r.WithContext(withStall(r, stall.AfterBytes))) //nolint:contextcheck // withStall derives from r.Context()
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: stalling proxy: listen: %v", err)
	}
	_ = p.srv.Listener.Close()
	p.srv.Listener = ln
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.Start()
	t.Cleanup(p.srv.Close)
	return p
}

// URL is the proxy's base URL, to use in place of the upstream's.
func (p *StallingProxy) URL() string { return p.srv.URL }

// Stalled returns how many requests it has stalled (0 or 1).
func (p *StallingProxy) Stalled() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stalled
}

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
