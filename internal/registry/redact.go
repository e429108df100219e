package registry

import (
	"bytes"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
)

// credentials returns what a request's Authorization header gives away:
// its token and, for basic auth, the decoded user:password and password.
func credentials(req *http.Request) []string {
	scheme, token, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || token == "" {
		return nil
	}
	out := []string{token}
	if strings.EqualFold(scheme, "Basic") {
		if raw, err := base64.StdEncoding.DecodeString(token); err == nil {
			out = append(out, string(raw))
			if _, password, ok := strings.Cut(string(raw), ":"); ok && password != "" {
				out = append(out, password)
			}
		}
	}
	return out
}

// redactedBody serves an error body with the request's credentials blanked
// out: a registry or proxy that quotes the Authorization header in its
// error would otherwise hand the pull secret to whoever reads the error (a
// denied Pod's author, the audit log). It reads the body, which guard
// bounds to maxErrorBody, whole on first use.
type redactedBody struct {
	rc      io.ReadCloser
	secrets []string
	r       *bytes.Reader
}

func (b *redactedBody) Read(p []byte) (int, error) {
	if b.r == nil {
		raw, err := io.ReadAll(b.rc)
		if err != nil {
			return 0, err
		}
		for _, s := range b.secrets {
			raw = bytes.ReplaceAll(raw, []byte(s), []byte("[redacted]"))
		}
		b.r = bytes.NewReader(raw)
	}
	return b.r.Read(p)
}

func (b *redactedBody) Close() error { return b.rc.Close() }
