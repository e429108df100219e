package admission

import (
	"strings"

	igv1 "github.com/imagegate/imagegate/api/v1alpha1"
	"github.com/imagegate/imagegate/internal/podspec"
)

// specPlace says where a kind keeps its pod spec (podspec.PlaceOf).
type specPlace = podspec.Place

const (
	placeNone        = podspec.PlaceNone
	placePod         = podspec.PlacePod
	placeTemplate    = podspec.PlaceTemplate
	placeJobTemplate = podspec.PlaceJobTemplate
)

// kindInfo is what the webhook knows about one kind it validates.
type kindInfo struct {
	place specPlace
	// owners are the controller kinds whose template a child of this kind
	// copies, so that a child holding its owner's references is admitted
	// without a registry request (the owner was admitted with them).
	owners []groupKind
}

var (
	kindPod                   = groupKind{Group: "", Kind: "Pod"}
	kindReplicationController = groupKind{Group: "", Kind: "ReplicationController"}
	kindDeployment            = groupKind{Group: "apps", Kind: "Deployment"}
	kindReplicaSet            = groupKind{Group: "apps", Kind: "ReplicaSet"}
	kindStatefulSet           = groupKind{Group: "apps", Kind: "StatefulSet"}
	kindDaemonSet             = groupKind{Group: "apps", Kind: "DaemonSet"}
	kindJob                   = groupKind{Group: "batch", Kind: "Job"}
	kindCronJob               = groupKind{Group: "batch", Kind: "CronJob"}
	kindImageVerification     = groupKind{Group: igv1.GroupVersion.Group, Kind: "ImageVerification"}
)

// workloadKind returns what the webhook knows of a kind; ok is false for
// kinds it does not validate. Versions do not matter: the configuration
// asks for v1 with matchPolicy Equivalent, and the pod spec is in the same
// place in every version.
func workloadKind(gk groupKind) (kindInfo, bool) {
	info := kindInfo{place: podspec.PlaceOf(gk.Group, gk.Kind)}
	if info.place == placeNone {
		return kindInfo{}, false
	}
	switch (groupKind{Group: gk.Group, Kind: gk.Kind}) {
	case kindPod:
		info.owners = []groupKind{kindReplicaSet, kindJob, kindStatefulSet, kindDaemonSet, kindReplicationController}
	case kindReplicaSet:
		info.owners = []groupKind{kindDeployment}
	case kindJob:
		info.owners = []groupKind{kindCronJob}
	}
	return info, true
}

// spec returns the pod spec of w that counts for a kind kept at place.
func (w *workload) spec(place specPlace) *podSpec {
	switch place {
	case placePod:
		return &w.Pod
	case placeTemplate:
		return &w.Template
	case placeJobTemplate:
		return &w.JobTemplate
	}
	return nil
}

// ownerKind returns the owner kind of ref when it is one of allowed.
func ownerKind(ref ownerRef, allowed []groupKind) (groupKind, bool) {
	group, _, found := strings.Cut(ref.APIVersion, "/")
	if !found {
		group = "" // "v1": the core group
	}
	for _, gk := range allowed {
		if gk.Group == group && gk.Kind == ref.Kind {
			return gk, true
		}
	}
	return groupKind{}, false
}
