package testenv

import (
	"io"
	"net"
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
