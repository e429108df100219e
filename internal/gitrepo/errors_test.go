package gitrepo_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/testenv"
)

func noChange(context.Context, string) (string, bool, error) { return "", false, nil }

func TestUpdateAuth(t *testing.T) {
	t.Parallel()
	srv := testenv.NewGitServer(t, testenv.WithBasicAuth("bot", "s3cret"))
	url := srv.CreateRepo(t, "fleet", nil)
	hostURL := strings.Replace(url, "http://", "http://bot:s3cret@", 1)
	wrongURL := strings.Replace(url, "http://", "http://bot:hunter2@", 1)

	for _, tc := range []struct {
		name    string
		url     string
		auth    gitrepo.Auth
		wantErr error
	}{
		{"no credentials", url, gitrepo.Auth{}, gitrepo.ErrAuth},
		{"wrong password", url, gitrepo.Auth{Username: "bot", Password: "hunter2"}, gitrepo.ErrAuth},
		{"wrong password in URL", wrongURL, gitrepo.Auth{}, gitrepo.ErrAuth},
		{"bearer token the server does not take", url, gitrepo.Auth{BearerToken: "hunter2"}, gitrepo.ErrAuth},
		{"right password", url, gitrepo.Auth{Username: "bot", Password: "s3cret"}, nil},
		{"right password in URL", hostURL, gitrepo.Auth{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := gitrepo.Config{URL: tc.url, Auth: tc.auth, Checkout: gitrepo.BranchRef("main"), Author: author}
			_, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{tc.name: "x"}, tc.name))
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("Update err = %v, want %v", err, tc.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("error message leaks the password: %v", err)
			}
		})
	}
}

func TestUpdateRemoteErrors(t *testing.T) {
	t.Parallel()
	srv, cfg := newRepo(t)

	closed, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String() + "/fleet.git"
	if err := closed.Close(); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name    string
		mutate  func(*gitrepo.Config)
		wantErr error
	}{
		{"unknown branch", func(c *gitrepo.Config) { c.Checkout = gitrepo.BranchRef("no-such-branch") }, gitrepo.ErrBranchNotFound},
		{"unknown repository", func(c *gitrepo.Config) { c.URL = srv.URL() + "/nope.git" }, gitrepo.ErrRepositoryNotFound},
		{"closed port", func(c *gitrepo.Config) { c.URL = closedURL }, gitrepo.ErrUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := cfg
			tc.mutate(&c)
			calls := 0
			_, err := gitrepo.Update(context.Background(), c, func(context.Context, string) (string, bool, error) {
				calls++
				return "x", true, nil
			})
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Update err = %v, want %v", err, tc.wantErr)
			}
			if calls != 0 {
				t.Fatalf("change ran %d times although the remote failed", calls)
			}
		})
	}
}

func TestUpdateHungServerHitsDeadline(t *testing.T) {
	t.Parallel()
	hung := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	}))
	t.Cleanup(hung.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()

	_, err := gitrepo.Update(ctx, gitrepo.Config{URL: hung.URL + "/fleet.git", Checkout: gitrepo.BranchRef("main"), Author: author}, noChange)
	if !errors.Is(err, gitrepo.ErrUnreachable) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Update err = %v, want ErrUnreachable wrapping context.DeadlineExceeded", err)
	}
}

func TestUpdateCanceledContext(t *testing.T) {
	t.Parallel()
	srv, cfg := newRepo(t)
	ctx, cancel := context.WithCancel(context.Background())
	before := srv.Log(t, "fleet", "main")
	// The change cancels the context: nothing may be pushed after that.
	_, err := gitrepo.Update(ctx, cfg, func(ctx context.Context, dir string) (string, bool, error) {
		cancel()
		return writeFiles(map[string]string{"a": "a"}, "canceled")(ctx, dir)
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Update err = %v, want context.Canceled", err)
	}
	if after := srv.Log(t, "fleet", "main"); !equalStrings(before, after) {
		t.Fatalf("server log changed after cancellation: %q -> %q", before, after)
	}
}

func TestUpdateInvalidConfig(t *testing.T) {
	t.Parallel()
	_, valid := newRepo(t)
	sshURL := "ssh://git@127.0.0.1:1/fleet.git"
	for _, tc := range []struct {
		name   string
		mutate func(*gitrepo.Config)
	}{
		{"no URL", func(c *gitrepo.Config) { c.URL = "" }},
		{"no checkout branch", func(c *gitrepo.Config) { c.Checkout = gitrepo.Ref{} }},
		{"no author email", func(c *gitrepo.Config) { c.Author.Email = "" }},
		{"invalid branch name", func(c *gitrepo.Config) { c.PushBranch = "a..b" }},
		{"force refspec", func(c *gitrepo.Config) { c.PushRefspec = "+HEAD:refs/heads/x" }},
		{"deletion refspec", func(c *gitrepo.Config) { c.PushRefspec = ":refs/heads/x" }},
		{"refspec without destination", func(c *gitrepo.Config) { c.PushRefspec = "HEAD" }},
		{"wildcard refspec", func(c *gitrepo.Config) { c.PushRefspec = "refs/heads/*:refs/heads/*" }},
		{"refspec from another branch", func(c *gitrepo.Config) { c.PushRefspec = "other:refs/heads/x" }},
		{"password without username", func(c *gitrepo.Config) { c.Auth = gitrepo.Auth{Password: "p"} }},
		{"unsupported scheme", func(c *gitrepo.Config) { c.URL = "ftp://127.0.0.1/fleet.git" }},
		{"local path", func(c *gitrepo.Config) { c.URL = "/var/lib/repo.git" }},
		{"file URL", func(c *gitrepo.Config) { c.URL = "file:///var/lib/repo.git" }},
		{"ssh without identity", func(c *gitrepo.Config) { c.URL = sshURL; c.Auth = gitrepo.Auth{KnownHosts: []byte("x")} }},
		{"ssh without known_hosts", func(c *gitrepo.Config) { c.URL = sshURL; c.Auth = gitrepo.Auth{SSHPrivateKey: []byte("x")} }},
		{"ssh with garbage identity", func(c *gitrepo.Config) {
			c.URL = sshURL
			c.Auth = gitrepo.Auth{SSHPrivateKey: []byte("x"), KnownHosts: []byte("x")}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := valid
			tc.mutate(&c)
			_, err := gitrepo.Update(context.Background(), c, noChange)
			if !errors.Is(err, gitrepo.ErrInvalidConfig) {
				t.Fatalf("Update err = %v, want ErrInvalidConfig", err)
			}
		})
	}
	t.Run("nil change", func(t *testing.T) {
		t.Parallel()
		if _, err := gitrepo.Update(context.Background(), valid, nil); !errors.Is(err, gitrepo.ErrInvalidConfig) {
			t.Fatalf("Update err = %v, want ErrInvalidConfig", err)
		}
	})
	t.Run("empty message", func(t *testing.T) {
		t.Parallel()
		_, err := gitrepo.Update(context.Background(), valid, func(context.Context, string) (string, bool, error) { return "", true, nil })
		if !errors.Is(err, gitrepo.ErrInvalidConfig) {
			t.Fatalf("Update err = %v, want ErrInvalidConfig", err)
		}
	})
}

func TestUpdateUnparsableURLIsNotEchoed(t *testing.T) {
	t.Parallel()
	cfg := gitrepo.Config{URL: "https://bot:hunter2@git.example:port/x.git", Checkout: gitrepo.BranchRef("main"), Author: author}
	_, err := gitrepo.Update(context.Background(), cfg, noChange)
	if !errors.Is(err, gitrepo.ErrInvalidConfig) || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("Update err = %v, want ErrInvalidConfig without the password", err)
	}
}
