package testenv

import (
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// HTTPProxy is a forward HTTP proxy on 127.0.0.1, as a corporate egress
// proxy would be: it relays absolute-URI requests (plain http targets) and
// tunnels CONNECT (https targets), after checking Proxy-Authorization when
// it has credentials. It counts what it relayed.
type HTTPProxy struct {
	srv       *httptest.Server
	user, pw  string
	relayed   atomic.Int64
	refused   atomic.Int64
	transport *http.Transport
}

// NewHTTPProxy starts a proxy; with a non-empty user it requires Basic
// proxy credentials user:pw (407 otherwise).
func NewHTTPProxy(t testing.TB, user, pw string) *HTTPProxy {
	t.Helper()
	p := &HTTPProxy{user: user, pw: pw, transport: &http.Transport{Proxy: nil}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.srv.Close()
		p.transport.CloseIdleConnections()
	})
	return p
}

// URL is the proxy's address (without credentials).
func (p *HTTPProxy) URL() string { return p.srv.URL }

// Relayed counts the requests and tunnels the proxy carried.
func (p *HTTPProxy) Relayed() int64 { return p.relayed.Load() }

// Refused counts the requests refused for missing or wrong credentials.
func (p *HTTPProxy) Refused() int64 { return p.refused.Load() }

func (p *HTTPProxy) serve(w http.ResponseWriter, r *http.Request) {
	if p.user != "" && r.Header.Get("Proxy-Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte(p.user+":"+p.pw)) {
		p.refused.Add(1)
		w.Header().Set("Proxy-Authenticate", `Basic realm="proxy"`)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	p.relayed.Add(1)
	if r.Method == http.MethodConnect {
		p.tunnel(w, r)
		return
	}
	if !r.URL.IsAbs() {
		http.Error(w, "not a proxy request", http.StatusBadRequest)
		return
	}
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

func (p *HTTPProxy) tunnel(w http.ResponseWriter, r *http.Request) {
	upstream, err := net.Dial("tcp", r.Host)
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
