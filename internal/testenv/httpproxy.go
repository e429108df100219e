package testenv

import (
	"crypto/subtle"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a forward HTTP proxy on 127.0.0.1, as a corporate egress proxy
// (the one a proxySecretRef names) would be: it relays absolute-URI
// requests (plain http targets) and tunnels CONNECT (https targets), after
// checking Basic proxy credentials (Proxy-Authorization). It counts what it
// forwarded and what it refused.
type Proxy struct {
	srv       *httptest.Server
	want      string // the Proxy-Authorization header it demands
	forwarded atomic.Int64
	tunnels   atomic.Int64
	refused   atomic.Int64
	transport *http.Transport
	routes    sync.Map // host:port -> address tunnels to it are dialed to
}

// NewProxy starts a proxy demanding user and password (407 otherwise); it
// is closed in t.Cleanup.
func NewProxy(t testing.TB, user, password string) *Proxy {
	t.Helper()
	p := &Proxy{want: "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password)), transport: &http.Transport{Proxy: nil}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.srv.CloseClientConnections()
		p.srv.Close()
		p.transport.CloseIdleConnections()
	})
	return p
}

// Address is the proxy's URL without credentials ("http://127.0.0.1:PORT").
func (p *Proxy) Address() string { return p.srv.URL }

// URL returns the proxy's address with user and password, as a
// proxySecretRef's address, username and password combine.
func (p *Proxy) URL(user, password string) *url.URL {
	u, _ := url.Parse(p.srv.URL)
	u.User = url.UserPassword(user, password)
	return u
}

// Route makes tunnels to hostPort go to addr instead, as an egress proxy
// resolves names its clients cannot: a test can then serve a cloud API at
// its real name. Call it before the first request.
func (p *Proxy) Route(hostPort, addr string) { p.routes.Store(hostPort, addr) }

// Forwarded counts the plain HTTP requests the proxy carried.
func (p *Proxy) Forwarded() int64 { return p.forwarded.Load() }

// Tunnels counts the CONNECT tunnels it opened (https targets; a client
// trying HTTPS first opens one even to a plain-HTTP server).
func (p *Proxy) Tunnels() int64 { return p.tunnels.Load() }

// Refused counts the requests refused for missing or wrong credentials.
func (p *Proxy) Refused() int64 { return p.refused.Load() }

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("Proxy-Authorization")), []byte(p.want)) != 1 {
		p.refused.Add(1)
		w.Header().Set("Proxy-Authenticate", `Basic realm="proxy"`)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	if r.Method == http.MethodConnect {
		p.tunnels.Add(1)
		p.tunnel(w, r)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "not a proxy request", http.StatusBadRequest)
		return
	}
	p.forwarded.Add(1)
	out := r.Clone(r.Context())
	out.RequestURI = ""
	out.Header.Del("Proxy-Authorization")
	resp, err := p.transport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer func() { _ = resp.Body.Close() }()
	for k, vs := range resp.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

func (p *Proxy) tunnel(w http.ResponseWriter, r *http.Request) {
	target := r.Host
	if addr, ok := p.routes.Load(target); ok {
		target = addr.(string)
	}
	upstream, err := net.Dial("tcp", target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		_ = upstream.Close()
		http.Error(w, "no hijacking", http.StatusInternalServerError)
		return
	}
	client, _, err := hj.Hijack()
	if err != nil {
		_ = upstream.Close()
		return
	}
	if _, err := io.WriteString(client, "HTTP/1.1 200 Connection established\r\n\r\n"); err != nil {
		_ = upstream.Close()
		_ = client.Close()
		return
	}
	go func() {
		_, _ = io.Copy(upstream, client)
		_ = upstream.Close()
	}()
	_, _ = io.Copy(client, upstream)
	_ = client.Close()
}
