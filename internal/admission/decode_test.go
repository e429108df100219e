package admission

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	kjson "sigs.k8s.io/json"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeBenchBodies(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body      string
		kind, op  string
		images    []string
		oldImages int
	}{
		{"update-unchanged-deployment", "Deployment", opUpdate, []string{
			"registry.example/team/migrate:v1.4.2@sha256:4220411fff66211d0a786c5b3c2b2a2570986716dcd5f6aa08e1ee49757dfaa7",
			"registry.example/team/web:v1.4.2@" + webDigest,
			"registry.example/team/log-shipper:v2.0.1@sha256:85c5f7686b194a9cb190a0ae014109434066f9d6d4dec054136abf077181786a",
		}, 3},
		{"update-changed-deployment", "Deployment", opUpdate, []string{
			"registry.example/team/migrate:v1.4.2@sha256:4220411fff66211d0a786c5b3c2b2a2570986716dcd5f6aa08e1ee49757dfaa7",
			"registry.example/team/web:v1.4.3@" + webNewDigest,
			"registry.example/team/log-shipper:v2.0.1@sha256:85c5f7686b194a9cb190a0ae014109434066f9d6d4dec054136abf077181786a",
		}, 3},
		{"create-pod-by-digest", "Pod", opCreate, []string{"registry.example/team/web@" + webDigest}, 0},
		{"create-pod-image-volume", "Pod", opCreate, []string{"registry.example/team/web@" + webDigest, modelsImage}, 0},
		{"update-unchanged-deployment-image-volume", "Deployment", opUpdate, []string{
			"registry.example/team/migrate:v1.4.2@sha256:4220411fff66211d0a786c5b3c2b2a2570986716dcd5f6aa08e1ee49757dfaa7",
			"registry.example/team/web:v1.4.2@" + webDigest,
			"registry.example/team/log-shipper:v2.0.1@sha256:85c5f7686b194a9cb190a0ae014109434066f9d6d4dec054136abf077181786a",
			modelsImage,
		}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.body, func(t *testing.T) {
			t.Parallel()
			rv, err := decodeReview(readTestdata(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			info, ok := workloadKind(rv.Kind)
			if !ok || rv.Kind.Kind != tc.kind || rv.Operation != tc.op || rv.Namespace != "storefront" || rv.UID == "" || rv.Username == "" {
				t.Fatalf("decoded %+v", rv)
			}
			var got []string
			for _, r := range rv.Object.spec(info.place).images(nil) {
				got = append(got, r.Image)
			}
			if !reflect.DeepEqual(got, tc.images) {
				t.Fatalf("images %q, want %q", got, tc.images)
			}
			if n := len(rv.OldObject.spec(info.place).images(nil)); n != tc.oldImages {
				t.Fatalf("%d old images, want %d", n, tc.oldImages)
			}
		})
	}
}

// oracle is the same view decoded by the API server's own JSON decoder
// (sigs.k8s.io/json, case-sensitive like it): the reference the
// hand-written decoder is checked against.
type oracle struct {
	APIVersion string `json:"apiVersion"`
	Request    *struct {
		UID  string `json:"uid"`
		Kind struct {
			Group   string `json:"group"`
			Version string `json:"version"`
			Kind    string `json:"kind"`
		} `json:"kind"`
		SubResource string `json:"subResource"`
		Name        string `json:"name"`
		Namespace   string `json:"namespace"`
		Operation   string `json:"operation"`
		UserInfo    struct {
			Username string `json:"username"`
		} `json:"userInfo"`
		DryRun    bool           `json:"dryRun"`
		Object    oracleWorkload `json:"object"`
		OldObject oracleWorkload `json:"oldObject"`
	} `json:"request"`
}

type oracleWorkload struct {
	Metadata struct {
		Name            string `json:"name"`
		GenerateName    string `json:"generateName"`
		Namespace       string `json:"namespace"`
		UID             string `json:"uid"`
		OwnerReferences []struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Name       string `json:"name"`
			UID        string `json:"uid"`
			Controller *bool  `json:"controller"`
		} `json:"ownerReferences"`
	} `json:"metadata"`
	Spec struct {
		oraclePodSpec
		Template struct {
			Spec oraclePodSpec `json:"spec"`
		} `json:"template"`
		JobTemplate struct {
			Spec struct {
				Template struct {
					Spec oraclePodSpec `json:"spec"`
				} `json:"template"`
			} `json:"spec"`
		} `json:"jobTemplate"`
	} `json:"spec"`
}

type oraclePodSpec struct {
	Containers          []oracleContainer `json:"containers"`
	InitContainers      []oracleContainer `json:"initContainers"`
	EphemeralContainers []oracleContainer `json:"ephemeralContainers"`
	Volumes             []oracleVolume    `json:"volumes"`
	ServiceAccountName  string            `json:"serviceAccountName"`
	ImagePullSecrets    []struct {
		Name string `json:"name"`
	} `json:"imagePullSecrets"`
}

// oracleVolume is a volume as the typed core/v1 Volume reads it: an image
// source is a pointer, set by any object and cleared by null.
type oracleVolume struct {
	Name  string `json:"name"`
	Image *struct {
		Reference string `json:"reference"`
	} `json:"image"`
}

type oracleContainer struct {
	Name  string `json:"name"`
	Image string `json:"image"`
}

// sameAsOracle fails the test when decodeReview disagrees with the API
// server's decoder on a body that decoder accepts.
func sameAsOracle(t *testing.T, body []byte) {
	var o oracle
	if err := kjson.UnmarshalCaseSensitivePreserveInts(body, &o); err != nil || o.Request == nil || o.Request.UID == "" || !utf8.Valid(body) {
		_, _ = decodeReview(body) // must not panic
		return
	}
	rv, err := decodeReview(body)
	if err != nil {
		t.Fatalf("decodeReview refused a body the API server's decoder reads: %v", err)
	}
	q := o.Request
	if rv.UID != q.UID || rv.Kind.Kind != q.Kind.Kind || rv.Kind.Group != q.Kind.Group || rv.Operation != q.Operation ||
		rv.Namespace != q.Namespace || rv.Name != q.Name || rv.Username != q.UserInfo.Username || rv.DryRun != q.DryRun || rv.SubResource != q.SubResource {
		t.Fatalf("request fields differ: %+v vs %+v", rv, q)
	}
	for _, pair := range []struct {
		got  *workload
		want *oracleWorkload
	}{{&rv.Object, &q.Object}, {&rv.OldObject, &q.OldObject}} {
		g, w := pair.got, pair.want
		if g.Name != w.Metadata.Name || g.GenerateName != w.Metadata.GenerateName || g.Namespace != w.Metadata.Namespace || g.UID != w.Metadata.UID || len(g.Owners) != len(w.Metadata.OwnerReferences) {
			t.Fatalf("metadata differs: %+v vs %+v", g, w.Metadata)
		}
		for i, or := range w.Metadata.OwnerReferences {
			ctrl := or.Controller != nil && *or.Controller
			if g.Owners[i] != (ownerRef{APIVersion: or.APIVersion, Kind: or.Kind, Name: or.Name, UID: or.UID, Controller: ctrl}) {
				t.Fatalf("owner %d differs: %+v vs %+v", i, g.Owners[i], or)
			}
		}
		for _, ps := range []struct {
			got  *podSpec
			want *oraclePodSpec
		}{{&g.Pod, &w.Spec.oraclePodSpec}, {&g.Template, &w.Spec.Template.Spec}, {&g.JobTemplate, &w.Spec.JobTemplate.Spec.Template.Spec}} {
			if !sameContainers(ps.got.Containers, ps.want.Containers) || !sameContainers(ps.got.InitContainers, ps.want.InitContainers) ||
				!sameContainers(ps.got.EphemeralContainers, ps.want.EphemeralContainers) {
				t.Fatalf("containers differ: %+v vs %+v", ps.got, ps.want)
			}
			if !sameImageVolumes(ps.got.ImageVolumes, ps.want.Volumes) {
				t.Fatalf("image volumes differ: %+v vs %+v", ps.got.ImageVolumes, ps.want.Volumes)
			}
			if !samePullCredentials(ps.got, ps.want) {
				t.Fatalf("pull credentials differ: %q %q vs %+v", ps.got.ServiceAccount, ps.got.PullSecrets, ps.want)
			}
		}
	}
}

// samePullCredentials compares serviceAccountName and the names of
// imagePullSecrets (entries without a name name nothing the kubelet reads).
func samePullCredentials(got *podSpec, want *oraclePodSpec) bool {
	if string(got.ServiceAccount) != want.ServiceAccountName {
		return false
	}
	var names []string
	for _, p := range want.ImagePullSecrets {
		if p.Name != "" {
			names = append(names, p.Name)
		}
	}
	if len(names) != len(got.PullSecrets) {
		return false
	}
	for i := range names {
		if string(got.PullSecrets[i]) != names[i] {
			return false
		}
	}
	return true
}

func sameContainers(a []container, b []oracleContainer) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Image != b[i].Image {
			return false
		}
	}
	return true
}

// sameImageVolumes compares the decoded image volumes with the volumes of
// the typed decode that have an image source.
func sameImageVolumes(got []imageVolume, volumes []oracleVolume) bool {
	var want []imageVolume
	for _, v := range volumes {
		if v.Image != nil {
			want = append(want, imageVolume{Name: v.Name, Reference: v.Image.Reference})
		}
	}
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

// edgeBodies are reviews a decoder gets wrong easily: escapes in keys and
// values, nulls, nesting, every pod spec location, duplicate keys.
var edgeBodies = []string{
	`{"request":{"uid":"u","kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","object":{"spec":{"containers":[{"name":"a","image":"nginx"}]}}}}`,
	`{"request":{"uid":"u","object":{"spec":{"cont\u0061iners":[{"n\u0061me":"a\"b","image":"reg.example/x\u002fy:1"}]}}}}`,
	`{"request":{"uid":"u","object":{"metadata":{"ownerReferences":[{"apiVersion":"apps/v1","kind":"ReplicaSet","name":"r","uid":"1","controller":true},{"kind":"X","controller":null}]},"spec":{"template":{"spec":{"initContainers":null,"containers":[{"image":null}]}}}}}}`,
	`{"request":{"uid":"u","object":{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"ephemeralContainers":[{"name":"dbg","image":"busybox"}]}}}}}},"oldObject":null,"dryRun":true}}`,
	`{"request":{"uid":"u","object":{"spec":{"containers":[{"image":"a"}],"containers":[{"image":"b"}]}}}}`,
	`{"request":{"uid":"u","object":{"metadata":{"annotations":{"x":"{\"spec\":{\"containers\":[{\"image\":\"evil\"}]}}\\"}},"spec":{"containers":[{"image":"good","args":["]","}","\\\""]}]}}}}`,
	` { "request" : { "uid" : "u" , "object" : { "spec" : { "containers" : [ { "image" : "spaced" } ] } } } } `,
	`{"request":{"uid":"u","object":{"spec":{"x":[1,2.5e3,-3,true,false,null,{"a":[[]]}],"containers":[]}}}}`,
	// Image volumes: among other volumes, in every pod spec location, with
	// escapes, an empty or null reference, a null source, the source before
	// the name, and keys that only look like it.
	`{"request":{"uid":"u","kind":{"kind":"Pod"},"object":{"spec":{"volumes":[{"name":"tok","projected":{"sources":[{"configMap":{"name":"image"}}]}},{"name":"models","image":{"reference":"reg.example/models:v3","pullPolicy":"IfNotPresent"}},{"name":"tmp","emptyDir":{}}]}}}}`,
	`{"request":{"uid":"u","object":{"spec":{"template":{"spec":{"volumes":[{"image":{"pullPolicy":"Always","reference":"reg.example/m\u006fdels:v3"},"name":"m\u00e9"},{"name":"empty","image":{}},{"name":"nullref","image":{"reference":null}}]}}}},"oldObject":{"spec":{"jobTemplate":{"spec":{"template":{"spec":{"volumes":[{"name":"a","image":{"reference":"reg.example/a:1"}}]}}}}}}}}`,
	`{"request":{"uid":"u","object":{"spec":{"volumes":[{"name":"cleared","image":{"reference":"reg.example/x:1"},"image":null},{"name":"set","image":null,"image":{"reference":"reg.example/y:1"}},{"name":"rbd","rbd":{"image":"ceph-image","monitors":["m"]}},{"name":"n","csi":{"driver":"d","volumeAttributes":{"image":"x","reference":"y"}}}]}}}}`,
	`{"request":{"uid":"u","object":{"spec":{"volumes":[{"name":"gone","image":{"reference":"reg.example/x:1"}}],"volumes":null}}}}`,
	`{"request":{"uid":"u","object":{"spec":{"containers":[{"name":"web","image":"reg.example/web:1","volumeMounts":[{"name":"models"}]}],"volumes":[{"name":"models","image":{"reference":"reg.example/models:v3"}}],"imageVolumes":[{"image":{"reference":"not-a-field"}}]}}}}`,
	// Pull credentials: in every pod spec location, with escapes, nulls,
	// an entry without a name, a repeated key and look-alikes.
	`{"request":{"uid":"u","object":{"spec":{"serviceAccountName":"puller","imagePullSecrets":[{"name":"regcred"},{},{"name":null},{"name":"re\u0067cred-2"}],"serviceAccount":"legacy"}}}}`,
	`{"request":{"uid":"u","object":{"spec":{"template":{"spec":{"imagePullSecrets":[{"name":"a"}],"imagePullSecrets":null,"serviceAccountName":null}},"jobTemplate":{"spec":{"template":{"spec":{"serviceAccountName":"cron","imagePullSecrets":[{"name":"b"}]}}}}}},"oldObject":{"spec":{"imagePullSecrets":[{"name":"old","other":"x"}]}}}}`,
}

func TestDecodeAgreesWithTheAPIServerDecoder(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"update-unchanged-deployment", "update-changed-deployment", "create-pod-by-digest", "update-unchanged-deployment-slim",
		"create-pod-image-volume", "update-unchanged-deployment-image-volume"} {
		sameAsOracle(t, readTestdata(t, name))
	}
	for _, b := range edgeBodies {
		sameAsOracle(t, []byte(b))
	}
}

func TestDecodeRefusesMalformedBodies(t *testing.T) {
	t.Parallel()
	deep := `{"request":{"uid":"u","object":{"metadata":{"annotations":` + strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1) + `}}}}`
	cases := map[string]string{
		"empty":              ``,
		"not an object":      `[]`,
		"no request":         `{"kind":"AdmissionReview"}`,
		"null request":       `{"request":null}`,
		"no uid":             `{"request":{"object":{}}}`,
		"image not a string": `{"request":{"uid":"u","object":{"spec":{"containers":[{"image":5}]}}}}`,
		"containers object":  `{"request":{"uid":"u","object":{"spec":{"containers":{"image":"x"}}}}}`,
		"unterminated":       `{"request":{"uid":"u","object":{"spec":{"containers":[{"image":"x`,
		"unbalanced":         `{"request":{"uid":"u","object":{"metadata":{"labels":{"a":[}}}}}}`,
		"trailing data":      `{"request":{"uid":"u"}} {}`,
		"bad literal":        `{"request":{"uid":"u","x":nope}}`,
		"bad escape":         `{"request":{"uid":"u\x"}}`,
		"too deep":           deep,
		"controller string":  `{"request":{"uid":"u","object":{"metadata":{"ownerReferences":[{"controller":"true"}]}}}}`,
		"volumes object":     `{"request":{"uid":"u","object":{"spec":{"volumes":{"name":"v"}}}}}`,
		"image source text":  `{"request":{"uid":"u","object":{"spec":{"volumes":[{"name":"v","image":"reg.example/x:1"}]}}}}`,
		"reference number":   `{"request":{"uid":"u","object":{"spec":{"volumes":[{"name":"v","image":{"reference":5}}]}}}}`,
		"volume name number": `{"request":{"uid":"u","object":{"spec":{"volumes":[{"name":7,"image":{"reference":"x"}}]}}}}`,
	}
	for name, body := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := decodeReview([]byte(body)); !errors.Is(err, ErrMalformedReview) {
				t.Fatalf("err = %v, want ErrMalformedReview", err)
			}
		})
	}
}

func TestDecodeEveryPrefixFailsCleanly(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"create-pod-by-digest", "create-pod-image-volume"} {
		body := readTestdata(t, name)
		for n := range len(body) - 1 {
			if _, err := decodeReview(body[:n]); err == nil {
				t.Fatalf("%s: prefix of %d bytes decoded without error", name, n)
			}
		}
	}
}

func FuzzDecodeReview(f *testing.F) {
	for _, b := range edgeBodies {
		f.Add([]byte(b))
	}
	f.Add(readTestdata(f, "create-pod-by-digest"))
	f.Add(readTestdata(f, "create-pod-image-volume"))
	f.Fuzz(func(t *testing.T, body []byte) { sameAsOracle(t, body) })
}
