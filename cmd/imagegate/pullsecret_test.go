package main

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/testenv"
)

func TestPullSecretFlagGivesRegistryCredentials(t *testing.T) {
	t.Parallel()
	reg := testenv.NewRegistry(t, testenv.WithMiddleware(func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if u, p, ok := r.BasicAuth(); !ok || u != "puller" || p != "s3cret" {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "unauthorized", http.StatusUnauthorized)
				return
			}
			next.ServeHTTP(w, r)
		})
	}))
	reg.PushImage(t, "app", "v1")
	cp := testenv.StartControlPlane(t)
	ctx := context.Background()
	auth := base64.StdEncoding.EncodeToString([]byte("puller:s3cret"))
	secret := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "regcred"},
		Type:       corev1.SecretTypeDockerConfigJson,
		Data:       map[string][]byte{corev1.DockerConfigJsonKey: []byte(`{"auths":{"` + reg.Host() + `":{"auth":"` + auth + `"}}}`)},
	}
	if err := cp.Client.Create(ctx, secret); err != nil {
		t.Fatal(err)
	}

	resolve := func(f commonFlags) error {
		kc, err := f.keychain(ctx, cp.Config)
		if err != nil {
			return err
		}
		f.allowInsecure = true
		c, _ := f.checker(kc)
		ref, err := c.ParseReference(reg.Repo("app") + ":v1")
		if err != nil {
			return err
		}
		_, err = c.Resolve(ctx, ref)
		return err
	}
	if err := resolve(commonFlags{pullSecrets: stringList{"default/regcred"}}); err != nil {
		t.Fatalf("with --pull-secret: %v", err)
	}
	if err := resolve(commonFlags{}); !errors.Is(err, registry.ErrNotPullable) {
		t.Fatalf("without credentials: err = %v, want a refusal", err)
	}
	if err := resolve(commonFlags{pullSecrets: stringList{"default/missing"}}); err == nil {
		t.Fatal("a missing pull secret was ignored")
	}
	if err := resolve(commonFlags{pullSecrets: stringList{"no-slash"}}); err == nil {
		t.Fatal("a malformed --pull-secret was accepted")
	}
}
