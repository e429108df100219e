package setters

import "go.yaml.in/yaml/v3"

// objectOf reads the identity of a parsed document from its top-level
// mapping. It runs only for documents with a change, after the walk, so
// unmarked and unchanged documents cost nothing. Like kyaml's GetMeta,
// which Flux uses, it reads the fields by name and follows no aliases; a
// field that is not a scalar reads as empty.
func objectOf(doc *yaml.Node) Object {
	root := doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	var o Object
	o.APIVersion = scalarField(root, "apiVersion")
	o.Kind = scalarField(root, "kind")
	if meta := field(root, "metadata"); meta != nil {
		o.Name = scalarField(meta, "name")
		o.Namespace = scalarField(meta, "namespace")
	}
	return o
}

// field returns the value of key in mapping m, or nil. A key given twice
// is an error for the parser, so the first match is the only one.
func field(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if k := m.Content[i]; k.Kind == yaml.ScalarNode && k.Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalarField(m *yaml.Node, key string) string {
	if v := field(m, key); v != nil && v.Kind == yaml.ScalarNode {
		return v.Value
	}
	return ""
}
