package setters

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"

	"go.yaml.in/yaml/v3"
)

// plan is what Apply writes: per marker (policy and setter) the value.
type plan map[marker]target

func newPlan(images map[Policy]Image) (plan, error) {
	p := make(plan, 4*len(images))
	for pol, img := range images {
		if err := img.Validate(); err != nil {
			return nil, fmt.Errorf("image for policy %s: %w", pol, err)
		}
		for _, s := range []string{SetterRef, SetterTag, SetterName, SetterDigest} {
			p[marker{policy: pol, setter: s}] = newTarget(img.value(s))
		}
	}
	return p, nil
}

// edit replaces src[start:end] with text.
type edit struct {
	start, end int
	text       string
}

// fileEdit is the outcome of rewriting one file: the edits and changes,
// or why the file is skipped.
type fileEdit struct {
	edits   []edit
	changes []Change
	skip    string
}

// rewrite finds the marked scalars of src whose policy is planned and
// whose value differs, and returns the edits. Any document that does not
// parse, or any marked value that cannot be located exactly, skips the
// whole file: a file is either fully updated or untouched.
func (p plan) rewrite(file string, src []byte) (fe fileEdit) {
	defer func() {
		// The parser is third-party code run on repository content; a
		// panic in it must cost one file, not the controller.
		if r := recover(); r != nil {
			fe = fileEdit{skip: fmt.Sprintf("the YAML parser failed on this file (%v); simplify the file or report it", r)}
		}
	}()
	s := &source{b: src}
	dec := yaml.NewDecoder(bytes.NewReader(src))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fileEdit{skip: fmt.Sprintf("not valid YAML (%v); fix the syntax so its image policy markers can be applied", err)}
		}
		first := len(fe.changes)
		if err := walkScalars(&doc, false, func(n *yaml.Node, flow bool) error {
			return p.visit(s, file, n, flow, &fe)
		}); err != nil {
			return fileEdit{skip: err.Error()}
		}
		if len(fe.changes) > first {
			obj := objectOf(&doc)
			for i := first; i < len(fe.changes); i++ {
				fe.changes[i].Object = obj
			}
		}
	}
	slices.SortFunc(fe.edits, func(a, b edit) int { return a.start - b.start })
	slices.SortStableFunc(fe.changes, func(a, b Change) int { return a.Line - b.Line })
	for i := 1; i < len(fe.edits); i++ {
		if fe.edits[i].start < fe.edits[i-1].end {
			return fileEdit{skip: "two marked values overlap; this should not happen, report the file"}
		}
	}
	return fe
}

// visit records the edit for scalar n if it carries a planned marker.
func (p plan) visit(s *source, file string, n *yaml.Node, flow bool, fe *fileEdit) error {
	m, ok := markerOf(n)
	if !ok {
		return nil
	}
	t, ok := p[m]
	if !ok || n.Value == t.value {
		return nil
	}
	if s.lines == nil {
		*s = *newSource(s.b)
	}
	start, end, err := s.token(n, flow)
	if err != nil {
		return fmt.Errorf("line %d: the value marked for %s %w", n.Line, m.policy, err)
	}
	fe.edits = append(fe.edits, edit{start: start, end: end, text: t.encode(n.Style)})
	fe.changes = append(fe.changes, Change{
		File: file, Line: s.lineOf(start), Policy: m.policy, Setter: m.setter,
		Old: n.Value, New: t.value,
	})
	return nil
}

// walkScalars calls fn for each scalar kyaml's setter filter visits: the
// values of mappings (never keys) and the items of sequences, in document
// order. Aliases are not followed; their anchor is visited where defined.
func walkScalars(n *yaml.Node, flow bool, fn func(*yaml.Node, bool) error) error {
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode, yaml.MappingNode:
		flow = flow || n.Style&yaml.FlowStyle != 0
		step, first := 1, 0
		if n.Kind == yaml.MappingNode {
			step, first = 2, 1
		}
		for i := first; i < len(n.Content); i += step {
			if err := walkScalars(n.Content[i], flow, fn); err != nil {
				return err
			}
		}
	case yaml.ScalarNode:
		return fn(n, flow)
	}
	return nil
}

// apply returns src with the edits made; edits are sorted and disjoint.
func apply(src []byte, edits []edit, out []byte) []byte {
	out = out[:0]
	prev := 0
	for _, e := range edits {
		out = append(out, src[prev:e.start]...)
		out = append(out, e.text...)
		prev = e.end
	}
	return append(out, src[prev:]...)
}
