package audit_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/imagegate/imagegate/internal/audit"
	"github.com/imagegate/imagegate/internal/testenv"
)

// workloads is a file of Kubernetes objects: a Deployment whose app
// container is setter-marked and whose init container is not, a CronJob,
// a Pod with an image volume, a v1 List holding a DaemonSet, and objects
// whose "image" fields pull nothing (a ConfigMap, an RBD volume, a
// CRD named Pod) or sit where no pod spec is (a Deployment's spec.image).
func workloads(appRef, initRef, sidecar string) string {
	return fmt.Sprintf(`apiVersion: apps/v1
kind: Deployment
metadata: {name: app}
spec:
  image: ghcr.io/org/not-a-pod-spec:v1
  template:
    spec:
      initContainers:
        - name: init
          image: %s
      containers:
        - name: app
          image: %s # {"$imagepolicy": "apps:app"}
        - name: sidecar
          image: %s
      volumes:
        - name: ceph
          rbd: {image: not-an-oci-image, monitors: [a]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: job
              image: ghcr.io/org/job:nightly
---
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers: [{name: c, image: &shared "ghcr.io/org/tools@%s"}]
  ephemeralContainers: [{name: e, image: *shared}]
  volumes:
    - name: models
      image: {reference: "ghcr.io/org/models:v1@%s", pullPolicy: IfNotPresent}
---
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: agent}
    spec: {template: {spec: {containers: [{name: a, image: "ghcr.io/org/agent@%s"}]}}}
---
apiVersion: v1
kind: ConfigMap
data: {image: ghcr.io/org/config-value:v1}
---
apiVersion: example.com/v1
kind: Pod
spec: {containers: [{name: c, image: ghcr.io/org/crd:v1}]}
`, initRef, appRef, sidecar, digest(41), digest(42), digest(43))
}

// TestRunAllImagesReadsEveryImageField: with AllImages the audit judges
// every image field the webhook checks (init, app, sidecar, ephemeral
// containers, image volumes; Pods, workload templates, CronJobs, v1 List
// items) and nothing else; without it, the marked field only. A person's
// commit that changes an unmarked sidecar is found only with AllImages.
func TestRunAllImagesReadsEveryImageField(t *testing.T) {
	t.Parallel()
	key := testenv.NewSSHSigningKey(t)
	gate := testenv.CommitOptions{Name: "imagegate", Email: "imagegate@example.test", Key: key}
	alice := testenv.CommitOptions{Name: "Alice", Email: "alice@example.test"}
	r := testenv.NewLocalRepo(t)
	appRef, initRef := app+":v1@"+digest(1), api+":init@"+digest(2)
	r.Write(t, map[string]string{"deploy/all.yaml": workloads(appRef, initRef, web+":v1@"+digest(3))})
	first := r.Commit(t, gateMessage(appRef), gate)
	r.Write(t, map[string]string{"deploy/all.yaml": workloads(appRef, initRef, web+":v2")})
	sidecar := r.Commit(t, "Bump the sidecar", alice)
	signers, err := audit.LoadSigners(allowedSigners(t, key), "")
	if err != nil {
		t.Fatal(err)
	}

	got := rowsOf(runAudit(t, audit.Options{Repo: r.Dir, Branch: "main", Signers: signers, AllImages: true}))
	want := []row{
		{first, "imagegate", "allowed", "deploy/all.yaml:13", appRef, ""},
		{first, "imagegate", "allowed", "deploy/all.yaml:10", initRef, "missing-trailer"},
		{first, "imagegate", "allowed", "deploy/all.yaml:15", web + ":v1@" + digest(3), "missing-trailer"},
		{first, "imagegate", "allowed", "deploy/all.yaml:30", "ghcr.io/org/job:nightly", "missing-trailer,tag-only"},
		{first, "imagegate", "allowed", "deploy/all.yaml:36", "ghcr.io/org/tools@" + digest(41), "missing-trailer"},
		{first, "imagegate", "allowed", "deploy/all.yaml:40", "ghcr.io/org/models:v1@" + digest(42), "missing-trailer"},
		{first, "imagegate", "allowed", "deploy/all.yaml:48", "ghcr.io/org/agent@" + digest(43), "missing-trailer"},
		{sidecar, "person", "none", "deploy/all.yaml:15", web + ":v2", "missing-trailer,tag-only"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("--all-images rows:\n%s\nwant:\n%s", fmtRows(got), fmtRows(want))
	}

	got = rowsOf(runAudit(t, audit.Options{Repo: r.Dir, Branch: "main", Signers: signers}))
	want = []row{{first, "imagegate", "allowed", "deploy/all.yaml:13", appRef, ""}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("marked fields only:\n%s\nwant:\n%s", fmtRows(got), fmtRows(want))
	}
}

// TestRunAllImagesBoundsUnmarkedFiles: with AllImages a file without a
// marker is parsed too, under the gate's node bound (400,000 nodes,
// counted before parsing): a dense file of short nodes over it is
// reported skipped, never parsed; without AllImages it is not read at
// all.
func TestRunAllImagesBoundsUnmarkedFiles(t *testing.T) {
	t.Parallel()
	r := testenv.NewLocalRepo(t)
	dense := "kind: Pod\napiVersion: v1\nspec: {containers: [{name: a, image: ghcr.io/org/app:v1}]}\nx: [" + strings.Repeat("a,", 450_000) + "a]\n"
	r.Write(t, map[string]string{"dense.yaml": dense})
	commit := r.Commit(t, "Dense", testenv.CommitOptions{})
	all := runAudit(t, audit.Options{Repo: r.Dir, AllImages: true})
	if len(all.Entries) != 0 || len(all.Skipped) != 1 || all.Skipped[0].Commit != commit || !strings.Contains(all.Skipped[0].Reason, "over the limit of 400000") {
		t.Fatalf("--all-images: entries %+v skipped %+v, want dense.yaml skipped over the node bound", all.Entries, all.Skipped)
	}
	marked := runAudit(t, audit.Options{Repo: r.Dir})
	if len(marked.Entries) != 0 || len(marked.Skipped) != 0 {
		t.Fatalf("marked only: entries %+v skipped %+v, want the unmarked file not read", marked.Entries, marked.Skipped)
	}
}
