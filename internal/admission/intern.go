package admission

// intern returns the constant for values that recur in every review, so
// they cost no allocation, and a copy otherwise.
func intern(b []byte) string {
	switch string(b) {
	case opCreate:
		return opCreate
	case opUpdate:
		return opUpdate
	case opDelete:
		return opDelete
	case opConnect:
		return opConnect
	case "admission.k8s.io/v1":
		return "admission.k8s.io/v1"
	case "":
		return ""
	case "v1":
		return "v1"
	case "apps":
		return "apps"
	case "apps/v1":
		return "apps/v1"
	case "batch":
		return "batch"
	case "batch/v1":
		return "batch/v1"
	case "Pod":
		return "Pod"
	case "pods":
		return "pods"
	case "Deployment":
		return "Deployment"
	case "deployments":
		return "deployments"
	case "ReplicaSet":
		return "ReplicaSet"
	}
	return string(b)
}
