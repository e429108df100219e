package admission

import (
	"context"
	"fmt"
	"os"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/testenv"
)

// BenchOwnersEnv sets how many ReplicaSets BenchmarkOwnerIndexHeap fills
// its control plane with: comma-separated steps, default "0,10000,40000".
const BenchOwnersEnv = "IMAGEGATE_BENCH_REPLICASETS"

// BenchmarkOwnerIndexHeap measures the webhook's owner index against a
// control plane of its own (no webhook configured) filled with ReplicaSets
// as a Deployment's controller writes them (benchReplicaSet: three
// containers, labels, annotations, probes, resources, an owner reference;
// ~3 KB of JSON each, with the managedFields the API server adds): the
// live heap after a GC with the index synced, minus the same before it
// started, per ReplicaSet held. Each step adds ReplicaSets to the ones
// before; ten ReplicaSets share the images of one Deployment, as old
// ReplicaSets of one Deployment do after image changes.
//
//	go test ./internal/admission -run '^$' -bench OwnerIndexHeap -benchtime 1x -timeout 0
func BenchmarkOwnerIndexHeap(b *testing.B) {
	cp := testenv.StartControlPlane(b)
	cfg := rest.CopyConfig(cp.Config)
	cfg.QPS = -1
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: cp.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	steps, err := ownerSteps(os.Getenv(BenchOwnersEnv), []int{0, 10000, 40000})
	if err != nil {
		b.Fatal(err)
	}
	have := 0
	for _, n := range steps {
		b.Run(fmt.Sprintf("replicasets=%d", n), func(b *testing.B) {
			start := time.Now()
			if err := createReplicaSets(b.Context(), c, "bench-owners", have, n); err != nil {
				b.Fatal(err)
			}
			if have < n {
				b.Logf("created %d ReplicaSets in %s", n-have, time.Since(start).Round(time.Second))
				have = n
			}
			for b.Loop() {
				heap, synced := measureOwnerIndex(b, c, n)
				b.ReportMetric(float64(heap)/(1<<20), "heap-MiB")
				if n > 0 {
					b.ReportMetric(float64(heap)/float64(n), "heap-B/owner")
				}
				b.ReportMetric(synced.Seconds(), "sync-s")
			}
		})
	}
}

// measureOwnerIndex starts an index, waits until it holds n owners, and
// returns the live heap it added and how long it took to sync.
func measureOwnerIndex(b *testing.B, c client.WithWatch, n int) (int64, time.Duration) {
	ctx, cancel := context.WithCancel(b.Context())
	before := heapAlloc()
	start := time.Now()
	idx := NewOwnerIndex(c, DefaultMaxImagesPerObject)
	done := make(chan struct{})
	go func() { _ = idx.Start(ctx); close(done) }()
	if err := idx.WaitForSync(ctx); err != nil {
		b.Fatal(err)
	}
	synced := time.Since(start)
	if got := idx.Len(); got != n {
		b.Fatalf("the index holds %d owners, want %d", got, n)
	}
	after := heapAlloc()
	if path := os.Getenv(benchHeapProfileEnv); path != "" {
		writeHeapProfile(b, fmt.Sprintf("%s.%d", path, n))
	}
	if got := idx.Len(); got != n { // keeps idx alive past the measurement
		b.Fatalf("the index holds %d owners, want %d", got, n)
	}
	cancel()
	<-done
	return int64(after) - int64(before), synced
}

// benchHeapProfileEnv, when set to PATH, has BenchmarkOwnerIndexHeap
// write the heap profile of each step to PATH.N with the index live.
const benchHeapProfileEnv = "IMAGEGATE_BENCH_HEAPPROFILE"

func writeHeapProfile(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

func ownerSteps(s string, def []int) ([]int, error) {
	if s == "" {
		return def, nil
	}
	var out []int
	for _, f := range splitCounts(s) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%s: %q is not a count", BenchOwnersEnv, f)
		}
		out = append(out, n)
	}
	return out, nil
}

func splitCounts(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

// createReplicaSets creates ReplicaSets from..to-1 in namespace ns (created
// if missing), 16 at a time.
func createReplicaSets(ctx context.Context, c client.Client, ns string, from, to int) error {
	if from >= to {
		return nil
	}
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); client.IgnoreAlreadyExists(err) != nil {
		return err
	}
	var next atomic.Int64
	next.Store(int64(from))
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= to {
					return
				}
				if err := c.Create(ctx, benchReplicaSet(ns, i)); err != nil {
					errs <- fmt.Errorf("ReplicaSet %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// benchReplicaSet is ReplicaSet i as a Deployment's controller writes it:
// Deployment i/10, revision i%10, images of that revision.
func benchReplicaSet(ns string, i int) *appsv1.ReplicaSet {
	dep, rev := i/10, i%10
	hash := fmt.Sprintf("%010x", uint32(i)*2654435761)
	labels := map[string]string{"app.kubernetes.io/name": fmt.Sprintf("svc-%d", dep), "app.kubernetes.io/part-of": "shop", "pod-template-hash": hash}
	image := func(name string) string {
		return fmt.Sprintf("registry.example/team/%s-%d:v1.%d.0@sha256:%064x", name, dep, rev, uint64(dep)<<8|uint64(rev))
	}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromInt32(8080)}}, PeriodSeconds: 10}
	res := corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
	}
	env := []corev1.EnvVar{{Name: "LOG_LEVEL", Value: "info"}, {Name: "PORT", Value: "8080"}, {Name: "OTEL_EXPORTER_OTLP_ENDPOINT", Value: "http://otel-collector.observability:4317"}}
	return &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: ns, Name: fmt.Sprintf("svc-%d-%s", dep, hash), Labels: labels,
			Annotations: map[string]string{"deployment.kubernetes.io/desired-replicas": "2", "deployment.kubernetes.io/max-replicas": "3", "deployment.kubernetes.io/revision": strconv.Itoa(rev + 1)},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: fmt.Sprintf("svc-%d", dep),
				UID: "00000000-0000-4000-8000-000000000000", Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}},
		},
		Spec: appsv1.ReplicaSetSpec{
			Replicas: ptr.To[int32](0),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"kubectl.kubernetes.io/restartedAt": "2026-12-01T10:00:00Z"}},
				Spec: corev1.PodSpec{
					InitContainers: []corev1.Container{{Name: "migrate", Image: image("migrate"), Args: []string{"--up"}, Env: env, Resources: res}},
					Containers: []corev1.Container{
						{Name: "app", Image: image("app"), Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}, Env: env, Resources: res, ReadinessProbe: probe, LivenessProbe: probe},
						{Name: "proxy", Image: "registry.example/platform/envoy:v1.31.2@sha256:" + fmt.Sprintf("%064x", 7), Resources: res},
					},
					ServiceAccountName: fmt.Sprintf("svc-%d", dep),
					SecurityContext:    &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true)},
				},
			},
		},
	}
}
