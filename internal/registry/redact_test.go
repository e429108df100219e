package registry_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

// A registry (or a proxy in front of it) that quotes the Authorization
// header in its error body must not get the pull credentials into the
// errors the client returns: they end up in denial messages and logs.
func TestErrorsNeverCarryTheCredentialsSent(t *testing.T) {
	t.Parallel()
	const user, password = "robot", "echoed-Passw0rd-9d2"
	var armed atomic.Bool
	reg := testenv.NewRegistry(t, testenv.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			switch {
			case !armed.Load():
				next.ServeHTTP(w, r)
				return
			case !ok: // ask for the credentials, as a private registry does
				w.Header().Set("WWW-Authenticate", `Basic realm="private"`)
				status(http.StatusUnauthorized, `{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`)(w, r)
				return
			case r.Method != http.MethodGet:
				next.ServeHTTP(w, r)
				return
			}
			msg, _ := json.Marshal(fmt.Sprintf("refused %s (user %s, password %s)", r.Header.Get("Authorization"), u, p))
			status(http.StatusForbidden, fmt.Sprintf(`{"errors":[{"code":"DENIED","message":%s}]}`, msg))(w, r)
		})
	}))
	d := reg.PushImage(t, "app", "v1")
	armed.Store(true)
	c := newClient(t, registry.Options{AllowInsecure: true, Keychain: mustKeychain(t, dockerConfig(reg.Host(), user, password))})

	probeErr := c.Probe(t.Context(), d, nil)
	_, getErr := remote.Get(d, c.RemoteOptions(t.Context())...)
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	for _, err := range []error{probeErr, getErr} {
		if err == nil || !strings.Contains(err.Error(), "refused Basic [redacted] (user robot, password [redacted])") {
			t.Fatalf("err = %v, want the registry's refusal with the credentials redacted", err)
		}
		for _, secret := range []string{password, basic} {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error carries the credentials: %v", err)
			}
		}
	}
}
