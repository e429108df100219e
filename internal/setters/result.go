package setters

import (
	"slices"
)

// Change is one field rewritten.
type Change struct {
	// File is the slash path relative to the root given to Apply.
	File string
	// Line is the 1-based line of the value.
	Line int
	// Policy is the ImagePolicy the marker names.
	Policy Policy
	// Setter is "", "tag", "name" or "digest" (see SetterRef and friends).
	Setter string
	// Old and New are the field's value before and after.
	Old, New string
	// Object identifies the YAML document that holds the field.
	Object Object
}

// Object is the identity of a YAML document as Kubernetes reads it: its
// apiVersion, kind, metadata.name and metadata.namespace, each empty when
// absent or not a scalar (a kustomization.yaml has no name, a values file
// has none of them). It is what Flux's commit templates call the object.
type Object struct {
	APIVersion, Kind, Name, Namespace string
}

// Skipped is a file that holds a marker but could not be processed; it is
// left byte-identical.
type Skipped struct {
	// File is the slash path relative to the root given to Apply.
	File string
	// Reason says what is wrong and what to do about it.
	Reason string
}

// Result is what Apply did: changes in file order, then line order, and
// the files it left alone although they mention a marker.
type Result struct {
	Changes []Change
	Skipped []Skipped
}

// Files returns the sorted unique files changed.
func (r Result) Files() []string {
	files := make([]string, 0, len(r.Changes))
	for _, c := range r.Changes {
		files = append(files, c.File)
	}
	slices.Sort(files)
	return slices.Compact(files)
}
