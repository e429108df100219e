package podspec

// Place says where a kind keeps its pod spec.
type Place int

// Places of a pod spec.
const (
	PlaceNone        Place = iota
	PlacePod               // spec
	PlaceTemplate          // spec.template.spec
	PlaceJobTemplate       // spec.jobTemplate.spec.template.spec
)

// Path is the chain of fields from the object to its pod spec.
func (p Place) Path() []string {
	switch p {
	case PlacePod:
		return []string{"spec"}
	case PlaceTemplate:
		return []string{"spec", "template", "spec"}
	case PlaceJobTemplate:
		return []string{"spec", "jobTemplate", "spec", "template", "spec"}
	}
	return nil
}

// PlaceOf returns where a kind of the API group keeps its pod spec:
// Pods, the workload kinds with a pod template (Deployment, ReplicaSet,
// StatefulSet, DaemonSet, ReplicationController, Job) and CronJob.
// Other kinds are PlaceNone. Versions do not matter: the pod spec is in
// the same place in every version of these kinds.
func PlaceOf(group, kind string) Place {
	// A switch per group, no string built: the webhook asks per request.
	switch group {
	case "":
		switch kind {
		case "Pod":
			return PlacePod
		case "ReplicationController":
			return PlaceTemplate
		}
	case "apps":
		switch kind {
		case "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet":
			return PlaceTemplate
		}
	case "batch":
		switch kind {
		case "Job":
			return PlaceTemplate
		case "CronJob":
			return PlaceJobTemplate
		}
	}
	return PlaceNone
}

// GroupOf returns the API group of an apiVersion ("apps/v1" is apps,
// "v1" the core group "").
func GroupOf(apiVersion string) string {
	for i := range len(apiVersion) {
		if apiVersion[i] == '/' {
			return apiVersion[:i]
		}
	}
	return ""
}
