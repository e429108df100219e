package audit_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/imagegate/imagegate/internal/audit"
	"github.com/imagegate/imagegate/internal/testenv"
)

// benchHistory writes, with `git fast-import`, a main branch of commits
// commits: every fifth changes the image of one of files manifests (with
// the gate's trailers, unsigned), the others change a replica count in
// one of them, so every commit's diff is read and parsed by the audit.
func benchHistory(b *testing.B, commits, files int) *testenv.LocalRepo {
	b.Helper()
	r := testenv.NewLocalRepo(b)
	var stream bytes.Buffer
	w := bufio.NewWriter(&stream)
	images := make([]int, files)
	for i := range commits {
		f := i % files
		replicas := i
		msg := fmt.Sprintf("Scale app-%d", f)
		if i%5 == 0 {
			images[f] = i
			msg = fmt.Sprintf("Update images verified by imagegate\n\nVerified-Image: %s\nVerified-Policy: release (sha256:1)\n", benchRef(f, i))
		}
		content := fmt.Sprintf("kind: Deployment\nmetadata:\n  name: app-%d\nspec:\n  replicas: %d\n  template:\n    spec:\n      containers:\n        - name: app\n          image: %s # {\"$imagepolicy\": \"apps:app-%d\"}\n",
			f, replicas, benchRef(f, images[f]), f)
		fmt.Fprintf(w, "commit refs/heads/main\ncommitter Bench <bench@example.test> %d +0000\ndata %d\n%s\n", 1767225600+i*60, len(msg), msg)
		if i == 0 {
			_, _ = w.WriteString("deleteall\n") // a bytes.Buffer write cannot fail
		}
		fmt.Fprintf(w, "M 100644 inline deploy/app-%03d.yaml\ndata %d\n%s\n", f, len(content), content)
	}
	_ = w.Flush()
	cmd := exec.Command("git", "-C", r.Dir, "fast-import", "--quiet")
	cmd.Stdin = &stream
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git fast-import: %v\n%s", err, out)
	}
	r.Git(b, "reset", "-q", "--hard", "main")
	return r
}

func benchRef(file, version int) string {
	return fmt.Sprintf("ghcr.io/org/app-%d:v%d@sha256:%064x", file, version, file*1_000_000+version)
}

// BenchmarkAudit compares the audit of a generated history (the CLI
// path) with `git log -p --first-parent` over the same history, at two
// history lengths so memory per commit can be compared: besides time and
// allocation it reports the peak live heap (after each collection) and the
// peak heap (live and garbage) during the audit. See docs/benchmarks.md.
func BenchmarkAudit(b *testing.B) {
	for _, commits := range []int{2_000, 10_000} {
		r := benchHistory(b, commits, 500)
		b.Run(fmt.Sprintf("commits=%d/git-log-p", commits), func(b *testing.B) {
			defer startCPU().report(b)
			for b.Loop() {
				cmd := exec.Command("git", "-C", r.Dir, "log", "-p", "--first-parent", "main")
				cmd.Stdout = io.Discard
				if err := cmd.Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, reader := range []string{audit.ReaderGit, audit.ReaderGoGit} {
			benchAuditRun(b, r, commits, reader)
		}
	}
}

func benchAuditRun(b *testing.B, r *testenv.LocalRepo, commits int, reader string) {
	b.Helper()
	b.Run(fmt.Sprintf("commits=%d/audit-%s", commits, reader), func(b *testing.B) {
		b.ReportAllocs()
		peak := startHeapPeak()
		defer peak.report(b)
		defer startCPU().report(b)
		for b.Loop() {
			rep, err := audit.Run(b.Context(), audit.Options{Repo: r.Dir, Branch: "main", Path: "deploy", Reader: reader})
			if err != nil {
				b.Fatal(err)
			}
			// Each file's creation introduces its first image: 400 more.
			if rep.Commits != commits || len(rep.Entries) != commits/5+400 {
				b.Fatalf("audited %d commits, %d entries; want %d, %d", rep.Commits, len(rep.Entries), commits, commits/5+400)
			}
		}
	})
}

// cpuStart.report reports the CPU time per operation of the process and the
// git processes it ran since start: the figure to compare on a shared
// machine, where wall time follows the load.
type cpuStart struct{ self, children int64 }

func startCPU() cpuStart {
	self, children := testenv.CPUTime()
	return cpuStart{self, children}
}

func (s cpuStart) report(b *testing.B) {
	self, children := testenv.CPUTime()
	n := float64(b.N) * 1e6
	b.ReportMetric(float64(self-s.self+children-s.children)/n, "cpu-ms/op")
	b.ReportMetric(float64(self-s.self)/n, "go-cpu-ms/op")
}

// heapPeak samples the heap every 2 ms through runtime/metrics
// (no stop-the-world) and keeps the largest live heap (as of the last
// collection) and the largest heap in use, garbage included.
type heapPeak struct {
	stop       chan struct{}
	done       chan struct{}
	live, heap uint64
}

func startHeapPeak() *heapPeak {
	runtime.GC()
	p := &heapPeak{stop: make(chan struct{}), done: make(chan struct{})}
	samples := []metrics.Sample{{Name: "/gc/heap/live:bytes"}, {Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(p.done)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(samples)
			p.live = max(p.live, samples[0].Value.Uint64())
			p.heap = max(p.heap, samples[1].Value.Uint64())
			select {
			case <-p.stop:
				return
			case <-t.C:
			}
		}
	}()
	return p
}

func (p *heapPeak) report(b *testing.B) {
	close(p.stop)
	<-p.done
	b.ReportMetric(float64(p.live)/(1<<20), "peak-live-MiB")
	b.ReportMetric(float64(p.heap)/(1<<20), "peak-heap-MiB")
}
