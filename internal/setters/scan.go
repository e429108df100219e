package setters

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"go.yaml.in/yaml/v3"
)

// Marked is a scalar that carries an image policy marker, found by Scan.
type Marked struct {
	// Doc is the 0-based index of the YAML document in the file.
	Doc int
	// Line is the 1-based line of the value.
	Line int
	// Policy and Setter are what the marker names.
	Policy Policy
	Setter string
	// Value is the scalar's value.
	Value string
}

// IsSetterFile reports whether Apply would look at a file of this name:
// *.yaml, *.yml or Kustomization, as Flux.
func IsSetterFile(name string) bool { return isYAMLName(name) }

// Scan returns the marked scalars of src in document order, read by the
// same rules Apply uses to find what to rewrite, so readers of history
// (imagegate audit) see exactly the fields the gate writes. A file that is
// not valid YAML returns an error; a file without the marker token is not
// parsed at all. The caller bounds len(src); the node count is bounded here
// as Apply bounds it (DefaultLimits.MaxFileNodes, counted before parsing),
// so a dense file costs a reader of history no more memory than the gate.
func Scan(src []byte) ([]Marked, error) {
	if !bytes.Contains(src, token) {
		return nil, nil
	}
	return ScanDocuments(src, nil)
}

// ScanDocuments is Scan for readers that need more of a file than its
// markers (imagegate audit --all-images reads every container image): it
// parses src whether or not it holds a marker, under the same node bound,
// and calls visit, when not nil, with each document's root after
// collecting the document's markers. visit must not keep the node.
func ScanDocuments(src []byte, visit func(doc int, root *yaml.Node)) (ms []Marked, err error) {
	if n := nodeBound(src); n > DefaultLimits.MaxFileNodes {
		return nil, fmt.Errorf("may hold up to %d YAML nodes (counted before parsing), over the limit of %d the gate parses", n, DefaultLimits.MaxFileNodes)
	}
	defer func() {
		// Third-party parser on repository content: a panic costs the file.
		if r := recover(); r != nil {
			ms, err = nil, fmt.Errorf("the YAML parser failed on this file (%v)", r)
		}
	}()
	marked := bytes.Contains(src, token)
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for doc := 0; ; doc++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return ms, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not valid YAML: %w", err)
		}
		if marked {
			_ = walkScalars(&n, false, func(s *yaml.Node, _ bool) error {
				if m, ok := markerOf(s); ok {
					ms = append(ms, Marked{Doc: doc, Line: s.Line, Policy: m.policy, Setter: m.setter, Value: s.Value})
				}
				return nil
			})
		}
		if visit != nil {
			visit(doc, &n)
		}
	}
}
