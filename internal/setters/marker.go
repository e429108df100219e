package setters

import (
	"encoding/json"
	"strings"

	"go.yaml.in/yaml/v3"
)

// markerKey is the shorthand Flux registers with kyaml's fieldmeta.
const markerKey = "$imagepolicy"

// marker is a parsed "$imagepolicy" comment: which policy, which setter.
type marker struct {
	policy Policy
	setter string
}

// markerOf reads the marker of a scalar the way kyaml's fieldmeta does for
// Flux: the first non-empty of the line and head comments, leading '#'
// removed, decoded as a JSON object of strings. Any other comment, or a
// setter name that is not "NS:NAME" or "NS:NAME:tag|name|digest", is no
// marker (for Flux such names resolve to no setter definition).
func markerOf(n *yaml.Node) (marker, bool) {
	c := n.LineComment
	if c == "" {
		c = n.HeadComment
	}
	c = strings.TrimLeft(c, "#")
	// Only a JSON object can decode into the map; checking the first byte
	// spares json.Unmarshal on every ordinary comment.
	if !strings.HasPrefix(strings.TrimLeft(c, " \t\r\n"), "{") {
		return marker{}, false
	}
	var fields map[string]string
	if err := json.Unmarshal([]byte(c), &fields); err != nil {
		return marker{}, false
	}
	return parseSetterName(fields[markerKey])
}

// parseSetterName splits "NS:NAME[:SETTER]".
func parseSetterName(s string) (marker, bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		return marker{}, false
	}
	m := marker{policy: Policy{Namespace: parts[0], Name: parts[1]}}
	if len(parts) == 3 {
		switch parts[2] {
		case SetterTag, SetterName, SetterDigest:
			m.setter = parts[2]
		default:
			return marker{}, false
		}
	}
	return m, true
}
