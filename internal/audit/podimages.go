package audit

import (
	"go.yaml.in/yaml/v3"

	"github.com/imagegate/imagegate/internal/podspec"
)

// workloadRefs appends the images of a YAML document's Kubernetes object
// (--all-images): every field of its pod spec that names an image, at
// the place its kind keeps the pod spec (internal/podspec, the webhook's
// list), marked or not. A v1 List is read item by item. Documents of
// other kinds, and fields that are not where a pod spec has them, add
// nothing.
func workloadRefs(file string, root *yaml.Node, out []ref) []ref {
	obj := deref(root)
	if obj != nil && obj.Kind == yaml.DocumentNode && len(obj.Content) == 1 {
		obj = deref(obj.Content[0])
	}
	if obj == nil || obj.Kind != yaml.MappingNode {
		return out
	}
	apiVersion, kind := scalarValue(member(obj, "apiVersion")), scalarValue(member(obj, "kind"))
	if apiVersion == "v1" && kind == "List" {
		if items := member(obj, "items"); items != nil && items.Kind == yaml.SequenceNode {
			for _, item := range items.Content {
				out = objectRefs(file, deref(item), out)
			}
		}
		return out
	}
	return objectRefs(file, obj, out)
}

func objectRefs(file string, obj *yaml.Node, out []ref) []ref {
	if obj == nil || obj.Kind != yaml.MappingNode {
		return out
	}
	place := podspec.PlaceOf(podspec.GroupOf(scalarValue(member(obj, "apiVersion"))), scalarValue(member(obj, "kind")))
	if place == podspec.PlaceNone {
		return out
	}
	spec := obj
	for _, k := range place.Path() {
		if spec = member(spec, k); spec == nil {
			return out
		}
	}
	for _, field := range podspec.ContainerFields {
		for _, c := range items(member(spec, field)) {
			if img := member(c, podspec.ContainerImage); img != nil && img.Kind == yaml.ScalarNode {
				out = append(out, newRef(file, img.Line, img.Value))
			}
		}
	}
	for _, v := range items(member(spec, podspec.FieldVolumes)) {
		if r := member(member(v, podspec.VolumeImage), podspec.VolumeImageReference); r != nil && r.Kind == yaml.ScalarNode {
			out = append(out, newRef(file, r.Line, r.Value))
		}
	}
	return out
}

// member returns the value of key in a mapping (aliases resolved), nil
// when n is no mapping or lacks the key. As the API server's decoder, the
// last of duplicate keys wins.
func member(n *yaml.Node, key string) *yaml.Node {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var v *yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			v = n.Content[i+1]
		}
	}
	return deref(v)
}

// items returns a sequence's elements, aliases resolved.
func items(n *yaml.Node) []*yaml.Node {
	if n == nil || n.Kind != yaml.SequenceNode {
		return nil
	}
	out := make([]*yaml.Node, 0, len(n.Content))
	for _, c := range n.Content {
		out = append(out, deref(c))
	}
	return out
}

// deref resolves an alias to its anchor's node, once: the paths read
// here are of fixed depth, so an alias to an ancestor cannot loop.
func deref(n *yaml.Node) *yaml.Node {
	if n != nil && n.Kind == yaml.AliasNode {
		return n.Alias
	}
	return n
}

func scalarValue(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode {
		return ""
	}
	return n.Value
}
