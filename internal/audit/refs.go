package audit

import (
	"go.yaml.in/yaml/v3"

	"github.com/imagegate/imagegate/internal/policy"
	"github.com/imagegate/imagegate/internal/setters"
)

// ref is an image reference a file holds in setter-marked fields, parsed
// once when its file version is read (versions are cached per path).
type ref struct {
	file     string
	line     int
	raw      string
	image    policy.Image
	parseErr error
}

func newRef(file string, line int, raw string) ref {
	img, err := policy.ParseImage(raw)
	return ref{file: file, line: line, raw: raw, image: img, parseErr: err}
}

type docPolicy struct {
	doc    int
	policy setters.Policy
}

// refsOf returns the references of a file's marked fields: a full-ref
// marker ("ns:name") is one reference; the name, tag and digest markers of
// one policy in one YAML document compose one as name[:tag][@digest]. A
// tag or digest without a name marker names no repository and is left out.
// With allImages, the image fields of the Kubernetes objects in the file
// follow, marked or not (a field both marked and an image field is one
// reference to the judge, which counts each canonical reference once).
func refsOf(file string, src []byte, allImages bool) ([]ref, error) {
	var ms []setters.Marked
	var objects []ref
	var err error
	if allImages {
		ms, err = setters.ScanDocuments(src, func(_ int, root *yaml.Node) { objects = workloadRefs(file, root, objects) })
	} else {
		ms, err = setters.Scan(src)
	}
	if err != nil {
		return nil, err
	}
	var out []ref
	type parts struct {
		line            int
		name, tag, dgst string
	}
	split := map[docPolicy]*parts{}
	var order []docPolicy
	for _, m := range ms {
		if m.Setter == setters.SetterRef {
			out = append(out, newRef(file, m.Line, m.Value))
			continue
		}
		k := docPolicy{m.Doc, m.Policy}
		p := split[k]
		if p == nil {
			p = &parts{line: m.Line}
			split[k] = p
			order = append(order, k)
		}
		switch m.Setter {
		case setters.SetterName:
			p.name, p.line = m.Value, m.Line
		case setters.SetterTag:
			p.tag = m.Value
		case setters.SetterDigest:
			p.dgst = m.Value
		}
	}
	for _, k := range order {
		p := split[k]
		if p.name == "" {
			continue
		}
		raw := p.name
		if p.tag != "" {
			raw += ":" + p.tag
		}
		if p.dgst != "" {
			raw += "@" + p.dgst
		}
		out = append(out, newRef(file, p.line, raw))
	}
	return append(out, objects...), nil
}
