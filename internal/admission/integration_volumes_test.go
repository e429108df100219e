package admission

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
)

// Image volumes (spec.volumes[].image.reference, GA and locked on in the
// test control plane's Kubernetes 1.37) go through the API server to the
// webhook like container images.

func TestUnsignedImageVolumeOfAPodIsDeniedNamingIt(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clusterPolicy(t)
	web := f.signedImage(t, "web")
	models := f.reg.PushImage(t, "models", "v1") // unsigned
	err := f.cl.c.Create(t.Context(), testPod(f.ns, "web", web.String(), withSpec(testenv.WithImageVolume("models", models.String()))))
	mustDenyWith(t, err, fmt.Sprintf("image %q of image volume \"models\"", models.String()), "[NoSignature]", `sign it with the key of authority "key-0"`)
	if strings.Contains(err.Error(), `container "web"`) {
		t.Errorf("denial %q names the signed container", err)
	}
	a := f.auditOf(t, opCreate, "Pod")
	if len(a) != 1 || a[0].Containers["web"].Path != string(PathVerified) || a[0].Volumes["models"].Path != string(PathDenied) || a[0].Volumes["models"].Field != fieldVolumes {
		t.Fatalf("audit %+v", a)
	}

	// The API server itself refuses an image volume without a reference
	// on a new object: the webhook is not asked.
	err = f.cl.c.Create(t.Context(), testPod(f.ns, "empty", web.String(), withSpec(testenv.WithImageVolume("models", ""))))
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "spec.volumes[0].image.reference") {
		t.Fatalf("empty image volume reference: %v, want the API server's Invalid", err)
	}
	if n := len(f.auditOf(t, opCreate, "Pod")); n != 1 {
		t.Fatalf("%d Pod CREATEs reached the webhook, want still 1", n)
	}
}

func TestUnsignedImageVolumeOfADeploymentTemplateIsDenied(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clusterPolicy(t)
	web := f.signedImage(t, "web")
	models := f.reg.PushImage(t, "models", "v1")
	err := f.cl.c.Create(t.Context(), deployment(f.ns, "web", web.String(), testenv.WithImageVolume("models", models.String())))
	mustDenyWith(t, err, fmt.Sprintf("image %q of image volume \"models\"", models.String()), "ClusterTrustPolicy registry-"+f.ns, "[NoSignature]")
	if a := f.auditOf(t, opCreate, "Deployment.apps"); len(a) != 1 || a[0].Volumes["models"].Path != string(PathDenied) {
		t.Fatalf("audit %+v", a)
	}
}

func TestUnchangedImageVolumeIsReappliedWithoutRegistryAndAChangedOneIsChecked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clusterPolicy(t)
	web := f.signedImage(t, "web")
	models := f.signedImage(t, "models")
	dep := deployment(f.ns, "web", web.String(), testenv.WithImageVolume("models", models.String()))
	if err := f.cl.c.Create(t.Context(), dep); err != nil {
		t.Fatalf("signed container and image volume denied: %v", err)
	}
	f.reg.ResetRequests()
	for i := range 10 {
		dep.Spec.Template.Annotations = map[string]string{"example.com/restartedAt": strconv.Itoa(i)}
		if err := f.cl.c.Update(t.Context(), dep); err != nil {
			t.Fatalf("re-apply %d denied: %v", i, err)
		}
	}
	if reqs := f.reg.Requests(); len(reqs) != 0 {
		t.Fatalf("10 re-applies sent %d registry requests, want 0:\n%s", len(reqs), strings.Join(reqs, "\n"))
	}
	updates := f.auditOf(t, opUpdate, "Deployment.apps")
	if len(updates) != 10 {
		t.Fatalf("%d re-applies reached the webhook, want 10", len(updates))
	}
	for _, a := range updates {
		if a.Volumes["models"].Path != string(PathUnchanged) || a.Containers["web"].Path != string(PathUnchanged) {
			t.Fatalf("re-apply decided by %+v, want unchanged", a)
		}
	}

	unsigned := f.reg.PushImage(t, "models", "v2")
	dep.Spec.Template.Spec.Volumes[0].Image.Reference = unsigned.String()
	mustDenyWith(t, f.cl.c.Update(t.Context(), dep), fmt.Sprintf("image %q of image volume \"models\"", unsigned.String()), "[NoSignature]")
}

func TestChildPodsWithTheirTemplatesImageVolumeAreAdmittedAsChildren(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.clusterPolicy(t)
	web := f.signedImage(t, "web")
	f.signedImage(t, "models")
	models := f.reg.Repo("models") + ":v1" // by tag: admitting it again would cost a resolve
	rs := replicaSet(f.ns, "web-5d", web.String(), testenv.WithImageVolume("models", models))
	if err := f.cl.c.Create(t.Context(), rs); err != nil {
		t.Fatalf("ReplicaSet with a signed image volume denied: %v", err)
	}
	// The webhook's owner index holds the ReplicaSet's image keys: wait
	// until it holds the image volume's, which is what approves the children.
	modelsImg, err := policy.ParseImage(models)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the ReplicaSet's image volume in the webhook's owner index", func(ctx context.Context) (bool, error) {
		o, found, err := f.cl.wh.Owners.Owner(ctx, appsv1.SchemeGroupVersion.WithKind("ReplicaSet").GroupKind(), rs.Namespace, rs.Name)
		return found && o.holds(modelsImg), err
	})
	f.reg.ResetRequests()
	for i := range 3 {
		p := testPod(f.ns, fmt.Sprintf("web-5d-%d", i), web.String(), ownedBy(rs), withSpec(testenv.WithImageVolume("models", models)))
		if err := f.cl.c.Create(t.Context(), p); err != nil {
			t.Fatalf("child Pod denied: %v", err)
		}
	}
	if reqs := f.reg.Requests(); len(reqs) != 0 {
		t.Fatalf("child Pods sent %d registry requests, want 0: %q", len(reqs), reqs)
	}
	children := f.auditOf(t, opCreate, "Pod")
	if len(children) != 3 {
		t.Fatalf("%d child Pods reached the webhook, want 3", len(children))
	}
	for _, a := range children {
		if a.Volumes["models"].Path != string(PathChild) || a.Containers["web"].Path != string(PathChild) {
			t.Fatalf("child Pod decided by %+v, want child", a)
		}
	}

	// An image volume the template lacks is verified, whoever the owner.
	other := f.reg.PushImage(t, "other", "v1")
	p := testPod(f.ns, "web-5d-other", web.String(), ownedBy(rs), withSpec(testenv.WithImageVolume("models", other.String())))
	mustDenyWith(t, f.cl.c.Create(t.Context(), p), fmt.Sprintf("image %q of image volume \"models\"", other.String()), "[NoSignature]")
	// One verification, without a signature layer to read.
	if reqs := f.reg.Requests(); len(reqs) != requestsPerVerification-1 {
		t.Fatalf("verifying the image volume its template lacks sent %d registry requests, want %d:\n%s", len(reqs), requestsPerVerification-1, strings.Join(reqs, "\n"))
	}
}
