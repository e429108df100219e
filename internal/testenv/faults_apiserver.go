package testenv

import (
	"encoding/pem"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
)

// APIServerProxy is a TLS reverse proxy on 127.0.0.1 in front of a control
// plane's API server that can be told to delay requests, to test a client
// (a manager, a webhook's record writes) under API server latency. It
// authenticates upstream with the credentials of the rest.Config it was
// made from, so its clients act as that user.
type APIServerProxy struct {
	srv *httptest.Server

	mu    sync.Mutex
	delay time.Duration
	match func(*http.Request) bool

	log requestLog
}

// NewAPIServerProxy starts a proxy to upstream's API server; it is closed
// in t.Cleanup (register it before anything that uses it, so that those
// stop first).
func NewAPIServerProxy(t testing.TB, upstream *rest.Config) *APIServerProxy {
	t.Helper()
	target, err := url.Parse(upstream.Host)
	if err != nil {
		t.Fatalf("testenv: API server URL %q: %v", upstream.Host, err)
	}
	tr, err := rest.TransportFor(upstream)
	if err != nil {
		t.Fatalf("testenv: transport to the API server: %v", err)
	}
	p := &APIServerProxy{}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = target.Host
		},
		Transport:     tr,
		FlushInterval: -1, // watches stream
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !p.wait(r) {
			return // the client gave up while the request was held
		}
		rp.ServeHTTP(w, r)
	}))
	p.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	p.srv.StartTLS()
	t.Cleanup(func() {
		p.srv.CloseClientConnections()
		p.srv.Close()
	})
	return p
}

// Config returns a rest.Config that reaches the API server through the
// proxy, as upstream's user.
func (p *APIServerProxy) Config() *rest.Config {
	return &rest.Config{
		Host: p.srv.URL,
		TLSClientConfig: rest.TLSClientConfig{
			CAData: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw}),
		},
		QPS: -1, // the proxy is the only throttle under test
	}
}

// Delay holds every request that match accepts (nil: every request) for d
// before passing it on; 0 turns the delay off. A request whose client
// gives up while it is held is dropped, never forwarded.
func (p *APIServerProxy) Delay(d time.Duration, match func(*http.Request) bool) {
	p.mu.Lock()
	p.delay, p.match = d, match
	p.mu.Unlock()
}

// Delayed returns "METHOD /path" of every request held so far, in order.
func (p *APIServerProxy) Delayed() []string { return p.log.all() }

// wait holds r as configured and reports whether to forward it.
func (p *APIServerProxy) wait(r *http.Request) bool {
	p.mu.Lock()
	d, match := p.delay, p.match
	p.mu.Unlock()
	if d <= 0 || (match != nil && !match(r)) {
		return true
	}
	p.log.add(r.Method + " " + r.URL.Path)
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	}
}

// IsWatch matches long-running watch requests, which a latency test
// usually leaves alone (they are delayed only when they start anyway).
func IsWatch(r *http.Request) bool { return r.URL.Query().Get("watch") == "true" }

// requestLog is a list of request lines safe for concurrent use.
type requestLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *requestLog) add(line string) {
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
}

func (l *requestLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}
