package admission

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"
	"unique"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/imagegate/imagegate/internal/policy"
)

// Owner is what the webhook keeps of a controller to approve its
// children: its UID and the images of its pod template, as child approval
// compares them.
type Owner struct {
	UID    string
	Images []ImageKey
}

// holds reports whether the template holds img.
func (o Owner) holds(img policy.Image) bool {
	for _, k := range o.Images {
		if k.matches(img) {
			return true
		}
	}
	return false
}

// ImageKey is an image as child approval compares it (sameImage): the
// canonical repository and the digest, or the tag when there is no digest.
// Repositories and tags are interned (package unique): the ten old
// ReplicaSets a Deployment keeps, and its Pods, name the same few
// repositories, and the bytes of each are held once however many owners
// name it. A sha256 digest, different in nearly every revision, is held
// as its 32 bytes rather than interned: an interned string costs its
// bytes and about 220 more (measured with unique in Go 1.26), which for
// the 71 characters of a digest is five times the 32 bytes.
type ImageKey struct {
	repo unique.Handle[string]
	// rest is the tag when there is no digest, or a digest that is not
	// lower-case sha256; unset when sum holds the digest.
	rest unique.Handle[string]
	sum  [sha256.Size]byte
	form keyForm
}

type keyForm uint8

const (
	formTag    keyForm = iota + 1 // repository:tag
	formSHA256                    // repository@sha256:<sum>
	formDigest                    // repository@<rest>, another algorithm
)

const sha256Prefix = "sha256:"

// KeyOf returns the key of a parsed image.
func KeyOf(img policy.Image) ImageKey {
	k := ImageKey{repo: unique.Make(img.Repository)}
	switch {
	case img.Digest == "":
		k.form, k.rest = formTag, unique.Make(img.Tag)
	case sumOf(img.Digest, &k.sum):
		k.form = formSHA256
	default:
		k.form, k.rest = formDigest, unique.Make(img.Digest)
	}
	return k
}

// sumOf decodes a "sha256:<64 lower-case hex>" digest into sum; false for
// any other spelling, which is then compared as a string, so that two
// digests match exactly when their strings are equal.
func sumOf(digest string, sum *[sha256.Size]byte) bool {
	h, ok := strings.CutPrefix(digest, sha256Prefix)
	if !ok || len(h) != hex.EncodedLen(sha256.Size) {
		return false
	}
	for i := range sum {
		hi, ok1 := lowerHex(h[2*i])
		lo, ok2 := lowerHex(h[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		sum[i] = hi<<4 | lo
	}
	return true
}

// lowerHex decodes one lower-case hex digit: the only spelling for which
// decoding and encoding again gives back the same string.
func lowerHex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// String is the key's text, repository@digest or repository:tag.
func (k ImageKey) String() string {
	switch k.form {
	case formTag:
		return k.repo.Value() + ":" + k.rest.Value()
	case formSHA256:
		return k.repo.Value() + "@" + sha256Prefix + hex.EncodeToString(k.sum[:])
	case formDigest:
		return k.repo.Value() + "@" + k.rest.Value()
	}
	return ""
}

// matches reports whether img has key k, that is k == KeyOf(img),
// without interning or allocating anything, so that approving a child
// costs no allocation.
func (k ImageKey) matches(img policy.Image) bool {
	if k.form == 0 || k.repo.Value() != img.Repository {
		return false
	}
	switch {
	case img.Digest == "":
		return k.form == formTag && k.rest.Value() == img.Tag
	case k.form == formSHA256:
		var sum [sha256.Size]byte
		return sumOf(img.Digest, &sum) && sum == k.sum
	case k.form == formDigest:
		return k.rest.Value() == img.Digest
	}
	return false
}

// ownerEntry is what the owner index stores per controller, in place of
// the object (the transform of each informer turns every object it
// receives into one): 56 bytes, the name and the UID, and 56 bytes per
// distinct image (TestOwnerEntryHoldsOnlyWhatChildApprovalReads), where
// the manager's informer cache held the object slimmed to its template's
// containers (3.2 KiB of heap per ReplicaSet, BenchmarkOwnerIndexHeap).
type ownerEntry struct {
	key    string // namespace/name, the informer store's key
	uid    string
	images []ImageKey
}

// GetObjectMeta lets the informer's key function (cache.MetaNamespaceKeyFunc)
// read the entry's namespace and name.
func (e *ownerEntry) GetObjectMeta() metav1.Object {
	ns, name, _ := strings.Cut(e.key, "/")
	return &metav1.ObjectMeta{Namespace: ns, Name: name}
}

// compactOwner is the transform of the owner informers. It is idempotent
// (client-go may hand it an entry again) and passes through what it does
// not know (tombstones carry entries already).
func compactOwner(maxImages int) func(any) (any, error) {
	return func(obj any) (any, error) {
		if _, ok := obj.(*ownerEntry); ok {
			return obj, nil
		}
		m, ok := obj.(metav1.Object)
		if !ok {
			return obj, nil
		}
		e := &ownerEntry{key: m.GetNamespace() + "/" + m.GetName(), uid: strings.Clone(string(m.GetUID()))}
		if tmpl := templateOf(obj); tmpl != nil {
			e.images = templateKeys(&tmpl.Spec, maxImages)
		}
		return e, nil
	}
}

// templateKeys returns the distinct keys of a template's images. An
// image that does not parse gets no key: a child naming it is judged by
// the next steps (and denied as an invalid reference). A template naming
// more than maxImages distinct references keeps none: the webhook denied
// it unjudged (--max-images-per-object, counted the same way), so it
// approves no child. Either way an owner costs the index at most
// maxImages keys, and building them at most maxImages+1 map entries and
// maxImages parses, however many containers repeat them.
func templateKeys(p *corev1.PodSpec, maxImages int) []ImageKey {
	refs, ok := distinctRefs(templateImages(p), maxImages)
	if !ok || len(refs) == 0 {
		return nil
	}
	keys := make([]ImageKey, 0, len(refs))
	for _, ref := range refs {
		img, err := policy.ParseImage(ref)
		if err != nil {
			continue
		}
		// Two spellings of one image share a key; refs are at most
		// maxImages, so this stays a short scan.
		if k := KeyOf(img); !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	if len(keys) < cap(keys) {
		keys = append(make([]ImageKey, 0, len(keys)), keys...) // hold no spare capacity
	}
	return keys
}

// distinctRefs drops repeated references, in order; ok is false when
// there are more than n distinct ones. refs is reused.
func distinctRefs(refs []string, n int) ([]string, bool) {
	if len(refs) <= 1 {
		return refs, len(refs) <= n
	}
	seen := make(map[string]struct{}, min(len(refs), n+1))
	out := refs[:0]
	for _, r := range refs {
		if _, dup := seen[r]; dup {
			continue
		}
		if len(seen) == n {
			return nil, false
		}
		seen[r] = struct{}{}
		out = append(out, r)
	}
	return out, true
}

// ownerKind is a controller kind the webhook indexes, with the list type
// its informer lists.
type ownerKindInfo struct {
	gk   groupKind
	obj  client.Object
	list func() client.ObjectList
}

// ownerKinds are the kinds the webhook indexes to approve children: the
// controllers of Pods, ReplicaSets and Jobs.
func ownerKinds() []ownerKindInfo {
	return []ownerKindInfo{
		{kindReplicaSet, &appsv1.ReplicaSet{}, func() client.ObjectList { return &appsv1.ReplicaSetList{} }},
		{kindJob, &batchv1.Job{}, func() client.ObjectList { return &batchv1.JobList{} }},
		{kindStatefulSet, &appsv1.StatefulSet{}, func() client.ObjectList { return &appsv1.StatefulSetList{} }},
		{kindDaemonSet, &appsv1.DaemonSet{}, func() client.ObjectList { return &appsv1.DaemonSetList{} }},
		{kindReplicationController, &corev1.ReplicationController{}, func() client.ObjectList { return &corev1.ReplicationControllerList{} }},
		{kindDeployment, &appsv1.Deployment{}, func() client.ObjectList { return &appsv1.DeploymentList{} }},
		{kindCronJob, &batchv1.CronJob{}, func() client.ObjectList { return &batchv1.CronJobList{} }},
	}
}

// templateOf returns the pod template of a controller; nil for other
// objects or a ReplicationController without one.
func templateOf(obj any) *corev1.PodTemplateSpec {
	switch o := obj.(type) {
	case *appsv1.ReplicaSet:
		return &o.Spec.Template
	case *batchv1.Job:
		return &o.Spec.Template
	case *appsv1.StatefulSet:
		return &o.Spec.Template
	case *appsv1.DaemonSet:
		return &o.Spec.Template
	case *corev1.ReplicationController:
		return o.Spec.Template
	case *appsv1.Deployment:
		return &o.Spec.Template
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template
	}
	return nil
}

// templateImages lists the images a child copies from a template: its
// containers' and its image volumes' (review.go lists the fields that name
// images). A template holds no ephemeral containers: the API server
// refuses them outside Pods.
func templateImages(p *corev1.PodSpec) []string {
	out := make([]string, 0, len(p.InitContainers)+len(p.Containers)+len(p.Volumes))
	for _, c := range p.InitContainers {
		out = append(out, c.Image)
	}
	for _, c := range p.Containers {
		out = append(out, c.Image)
	}
	for _, v := range p.Volumes {
		if v.Image != nil {
			out = append(out, v.Image.Reference)
		}
	}
	return out
}
