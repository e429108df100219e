package gitrepo_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/imagegate/imagegate/internal/testenv"
)

// sshGitServer serves the repositories of a testenv.GitServer over SSH on
// 127.0.0.1 by running git upload-pack / receive-pack for each exec request,
// as an SSH git host does. Only gitrepo's SSH tests need it.
type sshGitServer struct {
	addr       string
	knownHosts []byte // a known_hosts line for the server's host key
	hostKey    ssh.PublicKey
	git        *testenv.GitServer
	home       string
}

func newSSHGitServer(t *testing.T, git *testenv.GitServer, authorized ssh.PublicKey) *sshGitServer {
	t.Helper()
	_, hostKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.NewSignerFromKey(hostKey)
	if err != nil {
		t.Fatal(err)
	}
	cfg := &ssh.ServerConfig{
		PublicKeyCallback: func(_ ssh.ConnMetadata, key ssh.PublicKey) (*ssh.Permissions, error) {
			if bytes.Equal(key.Marshal(), authorized.Marshal()) {
				return &ssh.Permissions{}, nil
			}
			return nil, errors.New("key not authorized")
		},
	}
	cfg.AddHostKey(hostSigner)
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &sshGitServer{addr: ln.Addr().String(), git: git, home: t.TempDir(), hostKey: hostSigner.PublicKey()}
	s.knownHosts = []byte(knownhosts.Line([]string{knownhosts.Normalize(s.addr)}, hostSigner.PublicKey()) + "\n")

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serveConn(conn, cfg)
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		wg.Wait()
	})
	return s
}

// URL is the ssh:// clone URL of a repository.
func (s *sshGitServer) URL(repo string) string {
	return "ssh://git@" + s.addr + "/" + repo + ".git"
}

func (s *sshGitServer) serveConn(conn net.Conn, cfg *ssh.ServerConfig) {
	defer func() { _ = conn.Close() }()
	sconn, chans, reqs, err := ssh.NewServerConn(conn, cfg)
	if err != nil {
		return
	}
	defer func() { _ = sconn.Close() }()
	go ssh.DiscardRequests(reqs)
	var wg sync.WaitGroup
	for newCh := range chans {
		if newCh.ChannelType() != "session" {
			_ = newCh.Reject(ssh.UnknownChannelType, "only sessions")
			continue
		}
		ch, chReqs, err := newCh.Accept()
		if err != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.serveSession(ch, chReqs)
		}()
	}
	wg.Wait()
}

func (s *sshGitServer) serveSession(ch ssh.Channel, reqs <-chan *ssh.Request) {
	defer func() { _ = ch.Close() }()
	for req := range reqs {
		if req.Type != "exec" {
			_ = req.Reply(req.Type == "env", nil)
			continue
		}
		var payload struct{ Command string }
		if err := ssh.Unmarshal(req.Payload, &payload); err != nil {
			_ = req.Reply(false, nil)
			return
		}
		cmd, ok := s.gitCommand(payload.Command)
		_ = req.Reply(ok, nil)
		if !ok {
			return
		}
		code := runOnChannel(cmd, ch)
		_, _ = ch.SendRequest("exit-status", false, ssh.Marshal(struct{ Status uint32 }{code}))
		return
	}
}

// gitCommand maps "git-upload-pack '/fleet.git'" to the git command run on
// the repository's bare directory.
func (s *sshGitServer) gitCommand(command string) (*exec.Cmd, bool) {
	service, path, found := strings.Cut(command, " ")
	if !found || (service != "git-upload-pack" && service != "git-receive-pack") {
		return nil, false
	}
	name := strings.TrimSuffix(strings.TrimPrefix(strings.Trim(path, "'\""), "/"), ".git")
	cmd := exec.Command("git", strings.TrimPrefix(service, "git-"), s.git.RepoDir(name))
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + s.home, "GIT_CONFIG_NOSYSTEM=1"}
	return cmd, true
}

// runOnChannel runs cmd with its standard streams on the channel. Stdin is
// copied by hand: exec's own copy would wait for the client to close its
// side, which it does only after seeing the exit status.
func runOnChannel(cmd *exec.Cmd, ch ssh.Channel) uint32 {
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return 1
	}
	cmd.Stdout, cmd.Stderr = ch, ch.Stderr()
	if err := cmd.Start(); err != nil {
		return 1
	}
	go func() {
		_, _ = io.Copy(stdin, ch)
		_ = stdin.Close()
	}()
	if err := cmd.Wait(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return uint32(exit.ExitCode()) //nolint:gosec // exit codes are 0..255
		}
		return 1
	}
	return 0
}
