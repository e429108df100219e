package admission

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/records"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// requestsPerVerification is what verifying a new digest (by digest,
// signed in the legacy format, key authority) costs against a registry the
// webhook has not talked to yet: the /v2/ ping, the referrers API (404 on
// this registry), the referrers tag-schema fallback, the .sig manifest and
// the signature layer. A tag reference adds one HEAD to resolve it. The
// tests that verify list the requests when the count changes.
const requestsPerVerification = 5

func mustDenyWith(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("admitted, want a denial")
	}
	t.Logf("denial: %v", err)
	for _, w := range wants {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("denial %q lacks %q", err, w)
		}
	}
}

func TestSignedDeploymentIsVerifiedRecordedAndReappliedWithoutRegistry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pol := f.clusterPolicy(t)
	d := f.signedImage(t, "web")
	dep := deployment(f.ns, "web", d.String())
	if err := f.cl.c.Create(t.Context(), dep); err != nil {
		t.Fatalf("signed digest denied: %v", err)
	}
	if reqs := f.reg.Requests(); len(reqs) != requestsPerVerification {
		t.Errorf("one cold verification sent %d registry requests, want %d:\n%s", len(reqs), requestsPerVerification, strings.Join(reqs, "\n"))
	}
	var iv igv1.ImageVerification
	if err := f.cl.c.Get(t.Context(), client.ObjectKey{Name: igv1.ImageVerificationName(d.DigestStr(), pol.Hash)}, &iv); err != nil {
		t.Fatalf("no ImageVerification recorded: %v", err)
	}
	if iv.Status.Result != igv1.ResultVerified || iv.Spec.Digest != d.DigestStr() || iv.Status.ExpiresAt == nil {
		t.Fatalf("record %+v", iv)
	}
	if a := f.auditOf(t, opCreate, "Deployment.apps"); len(a) != 1 || a[0].Containers["web"].Path != string(PathVerified) {
		t.Fatalf("audit %+v", a)
	}

	// Flux re-applies every workload every few minutes; here each change
	// touches the Pod template (as a rollout restart does) but no image.
	f.reg.ResetRequests()
	for i := range 100 {
		dep.Spec.Template.Annotations = map[string]string{"example.com/restartedAt": strconv.Itoa(i)}
		if err := f.cl.c.Update(t.Context(), dep); err != nil {
			t.Fatalf("re-apply %d denied: %v", i, err)
		}
	}
	if reqs := f.reg.Requests(); len(reqs) != 0 {
		t.Fatalf("100 re-applies sent %d registry requests, want 0:\n%s", len(reqs), strings.Join(reqs, "\n"))
	}
	updates := f.auditOf(t, opUpdate, "Deployment.apps")
	for _, a := range updates {
		if a.Containers["web"].Path != string(PathUnchanged) {
			t.Fatalf("re-apply decided by %+v, want unchanged", a)
		}
	}
	if len(updates) != 100 {
		t.Fatalf("%d re-applies reached the webhook, want 100", len(updates))
	}

	// Updates that leave spec alone never reach it (matchConditions): with
	// the webhook down they would otherwise be refused too.
	for i := range 10 {
		dep.Labels = map[string]string{"example.com/touched": strconv.Itoa(i)}
		if err := f.cl.c.Update(t.Context(), dep); err != nil {
			t.Fatalf("metadata update %d: %v", i, err)
		}
	}
	if n := len(f.auditOf(t, opUpdate, "Deployment.apps")); n != 100 {
		t.Fatalf("%d updates reached the webhook after 10 metadata-only ones, want still 100", n)
	}
}

func TestUnsignedDeploymentIsDeniedWithWhatToDo(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clusterPolicy(t)
	d := f.reg.PushImage(t, "web", "v1")
	err := f.cl.c.Create(t.Context(), deployment(f.ns, "web", d.String()))
	mustDenyWith(t, err, d.String(), `container "web"`, "ClusterTrustPolicy registry-"+f.ns, "[NoSignature]", `sign it with the key of authority "key-0"`)
	if !apierrors.IsForbidden(err) {
		t.Errorf("denial is not Forbidden: %v", err)
	}
}

func TestPodsOfAReplicaSetAreAdmittedAsItsChildren(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clusterPolicy(t)
	d := f.signedImage(t, "web")
	tagged := f.reg.Repo("web") + ":v1" // by tag: admitting it again would cost a resolve
	rs := replicaSet(f.ns, "web-5d", tagged)
	if err := f.cl.c.Create(t.Context(), rs); err != nil {
		t.Fatalf("ReplicaSet of a signed image denied: %v", err)
	}
	waitFor(t, "the ReplicaSet in the webhook's owner index", func(ctx context.Context) (bool, error) {
		o, found, err := f.cl.wh.Owners.Owner(ctx, appsv1.SchemeGroupVersion.WithKind("ReplicaSet").GroupKind(), rs.Namespace, rs.Name)
		return found && o.UID == string(rs.UID), err
	})
	f.reg.ResetRequests()
	for i := range 3 {
		if err := f.cl.c.Create(t.Context(), testPod(f.ns, fmt.Sprintf("web-5d-%d", i), tagged, ownedBy(rs))); err != nil {
			t.Fatalf("child Pod denied: %v", err)
		}
	}
	if reqs := f.reg.Requests(); len(reqs) != 0 {
		t.Fatalf("child Pods sent %d registry requests, want 0: %q", len(reqs), reqs)
	}
	for _, a := range f.auditOf(t, opCreate, "Pod") {
		if a.Containers["web"].Path != string(PathChild) {
			t.Fatalf("child Pod decided by %+v", a)
		}
	}
	// A Pod claiming the ReplicaSet does not borrow its approval for another image.
	other := f.reg.PushImage(t, "other", "v1")
	mustDenyWith(t, f.cl.c.Create(t.Context(), testPod(f.ns, "impostor", other.String(), ownedBy(rs))), "[NoSignature]")
	_ = d
}

func TestRecordedDigestIsAdmittedWithoutRegistry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pol := f.clusterPolicy(t)
	d := f.reg.PushImage(t, "web", "v1") // unsigned: only the record can admit it
	iv := record(d, pol)
	if err := f.cl.c.Create(t.Context(), iv); err != nil {
		t.Fatalf("trusted writer denied: %v", err)
	}
	now := time.Now()
	iv.Status = igv1.ImageVerificationStatus{Result: igv1.ResultVerified, Reason: string(verify.ReasonVerified),
		VerifiedAt: &metav1.Time{Time: now}, ExpiresAt: &metav1.Time{Time: now.Add(time.Hour)}}
	if err := f.cl.c.Status().Update(t.Context(), iv); err != nil {
		t.Fatalf("trusted writer denied a status update: %v", err)
	}
	cached := records.NewStore(f.cl.mgr.GetCache(), nil, nil, nil)
	waitFor(t, "the record in the webhook's cache", func(ctx context.Context) (bool, error) {
		_, ok, err := cached.LookupVerified(ctx, d.DigestStr(), pol.Hash)
		return ok, err
	})
	if err := f.cl.c.Create(t.Context(), testPod(f.ns, "web", d.String())); err != nil {
		t.Fatalf("recorded digest denied: %v", err)
	}
	if reqs := f.reg.Requests(); len(reqs) != 0 {
		t.Fatalf("a recorded digest sent %d registry requests, want 0: %q", len(reqs), reqs)
	}
	if a := f.auditOf(t, opCreate, "Pod"); len(a) != 1 || a[0].Containers["web"].Path != string(PathRecorded) {
		t.Fatalf("audit %+v", a)
	}
}

func TestConcurrentCreatesOfANewDigestShareOneVerification(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pol := f.clusterPolicy(t)
	d := f.signedImage(t, "web")
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for i := range 100 {
		wg.Go(func() {
			errs <- f.cl.c.Create(t.Context(), testPod(f.ns, fmt.Sprintf("web-%d", i), d.String()))
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("a concurrent create was denied: %v", err)
		}
	}
	if reqs := f.reg.Requests(); len(reqs) != requestsPerVerification {
		t.Fatalf("100 concurrent creates sent %d registry requests, want one verification's %d:\n%s", len(reqs), requestsPerVerification, strings.Join(reqs, "\n"))
	}
	paths := map[string]int{}
	for _, a := range f.auditOf(t, opCreate, "Pod") {
		paths[a.Containers["web"].Path]++
	}
	if paths[string(PathVerified)]+paths[string(PathRecorded)] != 100 {
		t.Fatalf("paths %v, want 100 verified or recorded", paths)
	}
	var iv igv1.ImageVerification
	if err := f.cl.c.Get(t.Context(), client.ObjectKey{Name: igv1.ImageVerificationName(d.DigestStr(), pol.Hash)}, &iv); err != nil {
		t.Fatalf("no record: %v", err)
	}
}

func TestDryRunRecordsNothing(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pol := f.clusterPolicy(t)
	d := f.signedImage(t, "web")
	if err := f.cl.c.Create(t.Context(), testPod(f.ns, "web", d.String()), client.DryRunAll); err != nil {
		t.Fatalf("dry run denied: %v", err)
	}
	err := f.cl.c.Get(t.Context(), client.ObjectKey{Name: igv1.ImageVerificationName(d.DigestStr(), pol.Hash)}, &igv1.ImageVerification{})
	if !apierrors.IsNotFound(err) {
		t.Fatalf("a dry run left a record (err = %v)", err)
	}
}

func TestWarnModeAdmitsWithKubernetesWarnings(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.namespacedPolicy(t, testenv.WithMode(igv1.PolicyModeWarn))
	d := f.reg.PushImage(t, "web", "v1")
	warnings := &warningCollector{}
	c := f.client(t, func(cfg *rest.Config) { cfg.WarningHandlerWithContext = warnings })
	if err := c.Create(t.Context(), testPod(f.ns, "web", d.String())); err != nil {
		t.Fatalf("warn mode denied: %v", err)
	}
	if w := warnings.all(); !strings.Contains(w, "warn mode") || !strings.Contains(w, d.String()) || !strings.Contains(w, "NoSignature") {
		t.Fatalf("warnings %q", w)
	}
	if a := f.auditOf(t, opCreate, "Pod"); len(a) != 1 || a[0].Containers["web"].Decision != "warn" {
		t.Fatalf("audit %+v", a)
	}
}

func TestRequireDigestDeniesATag(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.namespacedPolicy(t, testenv.WithRequireDigest())
	d := f.signedImage(t, "web")
	mustDenyWith(t, f.cl.c.Create(t.Context(), deployment(f.ns, "by-tag", f.reg.Repo("web")+":v1")), "[DigestRequired]", "pin a digest")
	if reqs := f.reg.Requests(); len(reqs) != 0 {
		t.Fatalf("denying a tag sent registry requests: %q", reqs)
	}
	if err := f.cl.c.Create(t.Context(), deployment(f.ns, "by-digest", d.String())); err != nil {
		t.Fatalf("a signed digest under requireDigest denied: %v", err)
	}
}
