package setters

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// allNodes counts every node the parser builds for src, keys included.
func allNodes(t testing.TB, src []byte) int {
	t.Helper()
	var count func(*yaml.Node) int
	count = func(n *yaml.Node) int {
		c := 1
		for _, k := range n.Content {
			c += count(k)
		}
		return c
	}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	total := 0
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			return total // io.EOF, or where the parser gave up
		}
		total += count(&doc)
	}
}

// TestNodeBound checks that nodeBound is never below what the parser
// builds: on the densest shapes (the parser's worst case per byte), on
// indicators that make nodes without bytes of their own, on text the
// lexer could misread (quotes, comments, Unicode breaks), and on every
// file of the golden and fuzz test data.
func TestNodeBound(t *testing.T) {
	t.Parallel()
	inputs := map[string]string{
		"empty": "", "comment only": "# a, b: [c]\n",
		"flow sequence":             "[" + strings.Repeat("a,", 100) + "a]",
		"flow mapping":              "{" + strings.Repeat("a,", 100) + "a}",
		"empty flow pairs":          "[" + strings.Repeat(":,", 100) + ":]",
		"flow pairs without values": "[" + strings.Repeat("a:,", 100) + "]",
		"block sequence":            strings.Repeat("- a\n", 100),
		"nested sequences":          strings.Repeat("- ", 100) + "a\n",
		"empty entries":             strings.Repeat("-\n", 100),
		"empty values":              strings.Repeat("- a:\n", 100),
		"one empty value":           "a:",
		"explicit keys":             strings.Repeat("? \n", 100),
		"empty documents":           strings.Repeat("---\n", 100),
		"document ends":             strings.Repeat("a\n...\n", 100),
		"json":                      `{"a":1,"b":[1,2,{"c":"d"}],"e":{"f":null}}`,
		"aliases":                   "a: &x [1]\nb: [*x,*x,*x]\nc: *x\n",
		"tags":                      "a: !!str 1\nb: !t [!t a,!t b]\n",
		"quotes hiding a comment":   `a: "x #", b: [` + strings.Repeat("c,", 50) + "c]\n",
		"unicode line breaks":       strings.Repeat("a:\u2028b: c\u0085- d\u2029", 50),
		"multiline scalars":         "a: |\n  x, y: [z]\nb: >\n  - x\n",
	}
	for name, in := range inputs {
		if got, bound := allNodes(t, []byte(in)), nodeBound([]byte(in)); got > bound {
			t.Errorf("%s: parser built %d nodes, bound %d", name, got, bound)
		}
	}
	for _, dir := range []string{"testdata"} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			data, err := os.ReadFile(p) //nolint:gosec // test data
			if err != nil {
				return err
			}
			if got, bound := allNodes(t, data), nodeBound(data); got > bound {
				t.Errorf("%s: parser built %d nodes, bound %d", p, got, bound)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// worstFiles are marked YAML files as large as DefaultLimits allow, in
// the shapes that cost the parser the most: per node (empty documents,
// empty values, flow mappings), per byte (one long scalar), both at once,
// and ordinary Deployments.
func worstFiles(t testing.TB) map[string][]byte {
	t.Helper()
	marked := "image: registry.example/app:v1.0.0 # {\"$imagepolicy\": \"flux-system:app\"}\n"
	long := "x: \"" + strings.Repeat("x", DefaultLimits.MaxFileBytes-rewriteRoom-len(marked)-6) + "\"\n"
	files := map[string][]byte{
		"empty documents": fitLimits(t, "---\n", "---\n"+marked),
		"empty values":    fitLimits(t, "- a:\n", "- "+marked),
		"flow mappings":   fitLimits(t, "- {a,a,a,a}\n", "- "+marked),
		"deployments":     fitLimits(t, fmt.Sprintf(deploymentTemplate, 1, "# pinned")+"---\n", marked),
		"one long scalar": []byte(marked + long),
	}
	// Nodes to the limit, then bytes: a comment of one word, which the
	// parser keeps as a string.
	docs := fitLimits(t, "---\n", "---\n"+marked+"#x\n")
	files["nodes and bytes"] = append(docs[:len(docs)-1], strings.Repeat("x", DefaultLimits.MaxFileBytes-rewriteRoom-len(docs))+"\n"...)
	for name, f := range files {
		if _, why := defaultBudget.admit(f); why != "" {
			t.Fatalf("worst file %q is not allowed: %s", name, why)
		}
	}
	return files
}

// rewriteRoom is left under each limit so that a worst file still fits
// once its marked value is rewritten (longer, and with one more ':').
const rewriteRoom = 128

// fitLimits repeats unit, then adds tail, as often as DefaultLimits allow
// (less rewriteRoom).
func fitLimits(t testing.TB, unit, tail string) []byte {
	t.Helper()
	perUnit := (nodeBound([]byte(unit+unit)) - nodeBound([]byte(unit))) // starts are additive across whole lines
	n := min((DefaultLimits.MaxFileNodes-rewriteRoom-nodeBound([]byte(tail)))/perUnit, (DefaultLimits.MaxFileBytes-rewriteRoom-len(tail))/len(unit))
	return []byte(strings.Repeat(unit, n) + tail)
}

// heapDuring returns how many bytes of heap fn allocates, with the
// collector off: an upper bound on the peak it adds to the live heap.
// Not parallel-safe: it reads process-wide statistics.
func heapDuring(fn func()) uint64 {
	runtime.GC()
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.HeapAlloc - before.HeapAlloc
}

// worstHeapBound is what TestWorstAllowedFileHeap allows the worst file to
// add to the heap: measured at 161 MiB (empty documents up to the node
// limit, then a comment up to the byte limit), plus a 20% margin. Before
// these limits a 16 MiB marked file peaked at ~830 MiB.
const worstHeapBound = 192 << 20

// TestWorstAllowedFileHeap applies each worst file DefaultLimits admit and
// asserts the heap it adds while parsed (collector off, so every byte
// allocated counts) stays under worstHeapBound.
//
// Not parallel: it measures the process's heap.
func TestWorstAllowedFileHeap(t *testing.T) {
	for name, data := range worstFiles(t) {
		root := t.TempDir()
		writeFile(t, filepath.Join(root, "worst.yaml"), string(data), 0o600)
		var res Result
		var err error
		heap := heapDuring(func() { res, err = Apply(root, "", testImages()) })
		t.Logf("%-16s %8d bytes, node bound %7d: %4d MiB of heap", name, len(data), nodeBound(data), heap>>20)
		if err != nil || len(res.Skipped) != 0 || len(res.Changes) != 1 {
			t.Fatalf("%s: Apply = %d changes, skipped %+v, %v; want the file parsed and its one marker applied", name, len(res.Changes), res.Skipped, err)
		}
		if heap > worstHeapBound {
			t.Errorf("%s: parsing added %d MiB to the heap, want at most %d MiB", name, heap>>20, worstHeapBound>>20)
		}
	}
}

// TestApplySkipsFilesOverBudget puts the file of the issue (16 MiB, one
// marker) and a small file of more nodes than allowed next to ordinary
// marked files: the two are skipped unparsed and unchanged, each with the
// limit it exceeds, and the others are still updated.
//
// Not parallel: it measures the process's heap.
func TestApplySkipsFilesOverBudget(t *testing.T) {
	root := t.TempDir()
	big := strings.Repeat("- registry.example/filler:v1\n", (16<<20)/29) + markedApp
	dense := "[" + strings.Repeat("a,", DefaultLimits.MaxFileNodes/2) + "a]\n" + markedApp
	writeFile(t, filepath.Join(root, "big.yaml"), big, 0o600)
	writeFile(t, filepath.Join(root, "dense.yaml"), dense, 0o600)
	writeFile(t, filepath.Join(root, "apps/a.yaml"), markedApp, 0o600)
	writeFile(t, filepath.Join(root, "apps/z.yaml"), markedApp, 0o600)

	var res Result
	var err error
	heap := heapDuring(func() { res, err = Apply(root, "", testImages()) })
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Files(); len(got) != 2 || got[0] != "apps/a.yaml" || got[1] != "apps/z.yaml" {
		t.Errorf("changed %v, want apps/a.yaml and apps/z.yaml", got)
	}
	want := map[string]string{
		"big.yaml":   "larger than the limit of 4194304 bytes for files with image policy markers (--setter-max-file-bytes)",
		"dense.yaml": "over the limit of 400000 (--setter-max-file-nodes)",
	}
	if len(res.Skipped) != len(want) {
		t.Errorf("skipped %+v, want big.yaml and dense.yaml", res.Skipped)
	}
	for _, s := range res.Skipped {
		if !strings.Contains(s.Reason, want[s.File]) {
			t.Errorf("%s skipped because %q, want %q", s.File, s.Reason, want[s.File])
		}
	}
	if readString(t, filepath.Join(root, "big.yaml")) != big || readString(t, filepath.Join(root, "dense.yaml")) != dense {
		t.Error("a skipped file was written")
	}
	// Unparsed: reading is bounded by the byte limit (one buffer per
	// worker, then 64 KiB chunks); parsing dense.yaml alone would take
	// ~100 MiB.
	if limit := uint64(maxWorkers*(DefaultLimits.MaxFileBytes+512) + 8<<20); heap > limit {
		t.Errorf("Apply added %d MiB to the heap, want at most %d MiB: were skipped files parsed?", heap>>20, limit>>20)
	}
}

// TestBudgetParsesOneLargeFileAtATime checks the weights: a file at a
// limit takes the whole budget, two files over half a limit cannot be
// parsed together, and ordinary manifests can be parsed by the thousand.
func TestBudgetParsesOneLargeFileAtATime(t *testing.T) {
	t.Parallel()
	b, err := NewBudget(Limits{MaxFileBytes: 1 << 20, MaxFileNodes: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	full, _ := b.admit(bytes.Repeat([]byte("x"), 1<<20))
	if full != budgetUnits {
		t.Errorf("a file at the byte limit weighs %d, want the whole budget %d", full, budgetUnits)
	}
	overHalf, _ := b.admit(bytes.Repeat([]byte("- a\n"), 30_000)) // bound 2*60,000+2 nodes
	if overHalf != 0 {
		t.Fatalf("a file over the node limit weighs %d, want it refused", overHalf)
	}
	half, why := b.admit(bytes.Repeat([]byte("- a\n"), 13_000)) // bound 52,002 nodes
	if why != "" || half <= budgetUnits/2 {
		t.Fatalf("weight %d (%s), want over half the budget", half, why)
	}
	ctx := context.Background()
	if err := b.acquire(ctx, half); err != nil {
		t.Fatal(err)
	}
	if b.parsing.TryAcquire(half) {
		t.Error("two files over half the node limit were admitted together")
	}
	b.release(half)
	if !b.parsing.TryAcquire(half) {
		t.Error("the budget was not given back")
	}
	b.release(half)
	small, _ := defaultBudget.admit([]byte(fmt.Sprintf(deploymentTemplate, 1, "")))
	if n := budgetUnits / small; n < 1000 {
		t.Errorf("under DefaultLimits a Deployment weighs %d: only %d parse at once, want at least 1000", small, n)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if err := b.acquire(ctx, budgetUnits); err != nil {
		t.Fatal(err)
	}
	if err := b.acquire(canceled, 1); err == nil {
		t.Error("acquire on a full budget with a canceled context succeeded")
	}
	b.release(budgetUnits)
}

// BenchmarkWorstAllowedFile applies the worst file DefaultLimits admit.
func BenchmarkWorstAllowedFile(b *testing.B) {
	for name, data := range worstFiles(b) {
		b.Run(strings.ReplaceAll(name, " ", "-"), func(b *testing.B) {
			root := b.TempDir()
			writeFile(b, filepath.Join(root, "worst.yaml"), string(data), 0o600)
			imgs := [2]map[Policy]Image{{polApp: imgApp}, {polApp: {Name: imgApp.Name, Tag: "v9", Digest: imgWeb.Digest}}}
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for i := range b.N {
				res, err := Apply(root, "", imgs[i%2])
				if err != nil || len(res.Changes) != 1 {
					b.Fatalf("Apply = %d changes, skipped %+v, %v", len(res.Changes), res.Skipped, err)
				}
			}
		})
	}
}

// FuzzNodeBound checks that nodeBound is never below the nodes the
// parser returns, for any input (up to its first invalid document).
func FuzzNodeBound(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	for _, s := range []string{"[:]", "{a}", "? \n", "---\n---", "- a:\n- b:", `{"a":b}`, "a:\u2028b:", "&x [*x,*x]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		defer func() { _ = recover() }() // parser panics are FuzzApply's concern
		if got, bound := allNodes(t, in), nodeBound(in); got > bound {
			t.Fatalf("parser built %d nodes, bound %d, for %q", got, bound, in)
		}
	})
}

// TestReserveSharesTheBudget: Reserve, what parallel readers of history
// (imagegate audit) parse under, weighs files as Apply does: while a file
// over half the node limit is reserved, a second cannot be, and a file
// over the limits weighs the whole budget; release gives it back.
func TestReserveSharesTheBudget(t *testing.T) {
	t.Parallel()
	b, err := NewBudget(Limits{MaxFileBytes: 1 << 20, MaxFileNodes: 100_000})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	half := bytes.Repeat([]byte("- a\n"), 13_000) // bound 52,002 nodes
	release, err := b.Reserve(ctx, half)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := b.admit(half)
	if b.parsing.TryAcquire(w) {
		t.Error("two files over half the node limit were reserved together")
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := b.Reserve(canceled, half); err == nil {
		t.Error("Reserve on a budget without room, with a canceled context, succeeded")
	}
	release()
	over, err := b.Reserve(ctx, bytes.Repeat([]byte("- a\n"), 30_000)) // over the node limit
	if err != nil {
		t.Fatal(err)
	}
	if b.parsing.TryAcquire(1) {
		t.Error("a file over the limits did not weigh the whole budget")
	}
	over()
	if !b.parsing.TryAcquire(budgetUnits) {
		t.Error("the budget was not given back")
	}
}
