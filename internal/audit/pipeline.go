package audit

import (
	"context"
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
// each commit's objects from cat-file as soon as its diff is read, and
// judges the commits in order on the calling goroutine.
func (a *auditor) walk(ctx context.Context, steps []step) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan job, jobQueue)
	produced := make(chan error, 1)
	go func() {
		defer close(jobs)
		p := &planner{lastNew: map[string]string{}}
		produced <- a.hist.diffs(ctx, steps, a.report.Path, func(d commitDiff) error {
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
	}()
	var judgeErr error
	for j := range jobs {
		if judgeErr != nil {
			continue // drain so the producer ends
		}
		if judgeErr = a.judge(j); judgeErr != nil {
			cancel()
		}
	}
	prodErr := <-produced
	if judgeErr != nil {
		return judgeErr
	}
	if prodErr != nil {
		return fmt.Errorf("reading history: %w", prodErr)
	}
	return nil
}
