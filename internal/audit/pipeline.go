package audit

import (
	"context"
	"errors"
	"fmt"
)

// jobQueue bounds the commits read from git diff-tree and requested from
// git cat-file ahead of the judge: memory stays flat in history length
// while git never waits for the judge's round trip.
const jobQueue = 256

// job is a commit whose objects were requested, and which ones, in order.
type job struct {
	diff  commitDiff
	files []fileJob
	// commit: the commit object was requested after the files.
	commit bool
}

// fileJob is a changed setter file; readOld and readNew say which of its
// versions were requested. An old version not requested is the version
// an earlier commit wrote at the same path, whose references are cached.
type fileJob struct {
	fileChange
	readOld, readNew bool
}

// planner decides what to request for each commit; it runs on the
// diff-tree goroutine and mirrors the judge's per-path cache.
type planner struct {
	lastNew map[string]string // path -> blob hash of the last version requested
}

func (p *planner) plan(d commitDiff) (job, []string) {
	j := job{diff: d}
	var hashes []string
	for _, ch := range d.changes {
		if !isSetterChange(ch) {
			continue
		}
		f := fileJob{fileChange: ch}
		if ch.oldHash != "" && isRegularMode(ch.oldMode) && p.lastNew[ch.path] != ch.oldHash {
			f.readOld = true
			hashes = append(hashes, ch.oldHash)
		}
		if ch.newHash != "" && isRegularMode(ch.newMode) {
			f.readNew = true
			hashes = append(hashes, ch.newHash)
			p.lastNew[ch.path] = ch.newHash
		} else {
			delete(p.lastNew, ch.path)
		}
		j.files = append(j.files, f)
	}
	if len(j.files) > 0 {
		j.commit = true
		hashes = append(hashes, d.commit)
	}
	return j, hashes
}

// walk runs git diff-tree over the steps on one goroutine, requesting
// each commit's objects from cat-file as soon as its diff is read; a
// second goroutine reads the objects and hands file versions to the
// parsers; the commits are judged in order on the calling goroutine.
func (a *auditor) walk(ctx context.Context, steps []step) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, jobQueue)
	produced := make(chan error, 1)
	go func() {
		defer close(jobs)
		p := &planner{lastNew: map[string]string{}}
		err := a.hist.diffs(ctx, steps, a.report.Path, func(d commitDiff) error {
			j, hashes := p.plan(d)
			if len(hashes) == 0 {
				return nil
			}
			if err := a.cat.request(hashes); err != nil {
				return err
			}
			select {
			case jobs <- j:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
		produced <- err
	}()
	ps := startParsers(ctx, a.opts.MaxFileBytes, a.opts.AllImages)
	defer ps.stop()
	ready := make(chan loaded, loadQueue)
	loadedAll := make(chan error, 1)
	go func() {
		defer close(ready)
		err := a.load(ctx, jobs, ready, ps)
		if err != nil {
			cancel()
			for range jobs { // let the producer end
			}
		}
		loadedAll <- err
	}()
	var judgeErr error
	for l := range ready {
		if judgeErr != nil {
			continue // drain so the loader ends
		}
		if judgeErr = a.judge(l); judgeErr != nil {
			cancel()
		}
	}
	loadErr := <-loadedAll
	prodErr := <-produced
	switch {
	case judgeErr != nil:
		return judgeErr
	case loadErr != nil && !errors.Is(loadErr, context.Canceled):
		return loadErr
	case prodErr != nil:
		return fmt.Errorf("reading history: %w", prodErr)
	case loadErr != nil:
		return loadErr
	}
	return nil
}
