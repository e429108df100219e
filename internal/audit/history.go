package audit

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// history is where commits and their first-parent diffs come from: the
// git CLI (gitCmd) or, without it, go-git (goGit).
type history interface {
	// check fails when the directory holds no repository.
	check(ctx context.Context) error
	resolve(ctx context.Context, rev string) (string, error)
	firstParents(ctx context.Context, head string) ([]step, error)
	// parents maps every commit reachable from head to its parents;
	// asked only when the first-parent line holds a merge.
	parents(ctx context.Context, head string) (map[string][]string, error)
	// diffs calls fn, in order, for each step whose diff against its
	// first parent touches files under path ("" for all).
	diffs(ctx context.Context, steps []step, path string, fn func(commitDiff) error) error
	objects(ctx context.Context) (objectSource, error)
}

// objectSource serves commits and blobs: request is called by the
// goroutine reading diffs, next by the loader (parse.go), in the same order.
type objectSource interface {
	request(hashes []string) error
	next(hash, typ string, limit int64) ([]byte, error)
	close() error
}

// gitCmd runs the git CLI on one repository.
type gitCmd struct{ dir string }

func (g gitCmd) check(ctx context.Context) error {
	_, err := g.output(ctx, "rev-parse", "--git-dir")
	return err
}

func (g gitCmd) objects(ctx context.Context) (objectSource, error) { return startCatFile(ctx, g) }

func (g gitCmd) command(ctx context.Context, args ...string) *exec.Cmd {
	// The arguments are fixed subcommands and flags, revisions checked by
	// resolve, and --path as a literal pathspec after "--".
	cmd := exec.CommandContext(ctx, "git", append([]string{"-C", g.dir}, args...)...) //nolint:gosec // see above
	// Paths and messages are parsed, not shown: no pager, no localisation,
	// no prompts.
	cmd.Env = append(os.Environ(), "LC_ALL=C", "GIT_PAGER=cat", "GIT_TERMINAL_PROMPT=0")
	return cmd
}

func (g gitCmd) output(ctx context.Context, args ...string) (string, error) {
	cmd := g.command(ctx, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// resolve returns the commit a revision names.
func (g gitCmd) resolve(ctx context.Context, rev string) (string, error) {
	if strings.HasPrefix(rev, "-") {
		return "", fmt.Errorf("revision %q may not start with '-'", rev)
	}
	out, err := g.output(ctx, "rev-parse", "--verify", "--quiet", "--end-of-options", rev+"^{commit}")
	if err != nil {
		return "", fmt.Errorf("%q names no commit in %s", rev, g.dir)
	}
	return strings.TrimSpace(out), nil
}

// step is one commit to judge and its first parent (empty for a root
// commit).
type step struct {
	commit, parent string
	// merged are a merge's other parents (first-parent line only).
	merged []string
	// side: a commit a merge of the line brought in (merges.go).
	side bool
}

// firstParents lists the first-parent line ending at head, oldest first.
// It holds two hashes per commit (and a merge's other parents), the walk's
// only state that grows with history length.
func (g gitCmd) firstParents(ctx context.Context, head string) ([]step, error) {
	out, err := g.output(ctx, "rev-list", "--first-parent", "--reverse", "--parents", head)
	if err != nil {
		return nil, err
	}
	var steps []step
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		s := step{commit: f[0]}
		if len(f) > 1 {
			s.parent = f[1]
		}
		if len(f) > 2 {
			s.merged = f[2:]
		}
		steps = append(steps, s)
	}
	return steps, nil
}

func (g gitCmd) parents(ctx context.Context, head string) (map[string][]string, error) {
	out, err := g.output(ctx, "rev-list", "--parents", head)
	if err != nil {
		return nil, err
	}
	m := map[string][]string{}
	for line := range strings.Lines(out) {
		if f := strings.Fields(line); len(f) > 0 {
			m[f[0]] = f[1:]
		}
	}
	return m, nil
}

// fileChange is one path a commit changed against its first parent, as
// git diff-tree --raw reports it; a hash is empty on the side where the
// path does not exist.
type fileChange struct {
	path             string
	oldHash, newHash string
	oldMode, newMode string
}

// commitDiff is a commit whose first-parent diff touches the path.
type commitDiff struct {
	commit  string
	changes []fileChange
}

const nullHashPrefix = "0000000000"

// diffs runs one `git diff-tree --stdin` over the steps and calls fn for
// every commit whose first-parent diff touches pathspec, in order. Each
// step is fed as "COMMIT PARENT" so a merge is diffed against its first
// parent only, renames are not detected (a rename is a delete and an add),
// and -z keeps paths unquoted.
func (g gitCmd) diffs(ctx context.Context, steps []step, path string, fn func(commitDiff) error) error {
	// Output: for each commit with changes, "COMMIT\0" then per path
	// ":OLDMODE NEWMODE OLDHASH NEWHASH STATUS\0PATH\0".
	args := []string{"diff-tree", "-r", "--no-renames", "--no-abbrev", "-z", "--stdin", "--root"}
	if path != "" {
		// Literal and from the top: neither glob characters nor the
		// working directory change what --path names.
		args = append(args, "--", ":(top,literal)"+path)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cmd := g.command(ctx, args...)
	in, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start git diff-tree: %w", err)
	}
	go func() {
		w := bufio.NewWriter(in)
		for _, s := range steps {
			if _, err := fmt.Fprintf(w, "%s %s\n", s.commit, s.parent); err != nil {
				break
			}
		}
		_ = w.Flush()
		_ = in.Close()
	}()
	perr := parseDiffTree(bufio.NewReaderSize(out, 64<<10), len(steps), fn)
	if perr != nil {
		cancel()
		_, _ = io.Copy(io.Discard, out)
	}
	werr := cmd.Wait()
	if perr != nil {
		return perr
	}
	if werr != nil {
		return fmt.Errorf("git diff-tree: %w: %s", werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}
