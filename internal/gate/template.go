package gate

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/types"
	kyaml "sigs.k8s.io/kustomize/kyaml/yaml"

	"github.com/imagegate/imagegate/internal/setters"
)

// TemplateData is what spec.git.commit.messageTemplate sees: the data
// image-automation-controller v1 gives its templates, with Flux's own types
// wherever printing or sorting shows them, so that a template written for
// an ImageUpdateAutomation renders the same text here.
type TemplateData struct {
	// AutomationObject prints as NAMESPACE/NAME.
	AutomationObject types.NamespacedName
	Changed          Result
	Values           map[string]string
}

// Result is the changes of one commit, nested file -> object -> changes.
// Like Flux's, it holds nothing else, so that {{ .Changed }} prints alike.
type Result struct {
	// FileChanges is keyed by slash path relative to spec.update.path (the
	// base name when the path is a file), as Flux's reader names files.
	FileChanges map[string]ObjectChanges
}

// ObjectChanges maps each changed object to its changes, in line order.
type ObjectChanges map[ObjectIdentifier][]Change

// ObjectIdentifier is the document that holds a change. It embeds kyaml's
// ResourceIdentifier as Flux's does: templates read .Kind, .Name,
// .Namespace and .APIVersion, and map ranges visit objects in the same
// order (apiVersion, kind, name, namespace).
type ObjectIdentifier struct {
	kyaml.ResourceIdentifier
}

// Change is one field rewritten. Setter is the marker's setter name as
// Flux reports it: NS:NAME, or NS:NAME:tag, :name or :digest.
type Change struct {
	OldValue string
	NewValue string
	Setter   string
}

// Changes returns the distinct changes. Flux's order follows Go map
// iteration and varies between runs; here it is files in path order,
// objects in map-range order, then line order.
func (r Result) Changes() []Change {
	seen := map[Change]bool{}
	var out []Change
	for _, file := range sortedKeys(r.FileChanges) {
		objs := r.FileChanges[file]
		for _, id := range objs.sortedIDs() {
			for _, c := range objs[id] {
				if !seen[c] {
					seen[c] = true
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// Objects returns the changes by object, whatever file they are in. An
// object found in two files gets the changes of both, in path order;
// Flux keeps one file's changes, whichever its map iteration visits last.
func (r Result) Objects() ObjectChanges {
	out := ObjectChanges{}
	for _, file := range sortedKeys(r.FileChanges) {
		for id, changes := range r.FileChanges[file] {
			out[id] = append(out[id], changes...)
		}
	}
	return out
}

func (o ObjectChanges) sortedIDs() []ObjectIdentifier {
	ids := make([]ObjectIdentifier, 0, len(o))
	for id := range o {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b ObjectIdentifier) int {
		return strings.Compare(a.sortKey(), b.sortKey())
	})
	return ids
}

// sortKey orders identifiers field by field, as text/template ranges
// over struct keys; no field holds a NUL byte from YAML.
func (id ObjectIdentifier) sortKey() string {
	return id.APIVersion + "\x00" + id.Kind + "\x00" + id.Name + "\x00" + id.Namespace
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// resultOf nests the setters' changes as Flux's templates see them.
// updatePath is the cleaned spec.update.path the setters ran on.
func resultOf(res setters.Result, updatePath string) Result {
	r := Result{FileChanges: map[string]ObjectChanges{}}
	for _, ch := range res.Changes {
		file := relativeTo(ch.File, updatePath)
		objs := r.FileChanges[file]
		if objs == nil {
			objs = ObjectChanges{}
			r.FileChanges[file] = objs
		}
		id := ObjectIdentifier{kyaml.ResourceIdentifier{
			TypeMeta: kyaml.TypeMeta{APIVersion: ch.Object.APIVersion, Kind: ch.Object.Kind},
			NameMeta: kyaml.NameMeta{Name: ch.Object.Name, Namespace: ch.Object.Namespace},
		}}
		objs[id] = append(objs[id], Change{OldValue: ch.Old, NewValue: ch.New, Setter: setterName(ch)})
	}
	return r
}

// relativeTo turns a path relative to the repository root into one
// relative to the update path, as Flux's reader, which starts there, does.
func relativeTo(file, updatePath string) string {
	switch {
	case updatePath == "" || updatePath == ".":
		return file
	case file == updatePath:
		return path.Base(file)
	default:
		return strings.TrimPrefix(file, updatePath+"/")
	}
}

func setterName(ch setters.Change) string {
	name := fmt.Sprintf("%s:%s", ch.Policy.Namespace, ch.Policy.Name)
	if ch.Setter != setters.SetterRef {
		name += ":" + ch.Setter
	}
	return name
}
