package credentials

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestUnusableSecretsNameTheSecretNotTheirContent: a proxy address that
// does not parse may carry user info, and Flux's reader quotes it; a
// pull secret of another type may hold anything. The errors name the key
// (and the caller the Secret), never a byte of the value.
func TestUnusableSecretsNameTheSecretNotTheirContent(t *testing.T) {
	t.Parallel()
	const password = "proxy-Passw0rd-in-the-address"
	meta := metav1.ObjectMeta{Namespace: "apps", Name: "proxy"}
	for _, tc := range []struct {
		name string
		data map[string][]byte
		want string
	}{
		{"address that is not a URL", map[string][]byte{"address": []byte("ftp://user:" + password + "@proxy.example:21")}, `"address" is not an http, https or socks5 URL`},
		{"address that does not parse", map[string][]byte{"address": []byte("http://user:" + password + "@[::1")}, `"address" is not an http, https or socks5 URL`},
		{"no address", map[string][]byte{"password": []byte(password)}, `no "address" key`},
	} {
		_, err := proxyURL(context.Background(), &corev1.Secret{ObjectMeta: meta, Data: tc.data})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("%s: the error quotes the password: %v", tc.name, err)
		}
	}

	opaque := &corev1.Secret{ObjectMeta: meta, Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"token": []byte(password)}}
	_, err := dockerConfig(opaque, "imagePullSecrets")
	if !errors.Is(err, ErrInvalid) || strings.Contains(err.Error(), password) || !strings.Contains(err.Error(), "has no .dockerconfigjson key") {
		t.Errorf("a pull secret without .dockerconfigjson: %v", err)
	}
}
