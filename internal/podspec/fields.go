package podspec

// Fields of a pod spec that name an image the kubelet pulls. In
// k8s.io/api v0.37 (core/v1 types.go) those are:
//
//   - containers[].image, initContainers[].image and
//     ephemeralContainers[].image;
//   - volumes[].image.reference (ImageVolumeSource, KEP-4639, GA and
//     locked on since Kubernetes 1.36);
//
// and no other. Fields that look alike but pull nothing from a registry:
// volumes[].rbd.image names a Ceph RBD image in a pool; imagePullSecrets,
// imagePullPolicy and volumes[].image.pullPolicy say how to pull;
// status.containerStatuses[].image, .imageID and
// .volumeMounts[].volumeStatus.image.imageRef report what the kubelet
// ran, written by it, not by the Pod's author. Re-read types.go when the
// Kubernetes modules move to a new minor version.
const (
	FieldContainers          = "containers"
	FieldInitContainers      = "initContainers"
	FieldEphemeralContainers = "ephemeralContainers"
	FieldVolumes             = "volumes"
)

// ContainerFields are the pod spec's container lists, in the order
// images are listed: init containers run first.
var ContainerFields = []string{FieldInitContainers, FieldContainers, FieldEphemeralContainers}

// Keys below a container and a volume.
const (
	// ContainerImage is a container's image field.
	ContainerImage = "image"
	// VolumeImage is a volume's image source; its VolumeImageReference
	// field names the image.
	VolumeImage          = "image"
	VolumeImageReference = "reference"
)
