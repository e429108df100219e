package admission

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unique"
	"unsafe"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/json"

	"github.com/imagegate/imagegate/internal/policy"
)

// TestOwnerEntryKeepsEveryTemplateImage: the owner index's transform
// keeps, of every owner kind, the key of each image a child can copy from
// the template (containers, init containers, image volumes) and nothing
// of the other volumes, so that stepChild approves exactly those.
func TestOwnerEntryKeepsEveryTemplateImage(t *testing.T) {
	t.Parallel()
	spec := corev1.PodSpec{
		InitContainers: []corev1.Container{{Name: "migrate", Image: "registry.example/team/migrate:v1", Env: []corev1.EnvVar{{Name: "A", Value: "b"}}}},
		Containers:     []corev1.Container{{Name: "web", Image: webImage, Args: []string{"--serve"}}},
		Volumes: []corev1.Volume{
			{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
			{Name: "models", VolumeSource: corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: modelsImage, PullPolicy: corev1.PullAlways}}},
			{Name: "ceph", VolumeSource: corev1.VolumeSource{RBD: &corev1.RBDVolumeSource{RBDImage: "ceph-image", CephMonitors: []string{"m"}}}},
		},
	}
	want := []string{"registry.example/team/migrate:v1", "registry.example/team/web@" + webDigest, "registry.example/team/models@" + modelsImage[strings.IndexByte(modelsImage, '@')+1:]}
	kinds := templateKinds(spec)
	if len(kinds) != len(ownerKinds()) {
		t.Fatalf("%d template kinds here, %d owner kinds indexed", len(kinds), len(ownerKinds()))
	}
	for name, k := range kinds {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			m := k.obj.(metav1.Object)
			m.SetNamespace("apps")
			m.SetName("web")
			m.SetUID("uid-1")
			got, err := compactOwner(DefaultMaxImagesPerObject)(k.obj)
			if err != nil {
				t.Fatal(err)
			}
			e := got.(*ownerEntry)
			if e.key != "apps/web" || e.uid != "uid-1" || !reflect.DeepEqual(keyStrings(e.images), want) {
				t.Fatalf("entry %q %q %q, want apps/web uid-1 %q", e.key, e.uid, keyStrings(e.images), want)
			}
			if again, _ := compactOwner(DefaultMaxImagesPerObject)(e); again != any(e) {
				t.Fatal("the transform is not idempotent on an entry")
			}
		})
	}
}

func keyStrings(keys []ImageKey) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k.String()
	}
	return out
}

// TestOwnerEntryHoldsOnlyWhatChildApprovalReads counts what the index
// keeps per owner: exactly three fields (the store key, the UID, the image
// keys, one pointer each and no spare capacity), and the bytes of each
// distinct image held once across owners decoded separately, as the
// informer decodes them.
func TestOwnerEntryHoldsOnlyWhatChildApprovalReads(t *testing.T) {
	t.Parallel()
	typ := reflect.TypeFor[ownerEntry]()
	var fields []string
	for i := range typ.NumField() {
		fields = append(fields, typ.Field(i).Name+" "+typ.Field(i).Type.String())
	}
	if want := []string{"key string", "uid string", "images []admission.ImageKey"}; !reflect.DeepEqual(fields, want) {
		t.Fatalf("ownerEntry fields %q, want %q", fields, want)
	}
	if s := unsafe.Sizeof(ImageKey{}); s != 56 {
		t.Fatalf("an image key is %d bytes, want 56: two interned strings, a sha256 sum, its form", s)
	}

	const owners = 1000
	images := []string{"registry.example/team/web:v1@" + webDigest, "docker.io/library/nginx:1.27", "registry.example/team/web:v1@" + webDigest}
	entries := make([]*ownerEntry, owners)
	for i := range entries {
		// A fresh decode per owner: no string is shared before the transform.
		rs := decodeReplicaSet(t, fmt.Sprintf("web-%d", i), images)
		got, err := compactOwner(DefaultMaxImagesPerObject)(rs)
		if err != nil {
			t.Fatal(err)
		}
		entries[i] = got.(*ownerEntry)
	}
	first := entries[0]
	if len(first.images) != 2 || cap(first.images) != 2 {
		t.Fatalf("%d keys (capacity %d) for 2 distinct images, want 2 (2)", len(first.images), cap(first.images))
	}
	strs := map[*byte]string{} // the bytes of every interned string the owners hold
	for _, e := range entries {
		for i, k := range e.images {
			if k != first.images[i] {
				t.Fatalf("owner %s holds key %q apart from owner %s's", e.key, k, first.key)
			}
			for _, h := range []unique.Handle[string]{k.repo, k.rest} {
				if h != (unique.Handle[string]{}) {
					strs[unsafe.StringData(h.Value())] = h.Value()
				}
			}
		}
	}
	want := map[string]bool{"registry.example/team/web": true, "docker.io/library/nginx": true, "1.27": true}
	if len(strs) != len(want) {
		t.Fatalf("%d owners hold %d interned strings %q, want the %d of %v once", owners, len(strs), slices.Collect(maps.Values(strs)), len(want), want)
	}
	for _, s := range strs {
		if !want[s] {
			t.Fatalf("interned %q", s)
		}
	}
	if first.images[0].form != formSHA256 || first.images[0].rest != (unique.Handle[string]{}) {
		t.Fatalf("a sha256 digest is not held as its sum: %+v", first.images[0])
	}
	// Per owner: the entry, its key and UID bytes, and 2 keys.
	perOwner := int(unsafe.Sizeof(ownerEntry{})) + len(first.key) + len(first.uid) + cap(first.images)*int(unsafe.Sizeof(ImageKey{}))
	if perOwner != 56+len("apps/web-0")+36+2*56 {
		t.Fatalf("%d bytes per owner", perOwner)
	}
}

// decodeReplicaSet decodes a ReplicaSet from JSON, with everything a
// Deployment's ReplicaSet carries that the index drops.
func decodeReplicaSet(t testing.TB, name string, images []string) *appsv1.ReplicaSet {
	t.Helper()
	rs := &appsv1.ReplicaSet{
		ObjectMeta: metav1.ObjectMeta{Namespace: "apps", Name: name, UID: types.UID(fmt.Sprintf("%08d-0000-4000-8000-000000000000", len(name))),
			Labels: map[string]string{"app": "web", "pod-template-hash": "5d8f9c7b6"}, Annotations: map[string]string{"deployment.kubernetes.io/revision": "3"}},
		Spec: appsv1.ReplicaSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: containersOf(images)}}},
	}
	b, err := json.Marshal(rs)
	if err != nil {
		t.Fatal(err)
	}
	out := &appsv1.ReplicaSet{}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTemplateKeysCap: an owner keeps at most --max-images-per-object
// keys; a template naming more distinct references (which the webhook
// denied unjudged, counting them the same way) keeps none, so it approves
// no child and costs the index no more than the cap. Repeats count once,
// a reference that does not parse gets no key, and two spellings of one
// image share one.
func TestTemplateKeysCap(t *testing.T) {
	t.Parallel()
	const maxImages = 4
	distinct := func(n int) []string {
		out := make([]string, 0, 2*n)
		for i := range n {
			ref := fmt.Sprintf("registry.example/team/app%d:v1", i)
			out = append(out, ref, ref)
		}
		return out
	}
	for name, tc := range map[string]struct {
		refs []string
		want int
	}{
		"none":                    {nil, 0},
		"one, repeated":           {distinct(1), 1},
		"the cap":                 {distinct(maxImages), maxImages},
		"one over":                {distinct(maxImages + 1), 0},
		"a thousand":              {distinct(1000), 0},
		"20,000 repeats of three": {slices.Repeat([]string{"a:1", "b:1", "c:1"}, 20000/3), 3},
		"unparsable":              {[]string{"Not A Reference", "registry.example/team/app:v1"}, 1},
		"two spellings":           {[]string{"nginx", "docker.io/library/nginx:latest", "index.docker.io/library/nginx"}, 1},
	} {
		keys := templateKeys(&corev1.PodSpec{Containers: containersOf(tc.refs)}, maxImages)
		if len(keys) != tc.want || cap(keys) != tc.want {
			t.Errorf("%s: %d keys (capacity %d), want %d", name, len(keys), cap(keys), tc.want)
		}
	}
}

// TestImageKeyComparesAsSameImage: two references share a key exactly
// when sameImage says they name the same image (the digest outranks the
// tag), and matching a parsed image against a key allocates nothing.
func TestImageKeyComparesAsSameImage(t *testing.T) { // not parallel: AllocsPerRun
	refs := []string{
		"nginx", "docker.io/library/nginx:latest", "index.docker.io/library/nginx", "nginx:1.27",
		"registry.example/team/web:v1", "registry.example/team/web:v2", "registry.example/team/web@" + webDigest,
		"registry.example/team/web:v1@" + webDigest, "registry.example/team/web:v9@" + webDigest, "registry.example/team/web@" + webNewDigest,
		"registry.example:5000/team/web:v1", "registry.example:5000/team/web@" + webDigest, "REGISTRY.example/team/web:v1",
		"registry.example/team/we:b", "registry.example/team/web-v1:latest",
		"registry.example/team/web@sha512:" + strings.Repeat("ab", 64), "registry.example/team/web@sha512:" + strings.Repeat("cd", 64),
	}
	imgs := make([]policy.Image, len(refs))
	for i, r := range refs {
		img, err := policy.ParseImage(r)
		if err != nil {
			t.Fatal(err)
		}
		imgs[i] = img
	}
	for i, a := range imgs {
		ka := KeyOf(a)
		for j, b := range imgs {
			if same, keyed, matched := sameImage(a, b), ka == KeyOf(b), ka.matches(b); same != keyed || same != matched {
				t.Errorf("%s vs %s: sameImage %t, same key %t, matches %t", refs[i], refs[j], same, keyed, matched)
			}
		}
	}
	// A digest spelled otherwise than lower-case sha256 hex is compared
	// as its string, never decoded into another digest's sum.
	upper := policy.Image{Repository: "registry.example/team/web", Digest: strings.ToUpper(webDigest[:7]) + strings.ToUpper(webDigest[7:])}
	upperHex := policy.Image{Repository: upper.Repository, Digest: "sha256:" + strings.ToUpper(webDigest[7:])}
	lower := policy.Image{Repository: upper.Repository, Digest: webDigest}
	for _, img := range []policy.Image{upper, upperHex} {
		if k := KeyOf(img); k.form != formDigest || !k.matches(img) || k.matches(lower) || KeyOf(lower).matches(img) || k.String() != img.Repository+"@"+img.Digest {
			t.Errorf("%s: key %+v", img.Digest, k)
		}
	}
	o := Owner{UID: "u", Images: []ImageKey{KeyOf(imgs[0]), KeyOf(imgs[7])}}
	if n := testing.AllocsPerRun(100, func() { o.holds(imgs[8]) }); n != 0 {
		t.Fatalf("matching a child's image allocates %.0f times", n)
	}
}
