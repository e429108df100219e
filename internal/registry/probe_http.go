package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"strings"
	"sync"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// probeTransport is the authenticated transport of one repository. Probe
// needs raw requests (ranged GETs) that ggcr's Puller does not offer, so it
// authenticates once per repository itself and keeps the result, as the
// Puller does for Resolve and RemoteOptions.
type probeTransport struct {
	once sync.Once
	rt   http.RoundTripper
	err  error
}

func (c *Client) probeClient(ctx context.Context, repo name.Repository) (*http.Client, error) {
	v, _ := c.probes.LoadOrStore(repo.String(), &probeTransport{})
	pt, _ := v.(*probeTransport)
	pt.once.Do(func() {
		auth, err := authn.Resolve(ctx, c.opts.Keychain, repo)
		if err != nil {
			pt.err = fmt.Errorf("looking up credentials for %s: %w", repo, err)
			return
		}
		pt.rt, pt.err = transport.NewWithContext(ctx, repo.Registry, auth, c.transport,
			[]string{repo.Scope(transport.PullScope)})
	})
	if pt.err != nil {
		c.probes.CompareAndDelete(repo.String(), pt) // let the next probe try again
		return nil, pt.err
	}
	return &http.Client{Transport: pt.rt, CheckRedirect: c.checkRedirect}, nil
}

// checkRedirect caps redirects like the transport does and, like ggcr,
// refuses a redirect from one host to a private or loopback IP literal.
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > c.opts.MaxRedirects {
		return fmt.Errorf("%w: %s %s is redirect number %d, the limit is %d",
			ErrTooManyRedirects, req.Method, redactURL(req.URL), len(via), c.opts.MaxRedirects)
	}
	from, to := via[0].URL.Hostname(), req.URL.Hostname()
	if addr, err := netip.ParseAddr(to); err == nil && from != to && internalAddr(addr) {
		return fmt.Errorf("redirect from %s to internal address %s refused", from, to)
	}
	return nil
}

func internalAddr(a netip.Addr) bool {
	return a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsUnspecified()
}

func (p *prober) url(kind, ref string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s/%s", p.repo.Scheme(), p.repo.RegistryStr(), p.repo.RepositoryStr(), kind, ref)
}

func (p *prober) do(ctx context.Context, kind, ref string, header http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.url(kind, ref), nil)
	if err != nil {
		return nil, err
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	return p.hc.Do(req)
}

// fetchManifest GETs a manifest by digest; the transport bounds its size
// and checks its digest.
func (p *prober) fetchManifest(ctx context.Context, digest string) ([]byte, error) {
	accept := make([]string, len(manifestAccept))
	for i, mt := range manifestAccept {
		accept[i] = string(mt)
	}
	resp, err := p.do(ctx, "manifests", digest, http.Header{"Accept": {strings.Join(accept, ",")}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, responseError(resp)
	}
	return io.ReadAll(resp.Body)
}

// config GETs the config blob and checks it against its descriptor. A
// config larger than the manifest limit is only started, like a layer,
// and nil is returned for it.
func (p *prober) config(ctx context.Context, desc v1.Descriptor) ([]byte, error) {
	if desc.Size > p.maxConfig {
		return nil, p.firstByte(ctx, desc)
	}
	resp, err := p.do(ctx, "blobs", desc.Digest.String(), nil)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, responseError(resp)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, desc.Size+1))
	if err != nil {
		return nil, err
	}
	if err := verifyBlob(b, desc); err != nil {
		return nil, fmt.Errorf("config blob %s: %w", p.url("blobs", desc.Digest.String()), err)
	}
	return b, nil
}

func verifyBlob(b []byte, desc v1.Descriptor) error {
	h, size, err := v1.SHA256(bytes.NewReader(b))
	if err != nil {
		return err
	}
	if desc.Digest.Algorithm != "sha256" {
		return nil // nothing else in ggcr's v1 helpers; layers are not checked either
	}
	if h != desc.Digest || size != desc.Size {
		return fmt.Errorf("%w: got %d bytes hashing to %s, the manifest says %d bytes %s",
			ErrDigestMismatch, size, h, desc.Size, desc.Digest)
	}
	return nil
}

// firstByte GETs the first byte of a blob: enough to see the registry
// serve it, without downloading gigabytes of layers.
func (p *prober) firstByte(ctx context.Context, desc v1.Descriptor) error {
	resp, err := p.do(ctx, "blobs", desc.Digest.String(), http.Header{"Range": {"bytes=0-0"}})
	if err != nil {
		return err
	}
	// Closing early drops the connection when the registry ignored Range
	// and sends the whole blob: cheaper than reading it.
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusPartialContent {
		return responseError(resp)
	}
	if desc.Size == 0 {
		return nil
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1)); err != nil {
		return fmt.Errorf("reading the first byte of %s: %w", p.url("blobs", desc.Digest.String()), err)
	}
	return nil
}

// responseError turns a refusal into a *PullError, or into ErrUnavailable
// for statuses worth retrying, with the registry's own message.
func responseError(resp *http.Response) error {
	msg := registryMessage(resp)
	if transientStatus(resp.StatusCode) {
		return fmt.Errorf("%w: %s answered %d: %s", ErrUnavailable, redactURL(resp.Request.URL), resp.StatusCode, msg)
	}
	return newPullError(resp.StatusCode, msg, resp.Request)
}

// registryMessage extracts the distribution-spec error messages of a body
// (Harbor, Quay, ECR all use them), else its text, else the status text.
func registryMessage(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body) // bounded by the transport
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(b, &body) == nil && len(body.Errors) > 0 {
		msgs := make([]string, 0, len(body.Errors))
		for _, e := range body.Errors {
			msgs = append(msgs, diagnosticText(e.Code, e.Message))
		}
		return strings.Join(msgs, "; ")
	}
	if text := strings.TrimSpace(string(b)); text != "" {
		const maxText = 512
		if len(text) > maxText {
			text = text[:maxText] + "..."
		}
		return text
	}
	return http.StatusText(resp.StatusCode)
}

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// errorsIsAny reports whether err matches one of targets.
func errorsIsAny(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
