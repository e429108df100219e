package audit

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sync/semaphore"

	"github.com/imagegate/imagegate/internal/setters"
)

// loadQueue bounds the commits read from the object source ahead of the
// judge. Their file versions are parsed meanwhile on parse workers, so
// parsing YAML, most of the audit's own CPU, runs on every core while the
// judge stays sequential (the settled set and the per-path cache depend
// on commit order).
const loadQueue = 64

// loaded is a job whose objects were read: a parse per requested file
// version (nil where the version was not requested) and the raw commit.
type loaded struct {
	job
	old, new []*parse
	commit   []byte
}

// parse is one file version's references, ready once done is closed.
type parse struct {
	done chan struct{}
	refs []ref
	skip string // why the version was not read; refs is then empty
	err  error  // reading failed: the walk ends
}

func (p *parse) wait() (rs []ref, skip string, err error) {
	<-p.done
	return p.refs, p.skip, p.err
}

func doneParse(skip string) *parse {
	p := &parse{done: make(chan struct{}), skip: skip}
	close(p.done)
	return p
}

// parsers parses file versions on GOMAXPROCS goroutines. What is parsed at
// once is bounded twice: the raw bytes handed over and not yet parsed
// (two files at --max-file-bytes), and the parser's memory, through the
// budget the gate's setters share (setters.Budget: files parsed at the
// same time together stay within one file's limits).
type parsers struct {
	tasks     chan parseTask
	inFlight  *semaphore.Weighted
	maxFlight int64
	budget    *setters.Budget
	allImages bool
	wg        sync.WaitGroup
}

type parseTask struct {
	p    *parse
	file string
	data []byte
}

func startParsers(ctx context.Context, maxFileBytes int64, allImages bool) *parsers {
	ps := &parsers{
		tasks:     make(chan parseTask),
		maxFlight: 2 * maxFileBytes,
		budget:    setters.DefaultBudget(),
		allImages: allImages,
	}
	ps.inFlight = semaphore.NewWeighted(ps.maxFlight)
	for range runtime.GOMAXPROCS(0) {
		ps.wg.Add(1)
		go ps.work(ctx)
	}
	return ps
}

func (ps *parsers) work(ctx context.Context) {
	defer ps.wg.Done()
	for t := range ps.tasks {
		ps.parse(ctx, t)
		ps.inFlight.Release(ps.weight(t.data))
		t.data = nil
		close(t.p.done)
	}
}

func (ps *parsers) parse(ctx context.Context, t parseTask) {
	release, err := ps.budget.Reserve(ctx, t.data)
	if err != nil {
		t.p.err = err
		return
	}
	defer release()
	rs, err := refsOf(t.file, t.data, ps.allImages)
	if err != nil {
		t.p.skip = err.Error() + "; image references in it were not audited"
		return
	}
	t.p.refs = rs
}

func (ps *parsers) weight(data []byte) int64 { return min(max(int64(len(data)), 1), ps.maxFlight) }

// submit hands a file version to the workers once its bytes fit.
func (ps *parsers) submit(ctx context.Context, file string, data []byte) (*parse, error) {
	if err := ps.inFlight.Acquire(ctx, ps.weight(data)); err != nil {
		return nil, err
	}
	p := &parse{done: make(chan struct{})}
	select {
	case ps.tasks <- parseTask{p: p, file: file, data: data}:
		return p, nil
	case <-ctx.Done():
		ps.inFlight.Release(ps.weight(data))
		return nil, ctx.Err()
	}
}

func (ps *parsers) stop() {
	close(ps.tasks)
	ps.wg.Wait()
}

// load reads the objects of each job in the order they were requested,
// hands the file versions to the parsers and the jobs, in order, to the
// judge.
func (a *auditor) load(ctx context.Context, jobs <-chan job, out chan<- loaded, ps *parsers) error {
	for j := range jobs {
		l := loaded{job: j, old: make([]*parse, len(j.files)), new: make([]*parse, len(j.files))}
		for i, f := range j.files {
			var err error
			if f.readOld {
				if l.old[i], err = a.read(ctx, ps, j.diff.commit, f.path, f.oldHash); err != nil {
					return err
				}
			}
			if f.readNew {
				if l.new[i], err = a.read(ctx, ps, j.diff.commit, f.path, f.newHash); err != nil {
					return err
				}
			}
		}
		raw, err := a.cat.next(j.diff.commit, "commit", maxCommitBytes)
		if err != nil {
			return fmt.Errorf("commit %s: %w", j.diff.commit, err)
		}
		l.commit = raw
		select {
		case out <- l:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// read reads one file version: a version over --max-file-bytes is
// skipped without being read; failing to read from git ends the walk.
func (a *auditor) read(ctx context.Context, ps *parsers, commit, file, hash string) (*parse, error) {
	data, err := a.cat.next(hash, "blob", a.opts.MaxFileBytes)
	if errors.Is(err, errTooBig) {
		return doneParse(err.Error() + " (--max-file-bytes); image references in it were not audited"), nil
	}
	if err != nil {
		return nil, fmt.Errorf("commit %s: %s: %w", commit, file, err)
	}
	return ps.submit(ctx, file, data)
}
