package admission

import (
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/cache"
	"github.com/imagegate/imagegate/internal/testenv"
)

// requestsPerUnknownDigest is what verifying a digest nobody pushed costs
// a registry the webhook already pinged: the referrers API (404 on this
// registry), the referrers tag-schema fallback and the .sig manifest, all
// not found: NoSignature, a permanent denial. A digest reference needs no
// request to resolve.
const requestsPerUnknownDigest = 3

// Anyone who may create a Pod can name digests nobody ever pushed, as many
// as they like, and each is denied. Denials leave no object in the
// cluster: they are kept in the webhook's memory, under a cap of their
// own, so a flood neither grows the cluster (and both roles' informer
// caches) nor pushes verified digests out of the cache.
//
// Not parallel: it counts the entries of the shared webhook's cache, which
// the other tests fill too; sequential tests run alone.
func TestAFloodOfDigestsNobodyPushedLeavesNoObjects(t *testing.T) {
	f := newFixture(t)
	f.clusterPolicy(t)
	f.signedImage(t, "web")
	tagged := f.reg.Repo("web") + ":v1"
	if err := f.cl.c.Create(t.Context(), testPod(f.ns, "tagged-0", tagged)); err != nil {
		t.Fatalf("signed tag denied: %v", err)
	}
	c := f.cl.wh.Checker.Cache()
	verified, calls := c.Len(cache.ClassVerified), c.Calls()
	f.reg.ResetRequests()

	const flood, beyond = 1000, 100
	denied := f.flood(t, 0, flood)
	if denied != flood {
		t.Fatalf("%d of %d Pods naming digests nobody pushed denied", denied, flood)
	}
	if got := len(f.reg.Requests()); got != flood*requestsPerUnknownDigest {
		t.Fatalf("%d registry requests for %d denials, want %d each", got, flood, requestsPerUnknownDigest)
	}
	if got := c.Calls() - calls; got != flood {
		t.Errorf("%d verifications for %d new digests, want one each", got, flood)
	}
	if n := f.records(t); n != 1 {
		t.Errorf("%d ImageVerifications of the fixture's registry after the flood, want 1 (the signed tag's)", n)
	}
	if got, want := c.Len(cache.ClassDenied), min(flood, cache.MaxDeniedEntries); got != want {
		t.Errorf("%d denials held in memory after %d, want %d", got, flood, want)
	}

	// Past the cap the oldest denials make room; the count stays.
	if denied := f.flood(t, flood, beyond); denied != beyond {
		t.Fatalf("%d of %d more Pods denied", denied, beyond)
	}
	if got := c.Len(cache.ClassDenied); got != cache.MaxDeniedEntries {
		t.Errorf("%d denials held in memory after %d, want the cap, %d", got, flood+beyond, cache.MaxDeniedEntries)
	}
	if n := f.records(t); n != 1 {
		t.Errorf("%d ImageVerifications of the fixture's registry, want 1", n)
	}

	// The verified tag survived: admitting it again costs the tag's HEAD
	// and no verification.
	if got := c.Len(cache.ClassVerified); got != verified {
		t.Errorf("%d verified entries after the flood, want the %d before it", got, verified)
	}
	f.reg.ResetRequests()
	calls = c.Calls()
	if err := f.cl.c.Create(t.Context(), testPod(f.ns, "tagged-1", tagged)); err != nil {
		t.Fatalf("signed tag denied after the flood: %v", err)
	}
	if reqs := f.reg.Requests(); c.Calls() != calls || len(reqs) != 1 || !strings.HasPrefix(reqs[0], "HEAD ") {
		t.Fatalf("after the flood the verified tag cost %d verifications and requests %v, want 0 and one HEAD", c.Calls()-calls, reqs)
	}
}

// flood creates n Pods, each naming a digest nobody pushed to the
// fixture's registry (from, from+1, ...), eight at a time, and returns
// how many the webhook denied as unsigned.
func (f *fixture) flood(t *testing.T, from, n int) int {
	t.Helper()
	var denied atomic.Int64
	work := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for i := range work {
				sum := sha256.Sum256(fmt.Appendf(nil, "%s/%d", f.ns, i))
				image := fmt.Sprintf("%s@sha256:%x", f.reg.Repo("web"), sum)
				err := f.cl.c.Create(t.Context(), testPod(f.ns, fmt.Sprintf("nobody-%d", i), image))
				if err != nil && strings.Contains(err.Error(), "[NoSignature]") {
					denied.Add(1)
				} else {
					t.Errorf("Pod %d: %v, want a NoSignature denial", i, err)
				}
			}
		})
	}
	for i := from; i < from+n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	return int(denied.Load())
}

// records counts the ImageVerifications of images in the fixture's
// registry.
func (f *fixture) records(t *testing.T) int {
	t.Helper()
	var l igv1.ImageVerificationList
	if err := f.cl.c.List(t.Context(), &l, client.UnsafeDisableDeepCopy); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, iv := range l.Items {
		if strings.HasPrefix(iv.Spec.Image, f.reg.Host()+"/") {
			n++
		}
	}
	return n
}

// An exception admits any digest its glob covers, so a Pod creator can
// name made-up digests under it as freely as unsigned ones. The webhook
// evaluates the exception from the policy at each admission and records
// nothing: admitting them costs no object and no registry request.
func TestExceptedDigestsLeaveNoRecords(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.namespacedPolicy(t, testenv.WithException(f.reg.Repo("legacy"), "vendor build", time.Now().Add(24*time.Hour)))
	const pods = 20
	for i := range pods {
		sum := sha256.Sum256(fmt.Appendf(nil, "%s/legacy/%d", f.ns, i))
		image := fmt.Sprintf("%s@sha256:%x", f.reg.Repo("legacy"), sum)
		if err := f.cl.c.Create(t.Context(), testPod(f.ns, fmt.Sprintf("legacy-%d", i), image)); err != nil {
			t.Fatalf("excepted digest denied: %v", err)
		}
	}
	if a := f.auditOf(t, opCreate, "Pod"); len(a) != pods || a[0].Containers["web"].Path != string(PathException) {
		t.Fatalf("%d audit lines, first %+v; want %d on the exception path", len(a), a, pods)
	}
	if n := f.records(t); n != 0 {
		t.Errorf("%d ImageVerifications for %d excepted digests, want 0", n, pods)
	}
	if reqs := f.reg.Requests(); len(reqs) != 0 {
		t.Errorf("%d registry requests, want 0:\n%s", len(reqs), strings.Join(reqs, "\n"))
	}
}
