package gitrepo_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/imagegate/imagegate/internal/gitrepo"
	"github.com/imagegate/imagegate/internal/testenv"
)

// testTimeout is the per-operation timeout of the deadline tests: small,
// so that each case ends in about a second.
const testTimeout = time.Second

// stalledOp is a Git server fault: which operation of Update meets a
// server that stops answering, and the change Update is given (fetch is
// reached only after a push lost a race).
type stalledOp struct {
	op     string
	change func(srv *testenv.GitServer, t *testing.T) gitrepo.Change
}

func pushOurs(*testenv.GitServer, *testing.T) gitrepo.Change {
	return writeFiles(map[string]string{"ours.yaml": "ours"}, "ours")
}

// loseFirstRace pushes someone else's commit during the first attempt, so
// that the push is refused and the second attempt fetches the new tip.
func loseFirstRace(srv *testenv.GitServer, t *testing.T) gitrepo.Change {
	n := 0
	return func(ctx context.Context, dir string) (string, bool, error) {
		n++
		if n == 1 {
			srv.PushCommit(t, "fleet", "main", map[string]string{"theirs.yaml": "theirs"}, "theirs")
		}
		return pushOurs(srv, t)(ctx, dir)
	}
}

// TestOperationsTimeOutOverHTTP runs Update against HTTP servers that
// accept the connection and then never answer (or stop mid-answer) at
// each of its network operations. Each must end with ErrTimeout (a
// transient ErrUnreachable) naming the operation and the timeout, the
// stall must have happened exactly once, and no goroutine may be left
// waiting on the server: the check runs while the servers are still up.
//
// Not parallel: it compares the process's goroutines.
func TestOperationsTimeOutOverHTTP(t *testing.T) {
	warmUpGit(t)
	for _, tc := range []struct {
		stalledOp
		stall testenv.HTTPStall
	}{
		{stalledOp{"clone", pushOurs}, testenv.HTTPStall{Request: "POST /fleet.git/git-upload-pack", Nth: 1, AfterBytes: -1}},
		{stalledOp{"clone", pushOurs}, testenv.HTTPStall{Request: "POST /fleet.git/git-upload-pack", Nth: 1, AfterBytes: 64}},
		{stalledOp{"fetch", loseFirstRace}, testenv.HTTPStall{Request: "POST /fleet.git/git-upload-pack", Nth: 2, AfterBytes: 64}},
		{stalledOp{"push", pushOurs}, testenv.HTTPStall{Request: "POST /fleet.git/git-receive-pack", Nth: 1, AfterBytes: -1}},
	} {
		mode := "no answer"
		if tc.stall.AfterBytes >= 0 {
			mode = "stalls mid-answer"
		}
		t.Run(tc.op+" "+mode, func(t *testing.T) {
			srv := testenv.NewGitServer(t)
			srv.CreateRepo(t, "fleet", nil)
			proxy := testenv.NewStallingProxy(t, srv.URL(), tc.stall)
			checkGoroutinesWhileServing(t)
			cfg := gitrepo.Config{URL: proxy.URL() + "/fleet.git", Checkout: gitrepo.BranchRef("main"), Author: author, Timeout: testTimeout}
			_, err := gitrepo.Update(context.Background(), cfg, tc.change(srv, t))
			assertTimedOut(t, err, tc.op)
			if got := proxy.Stalled(); got != 1 {
				t.Errorf("%d requests stalled, want 1", got)
			}
		})
	}
	t.Run("list: the server accepts and never answers", func(t *testing.T) {
		pit := testenv.NewTarpit(t, "", nil)
		checkGoroutinesWhileServing(t)
		cfg := gitrepo.Config{URL: "http://" + pit.Addr() + "/fleet.git", Checkout: gitrepo.BranchRef("main"), Author: author, Timeout: testTimeout}
		_, err := gitrepo.Update(context.Background(), cfg, noChange)
		assertTimedOut(t, err, "list")
	})
}

// TestOperationsTimeOutOverSSH does the same over SSH, where go-git ties
// neither the handshake nor any read to a context: the tarpit forwards
// the connections before the stalled one to a real SSH Git server and
// accepts that one without ever sending a byte.
//
// Not parallel: it compares the process's goroutines.
func TestOperationsTimeOutOverSSH(t *testing.T) {
	warmUpGit(t)
	_, clientKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	clientPub, err := ssh.NewPublicKey(clientKey.Public())
	if err != nil {
		t.Fatal(err)
	}
	identity, _ := sshKeyPEM(t, clientKey, "")
	// Update opens one SSH connection per operation: list, clone, push;
	// after a lost race: list (did the push land?), list, fetch. A stalled
	// connection gets no answer at all, or the first bytes of it: 1,000
	// stop inside the SSH handshake, 64 KiB inside the pack of the
	// repository's 256 KiB of incompressible data.
	blob := make([]byte, 256<<10)
	if _, err := rand.Read(blob); err != nil {
		t.Fatal(err)
	}
	seed := fstest.MapFS{"blob.bin": &fstest.MapFile{Data: blob}}
	for _, tc := range []struct {
		stalledOp
		conn, after int
	}{
		{stalledOp{"list", pushOurs}, 1, 0},
		{stalledOp{"clone", pushOurs}, 2, 0},
		{stalledOp{"clone", pushOurs}, 2, 1000},
		{stalledOp{"clone", pushOurs}, 2, 64 << 10},
		{stalledOp{"push", pushOurs}, 3, 0},
		{stalledOp{"fetch", loseFirstRace}, 6, 0},
	} {
		t.Run(fmt.Sprintf("%s after %d bytes", tc.op, tc.after), func(t *testing.T) {
			srv := testenv.NewGitServer(t)
			srv.CreateRepo(t, "fleet", seed)
			sshd := newSSHGitServer(t, srv, clientPub)
			pit := testenv.NewTarpit(t, sshd.addr, func(n int) int {
				if n == tc.conn {
					return tc.after
				}
				return testenv.Forward
			})
			checkGoroutinesWhileServing(t)
			auth := gitrepo.Auth{
				SSHPrivateKey: identity,
				KnownHosts:    []byte(knownhosts.Line([]string{knownhosts.Normalize(pit.Addr())}, sshd.hostKey) + "\n"),
			}
			cfg := gitrepo.Config{URL: "ssh://git@" + pit.Addr() + "/fleet.git", Auth: auth, Checkout: gitrepo.BranchRef("main"), Author: author, Timeout: testTimeout}
			_, err := gitrepo.Update(context.Background(), cfg, tc.change(srv, t))
			assertTimedOut(t, err, tc.op)
			if got := pit.Stalled(); got != 1 {
				t.Errorf("%d connections stalled, want 1", got)
			}
		})
	}
}

// checkGoroutinesWhileServing registers a goroutine check that runs
// before the servers started so far are closed, so a goroutine still
// blocked on one of them is reported rather than released by the close.
// The client's idle keep-alive connections are closed first: a pool is
// not a leak.
func checkGoroutinesWhileServing(t *testing.T) {
	t.Helper()
	testenv.CheckGoroutines(t)
	t.Cleanup(func() {
		if tr, ok := http.DefaultTransport.(*http.Transport); ok {
			tr.CloseIdleConnections()
		}
	})
}

func assertTimedOut(t *testing.T, err error, op string) {
	t.Helper()
	if !errors.Is(err, gitrepo.ErrTimeout) || !errors.Is(err, gitrepo.ErrUnreachable) {
		t.Fatalf("Update err = %v, want ErrTimeout (transient: ErrUnreachable)", err)
	}
	var gerr *gitrepo.Error
	if !errors.As(err, &gerr) || gerr.Op != op {
		t.Fatalf("Update err = %v, want a git %s error", err, op)
	}
	if want := "within the " + testTimeout.String() + " timeout"; !strings.Contains(err.Error(), want) {
		t.Errorf("Update err = %q, want it to say %q", err, want)
	}
}
