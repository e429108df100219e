package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// Resolve returns the digest a reference names. A digest reference
// (including repo:tag@digest) is returned as is with zero requests; a tag
// costs one HEAD of the manifest (a GET only if the registry does not allow
// HEAD or answers it without a digest), plus the registry ping the first
// time the client sees the repository. The result is repo@digest; for a
// multi-arch image it is the index digest, as a pull by tag would use.
func (c *Client) Resolve(ctx context.Context, ref name.Reference) (name.Digest, error) {
	if d, ok := ref.(name.Digest); ok {
		return d, nil
	}
	if c.pullerErr != nil {
		return name.Digest{}, fmt.Errorf("resolving %s: %w", ref, c.pullerErr)
	}
	desc, err := c.puller.Head(ctx, ref)
	if err != nil && headUnusable(err) {
		var got *remoteDescriptor
		got, err = c.getDescriptor(ctx, ref)
		if err == nil {
			desc = &got.Descriptor
		}
	}
	if err != nil {
		return name.Digest{}, classify("resolving", ref.String(), err)
	}
	// desc.Digest was parsed by v1.NewHash, so it is a valid identifier.
	return ref.Context().Digest(desc.Digest.String()), nil
}

// headUnusable says whether a failed HEAD is worth one GET: the registry
// does not allow HEAD, or answered it without the headers a HEAD must
// carry. Network failures, timeouts and statuses such as 404 or 503 would
// fail a GET the same way and are not retried.
func headUnusable(err error) bool {
	var te *transport.Error
	if errors.As(err, &te) {
		return te.StatusCode == http.StatusMethodNotAllowed || te.StatusCode == http.StatusNotImplemented
	}
	return !IsTransient(err) && !errorsIsAny(err, permanent...)
}

// remoteDescriptor is what a manifest GET returns.
type remoteDescriptor struct {
	v1.Descriptor
	Manifest []byte
}

func (c *Client) getDescriptor(ctx context.Context, ref name.Reference) (*remoteDescriptor, error) {
	d, err := c.puller.Get(ctx, ref)
	if err != nil {
		return nil, err
	}
	return &remoteDescriptor{Descriptor: d.Descriptor, Manifest: d.Manifest}, nil
}
