package testenv

import (
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

// Tarpit is a TCP listener on 127.0.0.1 in front of a server: it forwards
// connections byte for byte, except those it is told to stall, which it
// accepts and then never answers (it reads nothing and writes nothing),
// or whose server answer it cuts off after some bytes, as a hung or
// hostile server does. A stalled connection keeps no goroutine of its own
// once the client gives up, so a goroutine check made while the tarpit is
// still open sees only the client's goroutines.
type Tarpit struct {
	ln     net.Listener
	target string
	plan   func(n int) int

	mu      sync.Mutex
	n       int
	stalled int
	conns   []net.Conn
	closed  bool
	wg      sync.WaitGroup
}

// Forward is the plan of a Tarpit connection that is not stalled.
const Forward = -1

// NewTarpit starts a tarpit in front of target ("127.0.0.1:PORT"; "" for
// none, then every connection stalls at once). plan(n) says what happens to
// the n-th connection (from 1): Forward; 0, never answered; k > 0, the
// first k bytes of the server's answer pass, then nothing more. It is
// closed, with every connection, in t.Cleanup.
func NewTarpit(t testing.TB, target string, plan func(n int) int) *Tarpit {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: tarpit: listen: %v", err)
	}
	p := &Tarpit{ln: ln, target: target, plan: plan}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the tarpit's "127.0.0.1:PORT".
func (p *Tarpit) Addr() string { return p.ln.Addr().String() }

// Stalled returns how many connections it has stalled so far.
func (p *Tarpit) Stalled() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stalled
}

func (p *Tarpit) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		p.n++
		after := 0
		if p.target != "" && p.plan != nil {
			after = p.plan(p.n)
		}
		if after != Forward {
			p.stalled++
		}
		p.mu.Unlock()
		if after == 0 {
			p.keep(c)
			continue
		}
		s, err := net.Dial("tcp4", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		if !p.keep(c, s) {
			return
		}
		p.wg.Add(2)
		go p.pump(s, c) // the client's requests, always
		if after == Forward {
			go p.pump(c, s)
		} else {
			go p.pumpSome(c, s, after)
		}
	}
}

// pumpSome copies n bytes of the server's answer, then stops reading it
// and leaves both connections open: the client waits for the rest.
func (p *Tarpit) pumpSome(dst, src net.Conn, n int) {
	defer p.wg.Done()
	_, _ = io.CopyN(dst, src, int64(n))
}

// keep remembers connections to close at cleanup, or closes them now
// when the tarpit is closing.
func (p *Tarpit) keep(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	p.conns = append(p.conns, conns...)
	return true
}

// pump copies one direction; when either side ends, both connections
// close, so the other pump ends too.
func (p *Tarpit) pump(dst, src net.Conn) {
	defer p.wg.Done()
	_, _ = io.Copy(dst, src)
	_ = dst.Close()
	_ = src.Close()
}

func (p *Tarpit) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

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
			rp.ServeHTTP(w, r.WithContext(withStall(r, stall.AfterBytes)))
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
