package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/imagegate/imagegate/internal/gitrepo"
)

// remoteFlags are the Git credentials for a --repo URL. They are named
// after the keys of the Flux GitRepository secret the gate reads
// (username, password, bearerToken, identity, known_hosts, ca.crt) and
// mapped by the same function, so a URL the gate can clone the audit can
// too. Secrets are read from files, never from the command line, where
// other users and shell histories would see them.
type remoteFlags struct {
	username                             string
	passwordFile, bearerTokenFile        string
	identityFile, knownHostsFile, caFile string
	timeout                              time.Duration
	maxCloneBytes                        int64
}

func (r *remoteFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.username, "username", "", "with a --repo URL: user name for HTTP(S) basic auth (the Git secret's username)")
	fs.StringVar(&r.passwordFile, "password-file", "", "with a --repo URL: file holding the HTTP(S) password, or the passphrase of --identity-file over SSH (the Git secret's password)")
	fs.StringVar(&r.bearerTokenFile, "bearer-token-file", "", "with a --repo URL: file holding an HTTP(S) bearer token (the Git secret's bearerToken)")
	fs.StringVar(&r.identityFile, "identity-file", "", "with an SSH --repo URL: private key file (the Git secret's identity)")
	fs.StringVar(&r.knownHostsFile, "known-hosts-file", "", "with an SSH --repo URL: known_hosts file the server's host key is checked against (required over SSH)")
	fs.StringVar(&r.caFile, "ca-file", "", "with an HTTPS --repo URL: PEM CA bundle trusted besides the system roots (the Git secret's ca.crt)")
	fs.DurationVar(&r.timeout, "timeout", gitrepo.DefaultTimeout, "with a --repo URL: bound on the whole clone")
	fs.Int64Var(&r.maxCloneBytes, "max-clone-bytes", gitrepo.DefaultMaxCloneBytes, "with a --repo URL: most bytes of pack data the clone receives")
}

func (r *remoteFlags) given() bool {
	return r.username != "" || r.passwordFile != "" || r.bearerTokenFile != "" || r.identityFile != "" || r.knownHostsFile != "" || r.caFile != ""
}

func (r *remoteFlags) validate() error {
	switch {
	case r.timeout <= 0:
		return fmt.Errorf("--timeout %s: want a positive duration", r.timeout)
	case r.maxCloneBytes <= 0:
		return fmt.Errorf("--max-clone-bytes %d: want a positive number", r.maxCloneBytes)
	}
	return nil
}

// maxCredentialFile bounds each credential file read: keys, tokens and
// CA bundles are a few KiB.
const maxCredentialFile = 1 << 20

// auth reads the credential files into the map a Git secret would hold and
// maps it as the gate does (gitrepo.AuthFromSecretData).
func (r *remoteFlags) auth() (gitrepo.Auth, error) {
	data := map[string][]byte{}
	if r.username != "" {
		data[gitrepo.SecretKeyUsername] = []byte(r.username)
	}
	for _, f := range []struct{ flag, file, key string }{
		{"--password-file", r.passwordFile, gitrepo.SecretKeyPassword},
		{"--bearer-token-file", r.bearerTokenFile, gitrepo.SecretKeyBearerToken},
		{"--identity-file", r.identityFile, gitrepo.SecretKeyIdentity},
		{"--known-hosts-file", r.knownHostsFile, gitrepo.SecretKeyKnownHosts},
		{"--ca-file", r.caFile, gitrepo.SecretKeyCACert},
	} {
		if f.file == "" {
			continue
		}
		b, err := readCredentialFile(f.file)
		if err != nil {
			return gitrepo.Auth{}, fmt.Errorf("%s: %w", f.flag, err)
		}
		if f.key == gitrepo.SecretKeyPassword || f.key == gitrepo.SecretKeyBearerToken {
			// Files written by editors and `echo` end with a newline that
			// is no part of the secret.
			b = []byte(strings.TrimRight(string(b), "\r\n"))
		}
		data[f.key] = b
	}
	return gitrepo.AuthFromSecretData(data), nil
}

func readCredentialFile(name string) ([]byte, error) {
	f, err := os.Open(name) //nolint:gosec // a file the caller names on its own command line
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }()
	b, err := io.ReadAll(io.LimitReader(f, maxCredentialFile+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxCredentialFile {
		return nil, fmt.Errorf("%s is over %d bytes: not a credential", name, maxCredentialFile)
	}
	return b, nil
}

// scpLike matches git's scp-like SSH address, user@host:path.
var scpLike = regexp.MustCompile(`^[A-Za-z0-9._~-]+@[A-Za-z0-9.-]+:`)

// isRepoURL tells a --repo URL from a local path.
func isRepoURL(repo string) bool {
	return strings.Contains(repo, "://") || scpLike.MatchString(repo)
}

// checkRepoURL refuses a password written into the URL: it would sit in
// the process list and the shell history; --password-file is for that.
func checkRepoURL(repo string) error {
	u, err := url.Parse(repo)
	if err != nil || u.User == nil {
		return nil //nolint:nilerr // scp-like addresses do not parse as URLs and hold no password; gitrepo reports bad URLs
	}
	if _, ok := u.User.Password(); ok {
		return errors.New("--repo: the URL holds a password; give it with --password-file instead")
	}
	return nil
}

// cloneForAudit clones the branch of the --repo URL (the remote's default
// branch for --branch HEAD) into a new temporary directory and returns it;
// the caller removes it. Errors say which exit status they deserve.
func cloneForAudit(ctx context.Context, repo, branch string, r remoteFlags) (string, error) {
	a, err := r.auth()
	if err != nil {
		return "", usageError{err}
	}
	if branch == "HEAD" {
		branch = ""
	}
	dir, err := os.MkdirTemp("", "imagegate-audit-")
	if err != nil {
		return "", err
	}
	_, err = gitrepo.CloneBare(ctx, gitrepo.CloneConfig{URL: repo, Auth: a, Branch: branch, Timeout: r.timeout, MaxBytes: r.maxCloneBytes}, dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		if isCallersGitError(err) {
			return "", usageError{err}
		}
		return "", err
	}
	return dir, nil
}

// isCallersGitError: the URL, branch or credentials given cannot work, and
// retrying will not change that. imagegate verify's contract reserves
// exit 3 for "retry later" (an unreachable server, a timeout) and gives 2
// to what the caller must fix before anything can be judged; refused
// credentials, an unknown host key or CA, a missing repository or branch
// are the caller's to fix.
func isCallersGitError(err error) bool {
	for _, kind := range []error{gitrepo.ErrAuth, gitrepo.ErrRepositoryNotFound, gitrepo.ErrBranchNotFound, gitrepo.ErrInvalidConfig} {
		if errors.Is(err, kind) {
			return true
		}
	}
	return false
}

// usageError marks an error the caller must fix: exit 2.
type usageError struct{ error }

func (u usageError) Unwrap() error { return u.error }
