package gitrepo_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/testenv"
)

// TestGitFaultsLeaveNoGoroutines runs Update into each Git fault the
// package handles and checks that every goroutine it started (go-git's
// transport, HTTP connections, the fixture's servers) is gone once the
// servers are closed: a process that retries forever must not grow.
// (Server gone mid-push is checked in TestUpdateServerGoneMidPush.)
//
// Not parallel: it compares the process's goroutines.
func TestGitFaultsLeaveNoGoroutines(t *testing.T) {
	warmUpGit(t)
	for _, tc := range []struct {
		name string
		want error
		run  func(t *testing.T) error
	}{
		{"push rejected by a hook", gitrepo.ErrPushRejected, func(t *testing.T) error {
			srv, cfg := newRepo(t)
			srv.SetPreReceiveHook(t, "fleet", "#!/bin/sh\necho protected >&2\nexit 1\n")
			_, err := gitrepo.Update(context.Background(), cfg, writeFiles(map[string]string{"a": "a"}, "ours"))
			return err
		}},
		{"authentication refused", gitrepo.ErrAuth, func(t *testing.T) error {
			_, cfg := newRepo(t, testenv.WithBasicAuth("bot", "s3cret"))
			cfg.Auth = gitrepo.Auth{Username: "bot", Password: "wrong"}
			_, err := gitrepo.Update(context.Background(), cfg, noChange)
			return err
		}},
		{"connection refused", gitrepo.ErrUnreachable, func(t *testing.T) error {
			l, err := net.Listen("tcp4", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			url := "http://" + l.Addr().String() + "/fleet.git"
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			_, err = gitrepo.Update(context.Background(), gitrepo.Config{URL: url, Checkout: gitrepo.BranchRef("main"), Author: author}, noChange)
			return err
		}},
		{"server hangs until the deadline", gitrepo.ErrUnreachable, func(t *testing.T) error {
			hung := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
			t.Cleanup(hung.Close)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := gitrepo.Update(ctx, gitrepo.Config{URL: hung.URL + "/fleet.git", Checkout: gitrepo.BranchRef("main"), Author: author}, noChange)
			return err
		}},
		{"every push loses the race", gitrepo.ErrNonFastForward, func(t *testing.T) error {
			srv, cfg := newRepo(t)
			cfg.MaxAttempts = 2
			n := 0
			_, err := gitrepo.Update(context.Background(), cfg, func(ctx context.Context, dir string) (string, bool, error) {
				n++
				srv.PushCommit(t, "fleet", "main", map[string]string{"race.txt": string(rune('a' + n))}, "theirs")
				return writeFiles(map[string]string{"ours.txt": "ours"}, "ours")(ctx, dir)
			})
			return err
		}},
		{"caller cancels during the change", context.Canceled, func(t *testing.T) error {
			_, cfg := newRepo(t)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			_, err := gitrepo.Update(ctx, cfg, func(ctx context.Context, dir string) (string, bool, error) {
				cancel()
				return writeFiles(map[string]string{"a": "a"}, "canceled")(ctx, dir)
			})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			testenv.CheckGoroutines(t)
			if err := tc.run(t); !errors.Is(err, tc.want) {
				t.Fatalf("Update err = %v, want %v", err, tc.want)
			}
		})
	}
}
