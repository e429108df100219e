package gate

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	imagev1 "github.com/fluxcd/image-reflector-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/records"
	"github.com/imagegate/imagegate/internal/registry"
	"github.com/imagegate/imagegate/internal/secrets"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/trust"
	"github.com/imagegate/imagegate/internal/verify"
)

// fleet is many ImageGates in one namespace writing one signed selection
// to repositories of one Git server, gate i to repository i % repos.
type fleet struct {
	ns    string
	git   *testenv.GitServer
	gates []string
	rec   *Reconciler
	store *trust.Store
}

// fleetFiles is how many filler files each repository holds besides the
// marked manifest, fleetFileBytes the size of each (random, so that Git
// cannot compress them away): about 400 KiB of content per repository.
const (
	fleetFiles     = 200
	fleetFileBytes = 2048
)

// benchSize reads a benchmark size from the environment (for runs larger
// than the default on a bigger machine).
func benchSize(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}

func newFleet(b *testing.B, gates, repos, policies int) *fleet {
	b.Helper()
	ctx := context.Background()
	f := &fleet{ns: fmt.Sprintf("bench-%d", nsCounter.Add(1)), git: testenv.NewGitServer(b)}
	if err := cp.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.ns}}); err != nil {
		b.Fatal(err)
	}
	reg := testenv.NewRegistry(b)
	key := testenv.NewCosignKey(b)
	d := reg.PushImage(b, "web", "v1")
	testenv.SignLegacy(b, d, key)
	create := func(obj client.Object) {
		if err := cp.Client.Create(ctx, obj); err != nil {
			b.Fatalf("create %T %s: %v", obj, obj.GetName(), err)
		}
	}
	create(testenv.TrustPolicy(f.ns, "signed", testenv.KeyPolicySpec(reg.Host()+"/**", key.PublicPEM)))
	for i := range policies {
		create(testenv.TrustPolicy(f.ns, fmt.Sprintf("team-%d", i), testenv.KeyPolicySpec(fmt.Sprintf("team-%d.example/**", i), key.PublicPEM)))
	}
	create(testenv.ImagePolicy(f.ns, "web", nil))
	var ip imagev1.ImagePolicy
	if err := cp.Client.Get(ctx, client.ObjectKey{Namespace: f.ns, Name: "web"}, &ip); err != nil {
		b.Fatal(err)
	}
	ip.Status.LatestRef = &imagev1.ImageRef{Name: reg.Repo("web"), Tag: "v1", Digest: d.DigestStr()}
	if err := cp.Client.Status().Update(ctx, &ip); err != nil {
		b.Fatal(err)
	}
	for r := range repos {
		seed := fstest.MapFS{"deploy/web.yaml": {Data: []byte(fmt.Sprintf(manifest, "web", reg.Repo("web")+":v0", f.ns))}}
		for i := range fleetFiles {
			seed[fmt.Sprintf("filler/%03d.txt", i)] = &fstest.MapFile{Data: randomText(b, fleetFileBytes)}
		}
		name := fmt.Sprintf("repo-%d", r)
		create(testenv.GitRepository(f.ns, name, f.git.CreateRepo(b, name, seed), "main"))
	}
	for g := range gates {
		name := fmt.Sprintf("gate-%d", g)
		create(testenv.ImageGate(f.ns, name, fmt.Sprintf("repo-%d", g%repos), "./deploy"))
		f.gates = append(f.gates, name)
	}
	regc := registry.New(registry.Options{AllowInsecure: true})
	checker := cache.NewChecker(regc, verify.New(regc), cache.CheckerOptions{})
	f.store = trust.NewStore(cp.Client, secrets.Reader{Client: cp.Client}, nil, 0)
	if err := f.store.Load(ctx); err != nil {
		b.Fatal(err)
	}
	f.rec = &Reconciler{Client: cp.Client, Checker: checker, Records: records.NewStore(cp.Client, cp.Client, checker.TTL, nil), Policies: f.store}
	return f
}

func randomText(b *testing.B, n int) []byte {
	raw := make([]byte, n*3/4)
	if _, err := rand.Read(raw); err != nil {
		b.Fatal(err)
	}
	return []byte(base64.StdEncoding.EncodeToString(raw))
}

// interval reconciles every gate once, as one interval of the fleet.
func (f *fleet) interval(b *testing.B, before func()) {
	b.Helper()
	for _, name := range f.gates {
		if before != nil {
			before()
		}
		if _, err := f.rec.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKey{Namespace: f.ns, Name: name}}); err != nil {
			b.Fatalf("reconcile %s: %v", name, err)
		}
	}
}

// BenchmarkIdleGates runs a fleet of gates (IMAGEGATE_BENCH_GATES,
// default 100) on repositories of the test Git server
// (IMAGEGATE_BENCH_REPOS, default 10; each holds fleetFiles random files
// of fleetFileBytes) for one interval that writes the selection, then for
// 10 idle intervals, with the idle check on and off, and reports what the
// idle intervals cost the Git server per reconcile. With the check off
// every idle reconcile clones, so IMAGEGATE_BENCH_OFF_INTERVALS (default
// 10) shortens that half at large sizes; the figures are per reconcile.
// Run with -benchtime=1x: one iteration is the whole scenario.
func BenchmarkIdleGates(b *testing.B) {
	gates, repos := benchSize("IMAGEGATE_BENCH_GATES", 100), benchSize("IMAGEGATE_BENCH_REPOS", 10)
	for _, off := range []bool{false, true} {
		intervals := 10
		if off {
			intervals = benchSize("IMAGEGATE_BENCH_OFF_INTERVALS", 10)
		}
		b.Run(fmt.Sprintf("gates=%d/repos=%d/idle-check=%v/intervals=%d", gates, repos, !off, intervals), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				f := newFleet(b, gates, repos, 0)
				f.rec.NoIdleCheck = off
				f.interval(b, nil)
				before := f.git.Stats()
				b.StartTimer()
				for range intervals {
					f.interval(b, nil)
				}
				b.StopTimer()
				c := f.git.Stats().Sub(before)
				n := float64(gates * intervals)
				b.ReportMetric(float64(c.Requests)/n, "git-req/reconcile")
				b.ReportMetric(float64(c.UploadPack)/n, "upload-pack/reconcile")
				b.ReportMetric(float64(c.BytesOut+c.BytesIn)/n, "git-bytes/reconcile")
				b.ReportMetric(float64(c.BytesOut+c.BytesIn), "git-bytes-total")
				b.StartTimer()
			}
		})
	}
}

// BenchmarkReconcileWithManyPolicies measures the gate's CPU per idle
// reconcile (user+system time of this process: the API server and the
// Git server's processes are not counted) with IMAGEGATE_BENCH_POLICIES
// TrustPolicies (default 1,000) beside the one that judges, and 100 gates
// on 10 repositories: with the shared policy set, and with every policy
// compiled before each reconcile, which is what each reconcile did before
// the set was shared (list the namespace's and the cluster's policies,
// compile each). Run with -benchtime=1x.
func BenchmarkReconcileWithManyPolicies(b *testing.B) {
	policies := benchSize("IMAGEGATE_BENCH_POLICIES", 1000)
	const gates, repos, rounds = 100, 10, 3
	// Compiling per reconcile runs first: the store lists every
	// namespace, and the old code compiled only the gate's namespace's
	// policies (and the cluster's), so no other fleet may exist yet.
	for _, perReconcile := range []bool{true, false} {
		name := "shared-set"
		if perReconcile {
			name = "compile-per-reconcile"
		}
		b.Run(fmt.Sprintf("policies=%d/%s", policies, name), func(b *testing.B) {
			for b.Loop() {
				b.StopTimer()
				f := newFleet(b, gates, repos, policies)
				f.interval(b, nil)
				var before func()
				if perReconcile {
					before = func() {
						if err := f.store.Load(context.Background()); err != nil {
							b.Fatal(err)
						}
					}
				}
				compiles := f.store.Compiles()
				cpu := cpuTime(b)
				b.StartTimer()
				for range rounds {
					f.interval(b, before)
				}
				b.StopTimer()
				n := float64(gates * rounds)
				b.ReportMetric(float64((cpuTime(b)-cpu).Microseconds())/1000/n, "cpu-ms/reconcile")
				b.ReportMetric(float64(f.store.Compiles()-compiles)/n, "compiles/reconcile")
				b.StartTimer()
			}
		})
	}
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
