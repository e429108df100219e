package admission

import "github.com/imagegate/imagegate/internal/podspec"

// review is the part of an admission.k8s.io/v1 AdmissionReview request
// that a decision needs. It is decoded straight from the body (decode.go),
// never through the typed Kubernetes objects: an unchanged 36 KB
// Deployment UPDATE needs about ten strings out of it.
type review struct {
	APIVersion  string
	UID         string
	Kind        groupKind
	Resource    string
	SubResource string
	Name        string
	Namespace   string
	Operation   string
	Username    string
	DryRun      bool
	Object      workload
	OldObject   workload
}

// Operations of an admission request.
const (
	opCreate  = "CREATE"
	opUpdate  = "UPDATE"
	opDelete  = "DELETE"
	opConnect = "CONNECT"
)

type groupKind struct {
	Group, Version, Kind string
}

func (g groupKind) String() string {
	if g.Group == "" {
		return g.Kind
	}
	return g.Kind + "." + g.Group
}

// workload is what the webhook reads of an object: its identity, its
// controller, and the images of the pod specs it may carry. Every place a
// pod spec can live is decoded, whatever the kind; kinds.go says which one
// counts.
type workload struct {
	Present      bool // false for a missing or null object
	Name         string
	GenerateName string
	Namespace    string
	UID          string
	Owners       []ownerRef
	Pod          podSpec // spec (Pod)
	Template     podSpec // spec.template.spec (Deployment, ReplicaSet, Job, ...)
	JobTemplate  podSpec // spec.jobTemplate.spec.template.spec (CronJob)
}

type ownerRef struct {
	APIVersion string
	Kind       string
	Name       string
	UID        string
	Controller bool
}

// podSpec holds every field of a pod spec that names an image the kubelet
// pulls: the list, and why no other field, is internal/podspec's.
type podSpec struct {
	Containers          []container
	InitContainers      []container
	EphemeralContainers []container
	// ImageVolumes are the volumes with an image source; other volumes are
	// skipped without being kept.
	ImageVolumes []imageVolume
	// ServiceAccount and PullSecrets (serviceAccountName and
	// imagePullSecrets[].name) say which credentials the kubelet pulls
	// with; only the verify step reads them (credentials.go). They are
	// slices of the request body, so that the paths that decide without
	// a registry pay nothing for them.
	ServiceAccount []byte
	PullSecrets    [][]byte
}

type container struct {
	Name, Image string
}

// imageVolume is a volume whose source is an OCI image or artifact: the
// kubelet pulls Reference as it pulls a container image (same
// credentials, same resolution) and mounts it read-only.
type imageVolume struct {
	Name, Reference string
}

// Fields of a pod spec that name images, as named in audit lines and
// messages.
const (
	fieldContainers          = podspec.FieldContainers
	fieldInitContainers      = podspec.FieldInitContainers
	fieldEphemeralContainers = podspec.FieldEphemeralContainers
	fieldVolumes             = podspec.FieldVolumes // volumes[].image.reference
)

// imageRef is one image of an object.
type imageRef struct {
	Field string // fieldContainers, fieldInitContainers, fieldEphemeralContainers or fieldVolumes
	// Container is the name of the container, or of the volume when Field
	// is fieldVolumes (names are unique within each of the two).
	Container string
	Image     string
}

// images lists the images of a pod spec in a stable order: init
// containers, containers, ephemeral containers, image volumes.
func (p *podSpec) images(out []imageRef) []imageRef {
	for _, c := range p.InitContainers {
		out = append(out, imageRef{Field: fieldInitContainers, Container: c.Name, Image: c.Image})
	}
	for _, c := range p.Containers {
		out = append(out, imageRef{Field: fieldContainers, Container: c.Name, Image: c.Image})
	}
	for _, c := range p.EphemeralContainers {
		out = append(out, imageRef{Field: fieldEphemeralContainers, Container: c.Name, Image: c.Image})
	}
	for _, v := range p.ImageVolumes {
		out = append(out, imageRef{Field: fieldVolumes, Container: v.Name, Image: v.Reference})
	}
	return out
}

// controller returns the ownerReference with controller: true, if any.
func (w *workload) controller() (ownerRef, bool) {
	for _, o := range w.Owners {
		if o.Controller {
			return o, true
		}
	}
	return ownerRef{}, false
}

// displayName is the object's name for audit lines; a Pod created by a
// controller has only a generateName when admitted.
func (r *review) displayName() string {
	switch {
	case r.Name != "":
		return r.Name
	case r.Object.Name != "":
		return r.Object.Name
	case r.Object.GenerateName != "":
		return r.Object.GenerateName + "*"
	}
	return ""
}
