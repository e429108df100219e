package githubapp

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// DefaultMaxApps bounds the Apps whose tokens are kept: one entry per
// distinct App, installation and key, a few hundred bytes each.
const DefaultMaxApps = 1000

// refreshBefore is how long before its expiry a token is replaced, so that
// a Git operation never starts with a token about to lapse (GitHub's last
// an hour).
const refreshBefore = 5 * time.Minute

// Tokens caches installation tokens per App until shortly before they
// expire, for at most MaxApps Apps; when full, the token closest to expiry
// is dropped. Callers asking for one App at once share one exchange. The
// zero value is ready to use.
type Tokens struct {
	MaxApps int              // default DefaultMaxApps
	Now     func() time.Time // default time.Now

	mu       sync.Mutex
	tokens   map[string]Token
	inflight map[string]*exchange
}

type exchange struct {
	done  chan struct{}
	token Token
	err   error
}

// Token returns a token for app valid for at least refreshBefore, from the
// cache or from the API through client.
func (t *Tokens) Token(ctx context.Context, app *App, client *http.Client) (Token, error) {
	now := t.now()
	t.mu.Lock()
	if tok, ok := t.tokens[app.fingerprint]; ok && now.Before(tok.Expires.Add(-refreshBefore)) {
		t.mu.Unlock()
		return tok, nil
	}
	if x, ok := t.inflight[app.fingerprint]; ok {
		t.mu.Unlock()
		select {
		case <-x.done:
			return x.token, x.err
		case <-ctx.Done():
			return Token{}, ctx.Err()
		}
	}
	x := &exchange{done: make(chan struct{})}
	if t.inflight == nil {
		t.inflight = map[string]*exchange{}
	}
	t.inflight[app.fingerprint] = x
	t.mu.Unlock()

	x.token, x.err = app.exchange(ctx, client, now)

	t.mu.Lock()
	delete(t.inflight, app.fingerprint)
	if x.err == nil {
		t.store(app.fingerprint, x.token)
	}
	t.mu.Unlock()
	close(x.done)
	return x.token, x.err
}

// store keeps tok, dropping the entry closest to expiry when full. Called
// with mu held.
func (t *Tokens) store(key string, tok Token) {
	if t.tokens == nil {
		t.tokens = map[string]Token{}
	}
	if _, ok := t.tokens[key]; !ok && len(t.tokens) >= t.maxApps() {
		var oldest string
		for k, v := range t.tokens {
			if oldest == "" || v.Expires.Before(t.tokens[oldest].Expires) {
				oldest = k
			}
		}
		delete(t.tokens, oldest)
	}
	t.tokens[key] = tok
}

// Len is the number of Apps with a cached token.
func (t *Tokens) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.tokens)
}

func (t *Tokens) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

func (t *Tokens) maxApps() int {
	if t.MaxApps > 0 {
		return t.MaxApps
	}
	return DefaultMaxApps
}
