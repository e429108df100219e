package testenv

import (
	"bytes"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// CutProxy is a TCP proxy on 127.0.0.1 in front of an HTTP server that can
// be armed to cut one request short, as a server that goes away in the
// middle of a push, or to lose the answer to one request the server got
// whole. Everything else passes byte for byte.
type CutProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	armed *cutPlan
	cuts  int
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// cutPlan says which request to cut and how much of its body to let
// through.
type cutPlan struct {
	marker []byte
	keep   func(contentLength int) int
}

// NewCutProxy starts a proxy to target ("127.0.0.1:PORT"); it is closed,
// with every connection, in t.Cleanup.
func NewCutProxy(t testing.TB, target string) *CutProxy {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testenv: cut proxy: listen: %v", err)
	}
	p := &CutProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// Addr is the proxy's "127.0.0.1:PORT".
func (p *CutProxy) Addr() string { return p.ln.Addr().String() }

// CutNext arms the proxy once, for the next request whose request line
// starts with requestLine (e.g. "POST /fleet.git/git-receive-pack").
//
// When keep(Content-Length) is less than the length, the headers and that
// many bytes of the body are forwarded, then both connections are closed.
// The rest of the body reaches the server as zero bytes rather than not at
// all: git http-backend loops forever on a body shorter than its
// Content-Length, and to git a pack that stops short and one that ends in
// zeros are equally unusable.
//
// When keep returns the whole length, the server gets the whole request
// and answers it in full (a chunked answer, read to its last chunk), but
// the client never sees the answer: the connection closes instead.
func (p *CutProxy) CutNext(requestLine string, keep func(contentLength int) int) {
	p.mu.Lock()
	p.armed = &cutPlan{marker: []byte(requestLine), keep: keep}
	p.mu.Unlock()
}

// Cuts returns how many requests were cut so far.
func (p *CutProxy) Cuts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cuts
}

// link is one client connection and its connection to the server.
type link struct {
	client, server net.Conn
	// loseAnswer: the server's answer to the request in flight is read
	// and dropped, then both connections close.
	loseAnswer atomic.Bool
}

func (p *CutProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp4", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		if !p.track(c, s) {
			return
		}
		l := &link{client: c, server: s}
		p.wg.Add(2)
		go p.pumpResponses(l)
		go p.pumpRequests(l)
	}
}

// track registers a connection pair, or closes it when the proxy is
// closing.
func (p *CutProxy) track(conns ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		for _, c := range conns {
			_ = c.Close()
		}
		return false
	}
	for _, c := range conns {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *CutProxy) untrack(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range []net.Conn{l.client, l.server} {
		_ = c.Close()
		delete(p.conns, c)
	}
}

func (p *CutProxy) countCut() {
	p.mu.Lock()
	p.cuts++
	p.mu.Unlock()
}

// pumpResponses copies server to client, except an answer to be lost,
// which it reads to its end and drops before closing both connections.
func (p *CutProxy) pumpResponses(l *link) {
	defer p.wg.Done()
	defer p.untrack(l)
	buf := make([]byte, 32<<10)
	var dropped []byte
	for {
		n, err := l.server.Read(buf)
		if n > 0 {
			if !l.loseAnswer.Load() {
				if _, werr := l.client.Write(buf[:n]); werr != nil {
					return
				}
			} else if dropped = append(dropped, buf[:n]...); answerComplete(dropped) {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// answerComplete says whether b holds a whole HTTP response: headers and
// a body of its Content-Length, or chunks up to the last one.
func answerComplete(b []byte) bool {
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		return false
	}
	headers, body := b[:end], b[end+4:]
	if bytes.Contains(bytes.ToLower(headers), []byte("transfer-encoding: chunked")) {
		return bytes.HasPrefix(body, []byte("0\r\n\r\n")) || bytes.Contains(body, []byte("\r\n0\r\n\r\n"))
	}
	return len(body) >= contentLength(headers)
}

// pumpRequests copies client to server, request by request, watching
// for the armed one.
func (p *CutProxy) pumpRequests(l *link) {
	defer p.wg.Done()
	w := requestWatcher{take: p.take}
	buf := make([]byte, 32<<10)
	for {
		n, err := l.client.Read(buf)
		if n > 0 {
			fwd, cut := w.feed(buf[:n])
			if cut && w.zeros == 0 {
				l.loseAnswer.Store(true) // before the server can answer
			}
			if _, werr := l.server.Write(fwd); werr != nil {
				p.untrack(l)
				return
			}
			if cut {
				p.countCut()
				if w.zeros > 0 {
					p.untrack(l)
				}
				return // a lost answer closes both once it is read
			}
		}
		if err != nil {
			p.untrack(l)
			return
		}
	}
}

// take disarms the proxy and returns its plan if requestLine is the one it
// waits for: one request is cut per CutNext, whichever connection carries
// it.
func (p *CutProxy) take(requestLine []byte) *cutPlan {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.armed == nil || !bytes.HasPrefix(requestLine, p.armed.marker) {
		return nil
	}
	plan := p.armed
	p.armed = nil
	return plan
}

func (p *CutProxy) close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

// requestWatcher follows the HTTP/1.1 requests of one connection (the
// clients under test send a Content-Length and do not pipeline): it holds
// each request's headers until they are complete, asks take whether to
// cut that request, and passes bodies through, except the part of a cut
// request's body beyond what its plan keeps.
type requestWatcher struct {
	take     func(requestLine []byte) *cutPlan
	pending  []byte // headers not complete yet, or a cut request held back
	body     int    // bytes of the current request's body still to pass
	limit    int    // > 0: pending is a cut request; pass limit bytes, then cut
	zeros    int    // bytes of zeros that stand for the rest of the cut body
	passThru bool   // a request this watcher cannot follow (chunked): stop looking
}

// feed takes newly read bytes and returns those to forward now, and
// whether the connection must be cut after them.
func (w *requestWatcher) feed(b []byte) ([]byte, bool) {
	if w.passThru {
		return b, false
	}
	var out []byte
	for len(b) > 0 {
		if w.body > 0 {
			n := min(w.body, len(b))
			out = append(out, b[:n]...)
			w.body -= n
			b = b[n:]
			continue
		}
		w.pending = append(w.pending, b...)
		b = nil
		if w.limit == 0 {
			end := bytes.Index(w.pending, []byte("\r\n\r\n"))
			if end < 0 {
				return out, false // headers incomplete: wait for the rest
			}
			headers := w.pending[:end]
			if bytes.Contains(bytes.ToLower(headers), []byte("transfer-encoding:")) {
				w.passThru = true
				return append(out, w.pending...), false
			}
			length := contentLength(headers)
			if plan := w.take(headers); plan != nil {
				kept := max(0, min(plan.keep(length), length))
				w.limit, w.zeros = end+4+kept, length-kept
			} else {
				// Not the request to cut: pass its headers, and its body
				// as it comes; what follows is the next request.
				out = append(out, w.pending[:end+4]...)
				b, w.pending, w.body = w.pending[end+4:], nil, length
				continue
			}
		}
		if len(w.pending) < w.limit {
			return out, false
		}
		out = append(out, w.pending[:w.limit]...)
		return append(out, make([]byte, w.zeros)...), true
	}
	return out, false
}

// contentLength reads Content-Length from raw request headers (0 when
// absent or unreadable).
func contentLength(headers []byte) int {
	for _, line := range strings.Split(string(headers), "\r\n") {
		name, value, ok := strings.Cut(line, ":")
		if ok && http.CanonicalHeaderKey(strings.TrimSpace(name)) == "Content-Length" {
			n, err := strconv.Atoi(strings.TrimSpace(value))
			if err == nil {
				return n
			}
		}
	}
	return 0
}

// ClosedAddr returns "127.0.0.1:PORT" that nothing listens on: a port
// that was listened on and closed, so a connection to it is refused.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}
