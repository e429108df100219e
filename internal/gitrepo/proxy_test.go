package gitrepo_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestUpdateGoesThroughTheProxy: with a proxy Secret, every request of an
// update (list, clone, push) is carried by the proxy, over http and over
// https (CONNECT); wrong proxy credentials push nothing and are not echoed.
func TestUpdateGoesThroughTheProxy(t *testing.T) {
	t.Parallel()
	for _, tls := range []bool{false, true} {
		var opts []testenv.GitServerOption
		if tls {
			opts = append(opts, testenv.WithTLS())
		}
		srv, cfg := newRepo(t, opts...)
		if tls {
			cfg.Auth.CAFile = srv.CACert()
		}
		proxy := testenv.NewProxy(t, "egress", "proxy-Passw0rd")

		cfg.Proxy = mustProxy(t, map[string][]byte{"address": []byte(proxy.Address()), "username": []byte("egress"), "password": []byte("wrong-pw")})
		before := srv.Requests()
		res, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a.yaml": "v1"}, "refused"))
		if err == nil || res.Pushed || proxy.Refused() == 0 {
			t.Fatalf("tls=%v: wrong proxy credentials: Update = %+v, %v (refused %d)", tls, res, err, proxy.Refused())
		}
		if strings.Contains(err.Error(), "wrong-pw") {
			t.Fatalf("tls=%v: the error carries the proxy password: %v", tls, err)
		}
		if srv.Requests() != before {
			t.Fatalf("tls=%v: %d requests reached the server past a refusing proxy", tls, srv.Requests()-before)
		}

		cfg.Proxy = mustProxy(t, map[string][]byte{"address": []byte(proxy.Address()), "username": []byte("egress"), "password": []byte("proxy-Passw0rd")})
		res, err = gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a.yaml": "v1"}, "via proxy"))
		if err != nil || !res.Pushed {
			t.Fatalf("tls=%v: Update through the proxy = %+v, %v", tls, res, err)
		}
		if proxy.Forwarded()+proxy.Tunnels() == 0 {
			t.Fatalf("tls=%v: the proxy carried nothing", tls)
		}
		if got := subjects(srv.Log(t, "fleet", "main")); got[0] != "via proxy" {
			t.Fatalf("tls=%v: main = %q", tls, got)
		}
	}
}

// TestProxySecretsThatCannotWork: a missing or malformed address, and an SSH
// remote with a proxy, are ErrInvalidConfig before any connection.
func TestProxySecretsThatCannotWork(t *testing.T) {
	t.Parallel()
	for name, data := range map[string]map[string][]byte{
		"no address":     {"username": []byte("u")},
		"no scheme":      {"address": []byte("proxy.example:3128")},
		"unknown scheme": {"address": []byte("ftp://proxy.example")},
		"no host":        {"address": []byte("http://")},
		"unparsable":     {"address": []byte("http://[::1")},
	} {
		if _, err := gitrepo.ProxyFromSecretData(data); !errors.Is(err, gitrepo.ErrInvalidConfig) {
			t.Errorf("%s: err = %v, want ErrInvalidConfig", name, err)
		}
	}
	p := mustProxy(t, map[string][]byte{"address": []byte("http://u:inline-Secret@proxy.example:3128")})
	if p.Username != "u" || p.Password != "inline-Secret" || strings.Contains(p.String(), "inline-Secret") {
		t.Errorf("credentials in the address: %+v, String %q", p, p)
	}
	cfg := gitrepo.Config{URL: "ssh://git@127.0.0.1:1/fleet.git", Checkout: gitrepo.BranchRef("main"), Author: author, Proxy: p}
	if _, err := gitrepo.Update(context.Background(), cfg, writeFiles(nil, "x")); !errors.Is(err, gitrepo.ErrInvalidConfig) || !strings.Contains(err.Error(), "HTTP(S) remotes only") {
		t.Errorf("ssh with a proxy: err = %v, want ErrInvalidConfig", err)
	}
}

func mustProxy(t *testing.T, data map[string][]byte) *gitrepo.Proxy {
	t.Helper()
	p, err := gitrepo.ProxyFromSecretData(data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
