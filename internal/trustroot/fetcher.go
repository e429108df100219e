package trustroot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/theupdateframework/go-tuf/v2/metadata"
)

// MaxFileBytes bounds each file read from the TUF mirror (a root,
// timestamp, snapshot or targets metadata file, or the trusted root
// target), below go-tuf's own limits (up to 5 MB for targets). Sigstore's
// public-good files are under 20 KiB each; a mirror serving more is broken
// or hostile.
const MaxFileBytes = 512 << 10

// requestTimeout bounds one request to the mirror.
const requestTimeout = 30 * time.Second

// errOffline refuses every download of an offline update.
var errOffline = errors.New("offline: the TUF repository is not asked")

// fetcher implements go-tuf's fetcher.Fetcher with a context, a bound per
// file and a count of the requests it sends.
type fetcher struct {
	ctx     context.Context
	client  *http.Client
	offline bool
	sent    func() // counts a request
}

func (f *fetcher) DownloadFile(url string, maxLength int64, _ time.Duration) ([]byte, error) {
	if f.offline {
		return nil, errOffline
	}
	if maxLength <= 0 || maxLength > MaxFileBytes {
		maxLength = MaxFileBytes
	}
	ctx, cancel := context.WithTimeout(f.ctx, requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	f.sent()
	res, err := f.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Body.Close() }()
	if res.StatusCode != http.StatusOK {
		// go-tuf reads a 404 on the next root version as "no newer root".
		return nil, &metadata.ErrDownloadHTTP{StatusCode: res.StatusCode, URL: url}
	}
	if res.ContentLength > maxLength {
		return nil, tooLong(url, res.ContentLength, maxLength)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, maxLength+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", url, err)
	}
	if int64(len(data)) > maxLength {
		return nil, tooLong(url, int64(len(data)), maxLength)
	}
	return data, nil
}

func tooLong(url string, n, limit int64) error {
	return &metadata.ErrDownloadLengthMismatch{Msg: fmt.Sprintf(
		"%s: the mirror served %d bytes or more, over the %d bytes allowed for this file (imagegate reads at most %d per TUF file)", url, n, limit, MaxFileBytes)}
}
