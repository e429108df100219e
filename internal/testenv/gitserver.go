package testenv

import (
	"bufio"
	"bytes"
	"crypto/subtle"
	"encoding/pem"
	"errors"
	"io"
	"io/fs"
	"log"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"testing/fstest"
)

// Identity of the commits the fixture makes itself (initial commits and
// PushCommit), so tests can tell them apart from the commits under test.
const (
	GitServerAuthorName  = "Fixture Author"
	GitServerAuthorEmail = "fixture@example.test"
)

// GitServer is a smart-HTTP git server on 127.0.0.1 backed by the real
// `git http-backend`, so clients under test meet the same protocol, hooks and
// error reports as on a production server. Push is enabled for every repo.
type GitServer struct {
	root     string // holds the bare repositories NAME.git
	home     string // HOME of every git process the fixture starts
	srv      *httptest.Server
	cfg      gitServerConfig
	caFile   string
	requests atomic.Int64
	stats    gitStatsCounter
}

type gitServerConfig struct {
	user, password string
	tls            bool
}

// GitServerOption configures NewGitServer.
type GitServerOption func(*gitServerConfig)

// WithBasicAuth makes the server answer 401 to requests without these
// credentials.
func WithBasicAuth(user, password string) GitServerOption {
	return func(c *gitServerConfig) { c.user, c.password = user, password }
}

// WithTLS serves HTTPS with a certificate for 127.0.0.1 signed by a test CA;
// CACert returns that CA in PEM.
func WithTLS() GitServerOption {
	return func(c *gitServerConfig) { c.tls = true }
}

// NewGitServer starts the server; it is closed in t.Cleanup.
func NewGitServer(t testing.TB, opts ...GitServerOption) *GitServer {
	t.Helper()
	s := &GitServer{root: t.TempDir(), home: t.TempDir()}
	for _, o := range opts {
		o(&s.cfg)
	}
	backend := filepath.Join(strings.TrimSpace(s.git(t, "", "--exec-path")), "git-http-backend")
	s.srv = httptest.NewUnstartedServer(s.handler(t, backend))
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("git server: listen on 127.0.0.1: %v", err)
	}
	_ = s.srv.Listener.Close()
	s.srv.Listener = ln
	s.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	if s.cfg.tls {
		s.srv.StartTLS()
		s.caFile = filepath.Join(s.home, "ca.pem")
		if err := os.WriteFile(s.caFile, s.CACert(), 0o600); err != nil {
			t.Fatalf("git server: write CA file: %v", err)
		}
	} else {
		s.srv.Start()
	}
	t.Cleanup(s.srv.Close)
	return s
}

func (s *GitServer) handler(t testing.TB, backend string) http.Handler {
	cgiHandler := &cgi.Handler{
		Path: backend,
		Root: "/",
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.root,
			"GIT_HTTP_EXPORT_ALL=1",
			"GIT_CONFIG_NOSYSTEM=1",
			"HOME=" + s.home,
			// No background gc after a push: it would write into the
			// repository while the test's cleanup removes it.
			"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=gc.auto", "GIT_CONFIG_VALUE_0=0",
		},
		Stderr: testLogWriter{t},
		Logger: log.New(io.Discard, "", 0),
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.requests.Add(1)
		s.stats.count(r)
		r.Body = &CountingBody{ReadCloser: r.Body, N: &s.stats.bytesIn}
		w = &countingWriter{ResponseWriter: w, n: &s.stats.bytesOut}
		if s.cfg.user != "" && !s.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="imagegate test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		cgiHandler.ServeHTTP(w, r)
	})
}

func (s *GitServer) authorized(r *http.Request) bool {
	user, password, ok := r.BasicAuth()
	return ok &&
		subtle.ConstantTimeCompare([]byte(user), []byte(s.cfg.user)) == 1 &&
		subtle.ConstantTimeCompare([]byte(password), []byte(s.cfg.password)) == 1
}

// URL is the server's base URL; a repository's clone URL is URL()+"/NAME.git".
func (s *GitServer) URL() string { return s.srv.URL }

// CACert returns the PEM certificate that signs the server's TLS certificate,
// or nil when the server speaks plain HTTP.
func (s *GitServer) CACert() []byte {
	if !s.cfg.tls {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.srv.Certificate().Raw})
}

// Requests counts HTTP requests served, including those of PushCommit.
func (s *GitServer) Requests() int64 { return s.requests.Load() }

// Stats returns what the server has served so far, by kind of request,
// including PushCommit's; subtract two snapshots to count an operation.
func (s *GitServer) Stats() GitStats { return s.stats.snapshot() }

// SetBranch points a branch at rev (a commit hash or another ref) on the
// server, as a force-push would.
func (s *GitServer) SetBranch(t testing.TB, repo, branch, rev string) {
	t.Helper()
	s.git(t, s.RepoDir(repo), "update-ref", "refs/heads/"+branch, rev)
}

// RewriteTip force-pushes branch to a new commit with the same tree and
// parents as its tip (only the message differs), as a history rewrite
// that leaves the content looking the same would; it returns the new
// commit's hash.
func (s *GitServer) RewriteTip(t testing.TB, repo, branch string) string {
	t.Helper()
	dir := s.RepoDir(repo)
	ref := "refs/heads/" + branch
	args := []string{"commit-tree", ref + "^{tree}", "-m", "rewritten"}
	if parents := strings.Fields(s.git(t, dir, "log", "-1", "--format=%P", ref)); len(parents) > 0 {
		for _, p := range parents {
			args = append(args, "-p", p)
		}
	}
	commit := strings.TrimSpace(s.git(t, dir, args...))
	s.SetBranch(t, repo, branch, commit)
	return commit
}

var repoNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]*$`)

// RepoDir is the bare repository's path on disk.
func (s *GitServer) RepoDir(name string) string {
	return filepath.Join(s.root, name+".git")
}

// CreateRepo makes a bare repo NAME.git whose branch `main` holds one commit
// with the files of seed (copied recursively; nil seeds a README only), and
// returns its clone URL.
func (s *GitServer) CreateRepo(t testing.TB, name string, seed fs.FS) string {
	t.Helper()
	if !repoNameRE.MatchString(name) || strings.Contains(name, "..") {
		t.Fatalf("git server: invalid repository name %q", name)
	}
	bare := s.RepoDir(name)
	s.git(t, "", "init", "--quiet", "--bare", "--initial-branch=main", bare)
	s.git(t, bare, "config", "http.receivepack", "true")
	s.git(t, bare, "config", "receive.advertisePushOptions", "true")

	work := t.TempDir()
	s.git(t, work, "init", "--quiet", "--initial-branch=main")
	if seed == nil {
		seed = readmeSeed
	}
	if err := os.CopyFS(work, seed); err != nil {
		t.Fatalf("git server: copy seed into %s: %v", name, err)
	}
	s.git(t, work, "add", "--all")
	s.git(t, work, "commit", "--quiet", "--message", "Initial commit")
	s.git(t, work, "push", "--quiet", bare, "HEAD:refs/heads/main")
	return s.URL() + "/" + name + ".git"
}

// SetPreReceiveHook installs script as the repo's executable pre-receive
// hook (its stderr reaches the pushing client); "" removes the hook.
func (s *GitServer) SetPreReceiveHook(t testing.TB, name, script string) {
	t.Helper()
	path := filepath.Join(s.RepoDir(name), "hooks", "pre-receive")
	if script == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("git server: remove hook of %s: %v", name, err)
		}
		return
	}
	// The hook is run by the same user that runs the test: 0700 suffices.
	if err := os.WriteFile(path, []byte(script), 0o700); err != nil {
		t.Fatalf("git server: write hook of %s: %v", name, err)
	}
}

// Log returns `git log --format=%H %s` lines of a branch, newest first; nil
// when the branch does not exist.
func (s *GitServer) Log(t testing.TB, repo, branch string) []string {
	t.Helper()
	ref := "refs/heads/" + branch
	if !s.refExists(t, repo, ref) {
		return nil
	}
	out := strings.TrimSpace(s.git(t, s.RepoDir(repo), "log", "--format=%H %s", ref, "--"))
	if out == "" {
		return nil
	}
	return strings.Split(out, "\n")
}

// File reads a file at a branch tip.
func (s *GitServer) File(t testing.TB, repo, branch, path string) string {
	t.Helper()
	return s.git(t, s.RepoDir(repo), "show", "refs/heads/"+branch+":"+path)
}

// CommitMessage returns the message of a commit exactly as stored (after the
// headers, signature included in the headers), for trailer checks.
func (s *GitServer) CommitMessage(t testing.TB, repo, rev string) string {
	t.Helper()
	raw := s.git(t, s.RepoDir(repo), "cat-file", "commit", rev)
	_, msg, found := strings.Cut(raw, "\n\n")
	if !found {
		return ""
	}
	return msg
}

// PushCommit adds or overwrites files on a branch as another author would:
// it clones over HTTP with the git CLI, commits and pushes, to simulate a
// concurrent change. Its requests count in Requests.
func (s *GitServer) PushCommit(t testing.TB, repo, branch string, files map[string]string, msg string) {
	t.Helper()
	work := t.TempDir()
	s.git(t, "", "clone", "--quiet", "--single-branch", "--branch", branch, s.cliURL(repo), work)
	for name, content := range files {
		path := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			t.Fatalf("git server: PushCommit mkdir for %s: %v", name, err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatalf("git server: PushCommit write %s: %v", name, err)
		}
	}
	s.git(t, work, "add", "--all")
	s.git(t, work, "commit", "--quiet", "--message", msg)
	s.git(t, work, "push", "--quiet", "origin", "HEAD:refs/heads/"+branch)
}

// Tag creates a tag in the served repository pointing at rev (a branch or
// commit); annotated makes it an annotated tag object rather than a plain
// ref. It returns the commit the tag points at.
func (s *GitServer) Tag(t testing.TB, repo, name, rev string, annotated bool) string {
	t.Helper()
	args := []string{"tag", name, rev}
	if annotated {
		args = []string{"tag", "--annotate", "--message", "release " + name, name, rev}
	}
	s.git(t, s.RepoDir(repo), args...)
	return strings.TrimSpace(s.git(t, s.RepoDir(repo), "rev-parse", name+"^{commit}"))
}

// Head returns the commit a branch points at.
func (s *GitServer) Head(t testing.TB, repo, branch string) string {
	t.Helper()
	return strings.TrimSpace(s.git(t, s.RepoDir(repo), "rev-parse", "refs/heads/"+branch))
}

// cliURL is the clone URL with the server's credentials, for the git CLI.
func (s *GitServer) cliURL(repo string) string {
	u, err := url.Parse(s.URL() + "/" + repo + ".git")
	if err != nil {
		return s.URL() + "/" + repo + ".git"
	}
	if s.cfg.user != "" {
		u.User = url.UserPassword(s.cfg.user, s.cfg.password)
	}
	return u.String()
}

func (s *GitServer) refExists(t testing.TB, repo, ref string) bool {
	t.Helper()
	cmd := s.command(s.RepoDir(repo), "rev-parse", "--verify", "--quiet", ref)
	return cmd.Run() == nil
}

// git runs the git CLI isolated from the user's and system's configuration
// and returns its stdout; any failure fails the test with git's stderr.
func (s *GitServer) git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := s.command(dir, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git server: git %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String()
}

func (s *GitServer) command(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.home,
		"LC_ALL=C",
		"GIT_CONFIG_NOSYSTEM=1",
		"GIT_TERMINAL_PROMPT=0",
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=gc.auto", "GIT_CONFIG_VALUE_0=0",
		"GIT_AUTHOR_NAME=" + GitServerAuthorName,
		"GIT_AUTHOR_EMAIL=" + GitServerAuthorEmail,
		"GIT_COMMITTER_NAME=" + GitServerAuthorName,
		"GIT_COMMITTER_EMAIL=" + GitServerAuthorEmail,
	}
	if s.caFile != "" {
		cmd.Env = append(cmd.Env, "GIT_SSL_CAINFO="+s.caFile)
	}
	return cmd
}

// readmeSeed is the seed of a repository created without one.
var readmeSeed = fstest.MapFS{"README.md": {Data: []byte("# test repository\n"), Mode: 0o644}}

// testLogWriter forwards the backend's stderr to the test log, line by line.
type testLogWriter struct{ t testing.TB }

func (w testLogWriter) Write(p []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(p))
	for sc.Scan() {
		w.t.Logf("git http-backend: %s", sc.Text())
	}
	return len(p), nil
}

// GitStats counts what a GitServer served. Smart HTTP makes every Git
// operation one ref advertisement (GET info/refs) followed, for clone and
// fetch, by one upload-pack POST (the objects) and, for push, by one
// receive-pack POST; ls-remote is the advertisement alone.
type GitStats struct {
	Requests    int64 // every HTTP request
	InfoRefs    int64 // GET .../info/refs
	UploadPack  int64 // POST .../git-upload-pack
	ReceivePack int64 // POST .../git-receive-pack
	BytesIn     int64 // request bodies read
	BytesOut    int64 // response bodies written
}

// Sub returns s minus before: what was served between two snapshots.
func (s GitStats) Sub(before GitStats) GitStats {
	return GitStats{
		Requests: s.Requests - before.Requests, InfoRefs: s.InfoRefs - before.InfoRefs,
		UploadPack: s.UploadPack - before.UploadPack, ReceivePack: s.ReceivePack - before.ReceivePack,
		BytesIn: s.BytesIn - before.BytesIn, BytesOut: s.BytesOut - before.BytesOut,
	}
}

type gitStatsCounter struct {
	requests, infoRefs, uploadPack, receivePack, bytesIn, bytesOut atomic.Int64
}

func (c *gitStatsCounter) count(r *http.Request) {
	c.requests.Add(1)
	switch {
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/info/refs"):
		c.infoRefs.Add(1)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-upload-pack"):
		c.uploadPack.Add(1)
	case r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/git-receive-pack"):
		c.receivePack.Add(1)
	}
}

func (c *gitStatsCounter) snapshot() GitStats {
	return GitStats{
		Requests: c.requests.Load(), InfoRefs: c.infoRefs.Load(), UploadPack: c.uploadPack.Load(),
		ReceivePack: c.receivePack.Load(), BytesIn: c.bytesIn.Load(), BytesOut: c.bytesOut.Load(),
	}
}

// CountingBody adds the bytes read through it to N.
type CountingBody struct {
	io.ReadCloser
	N *atomic.Int64
}

func (b *CountingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.N.Add(int64(n))
	return n, err
}

type countingWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (w *countingWriter) Write(p []byte) (int, error) {
	n, err := w.ResponseWriter.Write(p)
	w.n.Add(int64(n))
	return n, err
}

// Flush lets the CGI handler stream, as it does on the bare writer.
func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
