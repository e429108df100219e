package admission

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/testenv"
	"github.com/imagegate/imagegate/internal/verify"
)

// Image volumes (spec.volumes[].image.reference) are images the kubelet
// pulls into a Pod; these tests hold them to what containers are held to,
// without a control plane. integration_volumes_test.go does the same
// through the API server.

const webImage = "registry.example/team/web@" + webDigest

func TestDecodeImageVolumes(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
		want       []imageVolume
	}{
		{"none among other volumes", `{"spec":{"volumes":[{"name":"tok","projected":{"sources":[]}},{"name":"rbd","rbd":{"image":"ceph"}},{"name":"tmp","emptyDir":{}}]}}`, nil},
		{"source before name", `{"spec":{"volumes":[{"image":{"reference":"reg.example/m:1"},"name":"m"}]}}`, []imageVolume{{"m", "reg.example/m:1"}}},
		{"escaped name and reference", `{"spec":{"volumes":[{"name":"m\u00e9","image":{"reference":"reg.example\/m:1"}}]}}`, []imageVolume{{"mé", "reg.example/m:1"}}},
		{"empty and null references", `{"spec":{"volumes":[{"name":"a","image":{}},{"name":"b","image":{"reference":null}}]}}`, []imageVolume{{"a", ""}, {"b", ""}}},
		{"null source", `{"spec":{"volumes":[{"name":"a","image":null}]}}`, nil},
		{"source cleared by a later null", `{"spec":{"volumes":[{"name":"a","image":{"reference":"x"},"image":null}]}}`, nil},
		{"after a null source", `{"spec":{"volumes":[{"name":"a","image":null,"image":{"reference":"x"}}]}}`, []imageVolume{{"a", "x"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rv, err := decodeReview([]byte(`{"request":{"uid":"u","object":` + tc.body + `}}`))
			if err != nil {
				t.Fatal(err)
			}
			if got := rv.Object.Pod.ImageVolumes; len(got) != len(tc.want) || (len(got) > 0 && !reflect.DeepEqual(got, tc.want)) {
				t.Fatalf("image volumes %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestDecodingVolumesWithoutImagesAllocatesNothing: nearly every Pod has
// volumes (the service account token's at least) and few have image
// volumes; reading those must not cost the common case an allocation.
func TestDecodingVolumesWithoutImagesAllocatesNothing(t *testing.T) {
	const body = `{"request":{"uid":"u","kind":{"kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[{"name":"web","image":"reg.example/web:1"}]%s}}}}`
	plain := strings.Repeat(`{"name":"tok","projected":{"sources":[{"configMap":{"name":"image"}}]}},{"name":"rbd","rbd":{"image":"ceph","monitors":["m"]}},`, 10) + `{"name":"tmp","emptyDir":{}}`
	allocs := func(volumes string) float64 {
		b := []byte(fmt.Sprintf(body, volumes))
		return testing.AllocsPerRun(50, func() {
			if _, err := decodeReview(b); err != nil {
				t.Fatal(err)
			}
		})
	}
	none := allocs("")
	if n := allocs(`,"volumes":[` + plain + `]`); n != none {
		t.Errorf("21 volumes without an image source cost %v allocations, a Pod without volumes %v: want the same", n, none)
	}
	// One image volume: the list, its name and its reference.
	if n := allocs(`,"volumes":[` + plain + `,{"name":"models","image":{"reference":"reg.example/models:v3"}}]`); n != none+3 {
		t.Errorf("one image volume costs %v allocations, want %v", n, none+3)
	}
}

func TestImageVolumeOfAPodIsCheckedAndNamedInDenialAndAudit(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{})
	e.recs.add(webDigest, e.team.Hash) // the container's digest is recorded as verified
	e.chk.result, e.chk.reason = verify.ResultDenied, verify.ReasonNoSignature
	resp, _ := e.post(t, readTestdata(t, "create-pod-image-volume"))
	if resp.Allowed || e.chk.calls.Load() != 1 {
		t.Fatalf("allowed %v after %d checks, want denied after the image volume's one", resp.Allowed, e.chk.calls.Load())
	}
	for _, want := range []string{fmt.Sprintf("image %q of image volume \"models\"", modelsImage), "ClusterTrustPolicy team", "[NoSignature]", "sign it with"} {
		if !strings.Contains(resp.Result.Message, want) {
			t.Errorf("message %q lacks %q", resp.Result.Message, want)
		}
	}
	if strings.Contains(resp.Result.Message, `container "web"`) {
		t.Errorf("message %q names the admitted container", resp.Result.Message)
	}
	l := e.audit.lines(t)[0]
	if len(l.Containers) != 1 || l.Containers["web"].Path != string(PathRecorded) {
		t.Errorf("audit containers %+v, want web recorded", l.Containers)
	}
	want := auditImage{Image: modelsImage, Field: "volumes", Decision: "deny", Path: "denied", Reason: "NoSignature", Policy: "ClusterTrustPolicy/team", Digest: webDigest}
	if len(l.Volumes) != 1 || l.Volumes["models"] != want {
		t.Errorf("audit volumes %+v, want models: %+v", l.Volumes, want)
	}
}

// templateKind is an object of a kind with a pod template, for reviewOf.
type templateKind struct {
	gvk metav1.GroupVersionKind
	obj runtime.Object
}

// templateKinds are objects of every kind with a pod template, each
// holding spec in its template.
func templateKinds(spec corev1.PodSpec) map[string]templateKind {
	tmpl := corev1.PodTemplateSpec{Spec: spec}
	gvk := func(group, kind string) metav1.GroupVersionKind {
		return metav1.GroupVersionKind{Group: group, Version: "v1", Kind: kind}
	}
	return map[string]templateKind{
		"Deployment":            {gvk("apps", "Deployment"), &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Template: tmpl}}},
		"ReplicaSet":            {gvk("apps", "ReplicaSet"), &appsv1.ReplicaSet{Spec: appsv1.ReplicaSetSpec{Template: tmpl}}},
		"StatefulSet":           {gvk("apps", "StatefulSet"), &appsv1.StatefulSet{Spec: appsv1.StatefulSetSpec{Template: tmpl}}},
		"DaemonSet":             {gvk("apps", "DaemonSet"), &appsv1.DaemonSet{Spec: appsv1.DaemonSetSpec{Template: tmpl}}},
		"ReplicationController": {gvk("", "ReplicationController"), &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{Template: &tmpl}}},
		"Job":                   {gvk("batch", "Job"), &batchv1.Job{Spec: batchv1.JobSpec{Template: tmpl}}},
		"CronJob":               {gvk("batch", "CronJob"), &batchv1.CronJob{Spec: batchv1.CronJobSpec{JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: tmpl}}}}},
	}
}

func TestImageVolumeOfEveryTemplateKindIsChecked(t *testing.T) {
	t.Parallel()
	spec := containerSpec(webImage, testenv.WithImageVolume("models", modelsImage))
	for name, k := range templateKinds(spec) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newHandlerEnv(t, Options{})
			e.recs.add(webDigest, e.team.Hash)
			e.chk.result, e.chk.reason = verify.ResultDenied, verify.ReasonNoSignature
			resp, _ := e.post(t, reviewOf(t, admissionv1.Create, k.gvk, "alice", k.obj, nil))
			if resp.Allowed || !strings.Contains(resp.Result.Message, `of image volume "models"`) || e.chk.calls.Load() != 1 {
				t.Fatalf("%s with an unsigned image volume: %+v after %d checks", name, resp, e.chk.calls.Load())
			}
		})
	}
}

func TestUnchangedImageVolumeNeedsNoLookup(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{})
	resp, _ := e.post(t, readTestdata(t, "update-unchanged-deployment-image-volume"))
	if !resp.Allowed || e.chk.calls.Load() != 0 || e.recs.lookups.Load() != 0 {
		t.Fatalf("allowed %v after %d checks and %d record lookups; an unchanged update needs none", resp.Allowed, e.chk.calls.Load(), e.recs.lookups.Load())
	}
	l := e.audit.lines(t)[0]
	if len(l.Containers) != 3 || len(l.Volumes) != 1 || l.Volumes["models"].Path != string(PathUnchanged) || l.Volumes["models"].Image != modelsImage {
		t.Fatalf("audit %+v", l)
	}
}

func TestChangedImageVolumeIsChecked(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{})
	e.chk.result, e.chk.reason = verify.ResultDenied, verify.ReasonNoSignature
	gvk := metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	old := deployment("apps", "x", webImage, testenv.WithImageVolume("models", modelsImage))
	changed := deployment("apps", "x", webImage, testenv.WithImageVolume("models", "registry.example/team/models:v4"))
	resp, _ := e.post(t, reviewOf(t, admissionv1.Update, gvk, "alice", changed, old))
	if resp.Allowed || e.chk.calls.Load() != 1 || !strings.Contains(resp.Result.Message, `"registry.example/team/models:v4" of image volume "models"`) {
		t.Fatalf("changed image volume: %+v after %d checks, want denied after one", resp, e.chk.calls.Load())
	}
	if l := e.audit.lines(t)[0]; l.Containers["web"].Path != string(PathUnchanged) || l.Volumes["models"].Path != string(PathDenied) {
		t.Fatalf("audit %+v", l)
	}
}

func TestEmptyImageVolumeReferenceIsAnInvalidReference(t *testing.T) {
	t.Parallel()
	gvk := metav1.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	empty := deployment("apps", "x", webImage, testenv.WithImageVolume("models", ""))
	child := pod(webImage)
	testenv.WithImageVolume("models", "")(&child.Spec)
	child.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "rs", Controller: ptr.To(true)}}
	owners := ownerMap{"ReplicaSet/apps/web": ownerOf("rs", webImage, "")}
	for name, body := range map[string][]byte{
		// What the API server sends: it refuses an empty reference unless
		// the old object had one.
		"unchanged on UPDATE": reviewOf(t, admissionv1.Update, gvk, "alice", empty, empty),
		// What only a client reaching the webhook directly can send.
		"CREATE":                  reviewOf(t, admissionv1.Create, gvk, "alice", empty, nil),
		"child of a template too": reviewOf(t, admissionv1.Create, podGVK, "alice", child, nil),
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newHandlerEnv(t, Options{})
			e.h.deps.owners = owners
			e.recs.add(webDigest, e.team.Hash)
			resp, _ := e.post(t, body)
			if resp.Allowed || !strings.Contains(resp.Result.Message, `of image volume "models"`) || !strings.Contains(resp.Result.Message, "[InvalidReference]") ||
				!strings.Contains(resp.Result.Message, "fix the image reference") || e.chk.calls.Load() != 0 {
				t.Fatalf("%+v after %d checks", resp, e.chk.calls.Load())
			}
		})
	}
	e := newHandlerEnv(t, Options{ExemptNamespaces: []string{"apps"}})
	if resp, _ := e.post(t, reviewOf(t, admissionv1.Create, gvk, "alice", empty, nil)); !resp.Allowed {
		t.Fatalf("exempt namespace: %+v", resp)
	}
}

func TestStepEmptyReference(t *testing.T) {
	t.Parallel()
	runStepCases(t, stepEmptyReference, policy.NewSet(nil), []stepCase{
		{name: "empty", r: req(kindDeployment, opUpdate, withOld("")), image: "", path: PathDenied, want: "the reference is empty"},
		{name: "any reference", r: req(kindPod, opCreate), image: "Bad Image"},
	})
}

func TestChildPodsImageVolumesAreApprovedByTheirOwnersTemplate(t *testing.T) {
	t.Parallel()
	e := newHandlerEnv(t, Options{})
	e.h.deps.owners = ownerMap{"ReplicaSet/apps/web": ownerOf("rs", webImage, modelsImage)}
	e.chk.result, e.chk.reason = verify.ResultDenied, verify.ReasonNoSignature
	child := func(volume string) *corev1.Pod {
		p := pod(webImage)
		testenv.WithImageVolume("models", volume)(&p.Spec)
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", UID: "rs", Controller: ptr.To(true)}}
		return p
	}
	if resp, _ := e.post(t, reviewOf(t, admissionv1.Create, podGVK, "alice", child(modelsImage), nil)); !resp.Allowed || e.chk.calls.Load() != 0 || e.recs.lookups.Load() != 0 {
		t.Fatalf("child with its template's image volume: %+v after %d checks and %d lookups, want admitted after none", resp, e.chk.calls.Load(), e.recs.lookups.Load())
	}
	if l := e.audit.lines(t)[0]; l.Volumes["models"].Path != string(PathChild) || l.Containers["c0"].Path != string(PathChild) {
		t.Fatalf("audit %+v", l)
	}
	resp, _ := e.post(t, reviewOf(t, admissionv1.Create, podGVK, "alice", child("registry.example/team/other:v1"), nil))
	if resp.Allowed || e.chk.calls.Load() != 1 || !strings.Contains(resp.Result.Message, `of image volume "models"`) {
		t.Fatalf("child with an image volume its template lacks: %+v after %d checks, want denied after one", resp, e.chk.calls.Load())
	}
}

// BenchmarkHandlerUnchangedUpdateImageVolume36KB and
// BenchmarkHandlerCreatePodImageVolumeRecordedDigest are the bench bodies
// with one image volume added (to object and oldObject), to compare with
// BenchmarkHandlerUnchangedUpdate36KB and
// BenchmarkHandlerCreatePodRecordedDigest.
func BenchmarkHandlerUnchangedUpdateImageVolume36KB(b *testing.B) {
	benchBody(b, benchHandler(b), "update-unchanged-deployment-image-volume")
}

func BenchmarkHandlerCreatePodImageVolumeRecordedDigest(b *testing.B) {
	benchBody(b, benchHandler(b), "create-pod-image-volume")
}
