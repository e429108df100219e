package githubapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// MaxResponseBytes bounds what is read of any API response: a token answer
// is a few hundred bytes; a server that sends more is refused, not buffered.
const MaxResponseBytes = 64 << 10

// ErrAPI means the GitHub API refused or did not answer as GitHub does.
var ErrAPI = errors.New("GitHub App token request failed")

// Token is an installation access token.
type Token struct {
	Value   string
	Expires time.Time
}

// endpoint is the URL of an API path.
func (a *App) endpoint(path string) string { return a.api.JoinPath(path).String() }

// exchange asks the API for a new installation token: it finds the
// installation by owner when no ID is given (organisation first, then
// user, as Flux does), then creates a token for it.
func (a *App) exchange(ctx context.Context, client *http.Client, now time.Time) (Token, error) {
	bearer, err := a.jwt(now)
	if err != nil {
		return Token{}, err
	}
	id := a.installationID
	if id == 0 {
		if id, err = a.findInstallation(ctx, client, bearer); err != nil {
			return Token{}, err
		}
	}
	var out struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	path := "app/installations/" + strconv.FormatInt(id, 10) + "/access_tokens"
	if err := a.call(ctx, client, http.MethodPost, path, bearer, http.StatusCreated, &out); err != nil {
		return Token{}, err
	}
	if out.Token == "" || out.ExpiresAt.IsZero() {
		return Token{}, fmt.Errorf("%w: %s: the answer has no token or expiry", ErrAPI, a)
	}
	return Token{Value: out.Token, Expires: out.ExpiresAt}, nil
}

func (a *App) findInstallation(ctx context.Context, client *http.Client, bearer string) (int64, error) {
	var errs []error
	for _, path := range []string{"orgs/" + a.owner + "/installation", "users/" + a.owner + "/installation"} {
		var out struct {
			ID int64 `json:"id"`
		}
		err := a.call(ctx, client, http.MethodGet, path, bearer, http.StatusOK, &out)
		if err == nil && out.ID > 0 {
			return out.ID, nil
		}
		if err == nil {
			err = fmt.Errorf("%w: %s: GET %s: no installation id in the answer", ErrAPI, a, path)
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return 0, errors.Join(errs...)
}

// call sends one request and decodes a JSON answer of at most
// MaxResponseBytes.
func (a *App) call(ctx context.Context, client *http.Client, method, path, bearer string, want int, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.endpoint(path), http.NoBody)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrAPI, a, err)
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %s: %s %s: %w", ErrAPI, a, method, path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	switch {
	case err != nil:
		return fmt.Errorf("%w: %s: %s %s: reading the answer: %w", ErrAPI, a, method, path, err)
	case len(body) > MaxResponseBytes:
		return fmt.Errorf("%w: %s: %s %s: the answer is over %d bytes", ErrAPI, a, method, path, MaxResponseBytes)
	case resp.StatusCode != want:
		return fmt.Errorf("%w: %s: %s %s: HTTP %d (check the App ID, installation and private key in the Secret)", ErrAPI, a, method, path, resp.StatusCode)
	}
	if err := json.Unmarshal(body, out); err != nil {
		return fmt.Errorf("%w: %s: %s %s: the answer is not JSON as GitHub's: %w", ErrAPI, a, method, path, err)
	}
	return nil
}

// jwt signs the App's short-lived JWT (RS256; issued 30 s in the past for
// clock drift, valid 2 minutes), as GitHub documents and Flux does.
func (a *App) jwt(now time.Time) (string, error) {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: a.key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		return "", fmt.Errorf("%w: %s: %w", ErrInvalidApp, a, err)
	}
	iat := now.Truncate(time.Second).Add(-30 * time.Second)
	claims := jwt.Claims{
		Issuer:   strconv.FormatInt(a.id, 10),
		IssuedAt: jwt.NewNumericDate(iat),
		Expiry:   jwt.NewNumericDate(iat.Add(2 * time.Minute)),
	}
	return jwt.Signed(signer).Claims(claims).Serialize()
}
